"""Tag selection (pure): from a repository's tags to the candidate the source follows.

The cheap path first (docs/sources.md): tags are filtered by the allow/ignore patterns
and ordered by the strategy without asking the registry anything more; only
`newest-build` needs each candidate's creation time, so it is the only strategy that
fetches manifests and configs, and only for up to `discovery_limit` candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shiplane.domain.semver import parse_constraint, parse_version

Strategy = Literal["semver", "lexical", "newest-build", "digest"]
STRATEGIES: tuple[Strategy, ...] = ("semver", "lexical", "newest-build", "digest")


@dataclass(frozen=True)
class TagFilter:
    """`allow`: a tag must match one of these (all tags when empty); `ignore`: a tag
    matching any of these is skipped. Patterns are Python regexes, searched anywhere in
    the tag (anchor them with ^...$)."""

    allow: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def keep(self, tag: str) -> bool:
        if self.allow and not any(re.search(p, tag) for p in self.allow):
            return False
        return not any(re.search(p, tag) for p in self.ignore)


@dataclass(frozen=True)
class Candidates:
    """Tags in the strategy's order, best first, at most the discovery limit.
    `needs_created`: the choice among them needs each one's creation time."""

    tags: tuple[str, ...]
    needs_created: bool = False


def candidates(
    tags: Iterable[str],
    *,
    strategy: Strategy = "semver",
    constraint: str | None = None,
    strict: bool = True,
    tag_filter: TagFilter = TagFilter(),
    limit: int = 20,
) -> Candidates:
    """The tags the strategy would choose from, best first.

    - `semver`: tags that read as semantic versions (a leading `v` is fine; with
      `strict` off, `1.2` reads as 1.2.0) and satisfy `constraint`, highest first;
    - `lexical`: tags in reverse lexical order (for sortable tags like `2026-12-06.3`);
    - `newest-build`: the `limit` lexically-highest tags; the caller picks the one built
      last with `newest_built`;
    - `digest`: the one mutable tag named by `constraint`, whose digest is followed.
    """
    kept = [t for t in dict.fromkeys(tags) if tag_filter.keep(t)]
    if strategy == "digest":
        return Candidates((constraint,) if constraint and constraint in kept else ())
    if strategy == "semver":
        allowed = parse_constraint(constraint or "*")
        versions = []
        for tag in kept:
            version = parse_version(tag, strict=strict)
            if version is not None and allowed.allows(version):
                versions.append((version, tag))
        # Equal versions (`1.2.3` and `v1.2.3`): the longer spelling first, stably.
        versions.sort(key=lambda vt: (vt[0], len(vt[1]), vt[1]), reverse=True)
        return Candidates(tuple(tag for _, tag in versions[:limit]))
    ordered = sorted(kept, reverse=True)[:limit]
    return Candidates(tuple(ordered), needs_created=strategy == "newest-build")


def newest_built(created: Mapping[str, datetime | None], order: Sequence[str]) -> str | None:
    """The tag built last; tags without a creation time lose to any with one, and ties
    keep `order` (the candidates' order)."""
    best: str | None = None
    for tag in order:
        when = created.get(tag)
        if when is None:
            continue
        if best is None or when > created[best]:  # type: ignore[operator]
            best = tag
    return best
