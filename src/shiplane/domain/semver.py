"""Semantic versions and constraints (pure): what image and chart sources select by.

Versions follow semver 2.0 with an optional leading `v` (`v1.2.3`, `1.2.3-rc.1+build`);
partial versions (`1.2`) are accepted as tags only when `strict` is off. Constraints use
the Masterminds syntax that Helm and Kargo users know: comparators separated by spaces or
commas are ANDed (`>=1.2 <2`), `||` ORs groups, `^1.2` (same major), `~1.2` (same minor),
`1.2.x` / `1.*` wildcards, `=` or a bare version for equality. As in Masterminds, a
pre-release satisfies a constraint only when a comparator of the constraint names a
pre-release itself, so `>=1.0` never picks `2.0.0-rc.1`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import total_ordering

from shiplane.domain.errors import InvalidError

_VERSION = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>0|[1-9]\d*)(?:\.(?P<patch>0|[1-9]\d*))?)?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_COMPARATOR = re.compile(r"^(?P<op>\^|~>?|>=|<=|!=|=|>|<)?\s*(?P<version>v?[0-9xX*][^\s,]*)$")


class ConstraintError(InvalidError):
    """A semver constraint that cannot be read."""


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()
    build: str = ""

    @property
    def prerelease(self) -> bool:
        return bool(self.pre)

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        # A release sorts after its pre-releases; numeric identifiers sort below text.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        # Build metadata does not take part in precedence (semver 2.0 §10).
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += "-" + ".".join(self.pre)
        return text + (f"+{self.build}" if self.build else "")


def parse_version(text: str, *, strict: bool = True) -> Version | None:
    """The version a tag names, or None. `strict`: all three numbers are required."""
    found = _VERSION.match(text.strip())
    if not found:
        return None
    if strict and (found["minor"] is None or found["patch"] is None):
        return None
    return Version(
        int(found["major"]),
        int(found["minor"] or 0),
        int(found["patch"] or 0),
        tuple(found["pre"].split(".")) if found["pre"] else (),
        found["build"] or "",
    )


Test = Callable[[Version], bool]


@dataclass(frozen=True)
class Constraint:
    """A parsed constraint; `allows(version)` says whether a version satisfies it."""

    text: str
    _groups: tuple[tuple[tuple[Test, Version | None], ...], ...]

    def allows(self, version: Version) -> bool:
        for group in self._groups:
            if all(test(version) for test, _ in group) and (
                not version.prerelease or _names_prerelease(group, version)
            ):
                return True
        return False


def _names_prerelease(group: tuple[tuple[Test, Version | None], ...], version: Version) -> bool:
    return any(
        bound is not None
        and bound.prerelease
        and (bound.major, bound.minor, bound.patch) == (version.major, version.minor, version.patch)
        for _, bound in group
    )


def parse_constraint(text: str) -> Constraint:
    """A Constraint, or ConstraintError naming the part that cannot be read. `*` or an
    empty text allows every (non-pre-release) version."""
    groups: list[tuple[tuple[Test, Version | None], ...]] = []
    for alternative in (text or "*").split("||"):
        # `>= 1.2` is written with a space at times: join an operator to its version.
        parts = re.sub(r"(\^|~>?|>=|<=|!=|=|>|<)\s+", r"\1", alternative).replace(",", " ")
        tests = tuple(_comparator(part, text) for part in parts.split())
        groups.append(tests or ((lambda _v: True, None),))
    return Constraint(text, tuple(groups))


def _comparator(part: str, whole: str) -> tuple[Test, Version | None]:
    found = _COMPARATOR.match(part)
    if not found:
        raise ConstraintError(f"cannot read {part!r} in the semver constraint {whole!r}")
    op = found["op"] or "="
    pieces = found["version"].lstrip("v").split("-", 1)[0].split("+", 1)[0].split(".")
    wild = [p in ("x", "X", "*") for p in pieces]
    numbers = pieces[: wild.index(True)] if any(wild) else pieces
    if not all(p.isdigit() for p in numbers) or len(pieces) > 3:
        raise ConstraintError(f"cannot read {part!r} in the semver constraint {whole!r}")
    given = len(numbers)
    if given == 3 and not any(wild):
        bound = parse_version(found["version"])
        if bound is None:
            raise ConstraintError(f"cannot read {part!r} in the semver constraint {whole!r}")
    else:
        nums = [int(p) for p in numbers] + [0] * (3 - given)
        bound = Version(nums[0], nums[1], nums[2])
    low = bound

    def upper(level: int) -> Version:
        # The first version past the given precision: 1.2 -> 1.3.0, 1 -> 2.0.0.
        if level <= 0:
            return Version(10**9, 0, 0)
        if level == 1:
            return Version(low.major + 1, 0, 0)
        return Version(low.major, low.minor + 1, 0)

    def below(limit: Version) -> Test:
        # `<2.0.0` excludes 2.0.0's pre-releases too (they count as "2").
        return lambda v: (
            v < limit
            and (v.major, v.minor, v.patch)
            < (
                limit.major,
                limit.minor,
                limit.patch,
            )
        )

    test: Test
    if op in ("=",) and given < 3:
        hi = upper(given)
        test = lambda v: low <= v and below(hi)(v)  # noqa: E731
    elif op == "=":
        test = lambda v: v == low  # noqa: E731
    elif op == "!=":
        test = lambda v: v != low  # noqa: E731
    elif op == ">":
        # `>1.2` means past every 1.2.x.
        hi = upper(given) if given < 3 else low
        test = (lambda v: v >= hi) if given < 3 else (lambda v: v > low)
    elif op == ">=":
        test = lambda v: v >= low  # noqa: E731
    elif op == "<":
        test = below(low)
    elif op == "<=":
        hi = upper(given) if given < 3 else low
        test = below(hi) if given < 3 else (lambda v: v <= low)
    elif op == "^":
        # Same left-most non-zero part: ^1.2 -> <2, ^0.2 -> <0.3, ^0.0.3 -> <0.0.4.
        if low.major > 0 or given == 1:
            hi = Version(low.major + 1, 0, 0)
        elif low.minor > 0 or given == 2:
            hi = Version(0, low.minor + 1, 0)
        else:
            hi = Version(0, 0, low.patch + 1)
        test = lambda v: low <= v and below(hi)(v)  # noqa: E731
    else:  # ~ and ~>: same minor (or same major when only the major is given)
        hi = Version(low.major + 1, 0, 0) if given == 1 else Version(low.major, low.minor + 1, 0)
        test = lambda v: low <= v and below(hi)(v)  # noqa: E731
    return test, bound
