"""Releases: image references, content-addressed ids and readable aliases. Pure, no I/O.

Identity rule: a release id depends on its contents only: its artifacts (app name ->
canonical image reference) and, when it has any, its chart versions and config commits
(`release_contents.py`; absent from the hashed text when empty, so a release of images
only keeps the id it always had). Labels, alias, creator and time are metadata about
*who made it and why*; they do not change *what* gets deployed, so they do not change
the id. Creating the same contents again therefore returns the existing release,
whatever its labels or alias.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

RELEASE_ID_PREFIX = "rel-"
RELEASE_ID_HEX_LENGTH = 20  # 80 bits: collisions need ~10^12 releases; ids stay short
MIN_PREFIX_HEX = 4

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# Docker distribution reference grammar (path components and tags), simplified.
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_REGISTRY = re.compile(
    r"(?:localhost|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?"
)
_APP = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_LABEL_KEY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?")
_ALIAS = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?")
_MAX_LABEL_VALUE = 256


class ReleaseValidationError(ValueError):
    """Invalid input for a release; the message says what is wrong and what is expected."""


class ImageRefError(ReleaseValidationError):
    """An image reference that cannot be parsed."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A parsed image reference. `repository` excludes the registry; `name` includes it."""

    registry: str | None
    repository: str
    tag: str | None
    digest: str | None  # "sha256:<64 lowercase hex>"

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_image_ref(text: str) -> ImageRef:
    """Parse `[registry[:port]/]path[:tag][@sha256:<64 hex>]`.

    A tag or a digest is required: a bare name means "latest", which moves, and a
    release must name something definite. The digest hex is normalised to lowercase.
    A first component is a registry when it contains "." or ":" or is "localhost"
    (the Docker rule); no implicit "docker.io/library" is added, so what you give is
    what gets recorded and hashed.
    """
    original = text
    text = text.strip()

    def fail(why: str) -> ImageRefError:
        return ImageRefError(
            f"invalid image reference {original!r}: {why} "
            "(expected registry/repo/name:tag, registry/repo/name@sha256:<64 hex>, or both)"
        )

    if not text:
        raise fail("it is empty")
    if any(c.isspace() for c in text):
        raise fail("it contains whitespace")

    digest: str | None = None
    if "@" in text:
        text, _, digest_part = text.partition("@")
        algorithm, sep, hexpart = digest_part.partition(":")
        if not sep or algorithm != "sha256":
            raise fail(f"digest {digest_part!r} must be sha256:<64 hex>")
        if not _HEX64.fullmatch(hexpart):
            raise fail(f"digest {digest_part!r} must have exactly 64 hex characters")
        digest = f"sha256:{hexpart.lower()}"

    tag: str | None = None
    last_slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > last_slash:  # a colon after the last slash separates the tag
        text, tag = text[:colon], text[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise fail(f"tag {tag!r} is not valid (letters, digits, '_', '.', '-'; max 128)")

    parts = text.split("/")
    registry: str | None = None
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry = parts.pop(0)
        if not _REGISTRY.fullmatch(registry):
            raise fail(f"registry {registry!r} is not a valid host[:port]")
        port = registry.rpartition(":")[2] if not registry.endswith("]") else ""
        if ":" in registry and port.isdigit() and not 0 < int(port) <= 65535:
            raise fail(f"registry {registry!r} has port {port}, outside 1..65535")
    if not parts or parts == [""]:
        raise fail("the repository name is missing")
    for component in parts:
        if not _PATH_COMPONENT.fullmatch(component):
            raise fail(
                f"repository component {component!r} is not valid "
                "(lowercase letters, digits and single separators . _ __ -)"
            )
    repository = "/".join(parts)
    if tag is None and digest is None:
        raise fail("it needs a tag (:1.4.2) or a digest (@sha256:...)")
    if len(registry or "") + len(repository) > 255:
        raise fail("the name is longer than 255 characters")
    return ImageRef(registry=registry, repository=repository, tag=tag, digest=digest)


@dataclass(frozen=True, slots=True)
class Artifact:
    """One app's artifact in a release.

    `digest` is what the user gave. `resolved_digest` is filled in later by artifact
    discovery when an image was given by tag only; it is not part of the identity,
    because the release was created (and hashed) from what the user named.
    """

    app: str
    image: str  # registry/repository, without tag or digest
    tag: str | None
    digest: str | None
    resolved_digest: str | None = None

    @property
    def ref(self) -> str:
        text = self.image
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def validate_app_name(app: str) -> str:
    if not _APP.fullmatch(app):
        raise ReleaseValidationError(
            f"invalid app name {app!r}: use lowercase letters, digits and '-', at most 63 "
            "characters, starting and ending with a letter or digit"
        )
    return app


def parse_artifacts(artifacts: Mapping[str, str]) -> list[Artifact]:
    """Validate `{app: image ref}` and return artifacts sorted by app."""
    if not artifacts:
        raise ReleaseValidationError("a release needs at least one artifact (APP=IMAGE)")
    result: list[Artifact] = []
    for app in sorted(artifacts):
        validate_app_name(app)
        text = artifacts[app]
        if text != text.strip():
            # What a release names is recorded exactly: a pasted newline or space is a
            # mistake to show now, not something to guess around.
            raise ImageRefError(
                f"app {app!r}: invalid image reference {text!r}: it starts or ends with whitespace"
            )
        try:
            ref = parse_image_ref(text)
        except ImageRefError as exc:
            raise ImageRefError(f"app {app!r}: {exc}") from None
        result.append(Artifact(app=app, image=ref.name, tag=ref.tag, digest=ref.digest))
    return result


def validate_labels(labels: Mapping[str, str]) -> dict[str, str]:
    for key, value in labels.items():
        if not _LABEL_KEY.fullmatch(key):
            raise ReleaseValidationError(
                f"invalid label key {key!r}: letters, digits, '.', '_', '/', '-', max 63"
            )
        if not isinstance(value, str) or len(value) > _MAX_LABEL_VALUE:
            raise ReleaseValidationError(
                f"invalid value for label {key!r}: a string of at most {_MAX_LABEL_VALUE} chars"
            )
    return dict(sorted(labels.items()))


def validate_alias(alias: str) -> str:
    """Aliases are readable names; they may not look like release ids, so that looking a
    release up by "rel-..." is never ambiguous between an id and an alias."""
    if not _ALIAS.fullmatch(alias):
        raise ReleaseValidationError(
            f"invalid alias {alias!r}: letters, digits, '.', '_', '-', at most 64 characters"
        )
    if alias.lower().startswith(RELEASE_ID_PREFIX):
        raise ReleaseValidationError(f"invalid alias {alias!r}: it may not start with 'rel-'")
    return alias


def canonical_contents(
    artifacts: list[Artifact],
    charts: Mapping[str, str] | None = None,
    commits: Mapping[str, str] | None = None,
) -> str:
    """The exact bytes (as text) that the release id hashes: sorted keys, no spaces.

    `charts` (app -> `VERSION[@sha256:...]`) and `commits` (app -> 40-hex sha) are the
    canonical texts of `release_contents.parse_contents`; each key is written only when it
    is not empty, so the contents of a release of images only are what they always were.
    """
    body: dict[str, Mapping[str, str]] = {
        "artifacts": {a.app: a.ref for a in sorted(artifacts, key=lambda a: a.app)}
    }
    if charts:
        body["charts"] = dict(charts)
    if commits:
        body["commits"] = dict(commits)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def release_id(
    artifacts: list[Artifact],
    charts: Mapping[str, str] | None = None,
    commits: Mapping[str, str] | None = None,
) -> str:
    text = canonical_contents(artifacts, charts, commits)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return RELEASE_ID_PREFIX + digest[:RELEASE_ID_HEX_LENGTH]


def release_id_for(artifacts: Mapping[str, str]) -> str:
    """Convenience: the id of a release with these `{app: image ref}` artifacts."""
    return release_id(parse_artifacts(artifacts))


def id_prefix_from_ref(ref: str) -> str | None:
    """If `ref` can be a (prefix of a) release id, return it in "rel-<hex>" form.

    Accepts "rel-3f9c" or bare "3f9c2a" (at least MIN_PREFIX_HEX hex characters).
    """
    ref = ref.strip().lower()
    hexpart = ref[len(RELEASE_ID_PREFIX) :] if ref.startswith(RELEASE_ID_PREFIX) else ref
    if (
        MIN_PREFIX_HEX <= len(hexpart) <= RELEASE_ID_HEX_LENGTH
        and re.fullmatch(r"[0-9a-f]+", hexpart) is not None
    ):
        return RELEASE_ID_PREFIX + hexpart
    return None


# 64 adjectives x 64 nouns: 4,096 readable pairs; the 4 hex that follow (65,536 values)
# make 268 million aliases, and the store lengthens the suffix in the rare case that a
# generated alias is already taken by another release.
_ADJECTIVES = (
    "amber", "ancient", "autumn", "bold", "brave", "bright", "broad", "calm",
    "clever", "cool", "crimson", "crisp", "daring", "dawn", "deep", "eager",
    "early", "fancy", "fast", "fierce", "fresh", "gentle", "glad", "golden",
    "grand", "green", "happy", "hidden", "humble", "icy", "jolly", "keen",
    "kind", "late", "lively", "lucky", "mellow", "misty", "noble", "odd",
    "plain", "polite", "proud", "quick", "quiet", "rapid", "rare", "red",
    "rough", "royal", "rustic", "sharp", "shy", "silent", "silver", "sleek",
    "smooth", "snowy", "solid", "steady", "sunny", "swift", "tidy", "wild",
)  # fmt: skip
_NOUNS = (
    "anchor", "badger", "beacon", "birch", "breeze", "brook", "canyon", "cedar",
    "cliff", "cloud", "comet", "coral", "crane", "creek", "delta", "dune",
    "eagle", "ember", "falcon", "fern", "field", "fjord", "forest", "fox",
    "galaxy", "glacier", "grove", "harbor", "hawk", "heron", "island", "lake",
    "lark", "maple", "meadow", "meteor", "moon", "moss", "oak", "ocean",
    "orbit", "otter", "owl", "pebble", "pine", "planet", "prairie", "quartz",
    "raven", "reef", "ridge", "river", "robin", "sparrow", "spruce", "star",
    "stone", "summit", "thunder", "tide", "valley", "willow", "wolf", "zephyr",
)  # fmt: skip


def generate_alias(rel_id: str, suffix_hex: int = 4) -> str:
    """A deterministic readable alias derived from the id, e.g. "swift-otter-3f9c".

    The adjective and noun come from the id's first two bytes and the suffix from the
    hex that follow, so the same release always gets the same alias.
    """
    hexpart = rel_id.removeprefix(RELEASE_ID_PREFIX)
    if len(hexpart) < 4 + suffix_hex or not re.fullmatch(r"[0-9a-f]+", hexpart):
        raise ValueError(f"cannot derive an alias from {rel_id!r}")
    adjective = _ADJECTIVES[int(hexpart[0:2], 16) % len(_ADJECTIVES)]
    noun = _NOUNS[int(hexpart[2:4], 16) % len(_NOUNS)]
    return f"{adjective}-{noun}-{hexpart[4 : 4 + suffix_hex]}"


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    """A release as gates and checks see it: its id, what it deploys and who made it.

    The one read-only view of a release below the store: gates read `creator` (separation
    of duties) and `labels` (conditions); checks read `artifacts` (`{{image}}`) and `alias`.
    """

    id: str
    artifacts: Mapping[str, str] = field(default_factory=dict)
    """App name -> artifact reference (image with tag and/or digest)."""
    charts: Mapping[str, str] = field(default_factory=dict)
    """App name -> chart version (`VERSION[@sha256:...]`), for apps whose chart it pins."""
    commits: Mapping[str, str] = field(default_factory=dict)
    """App name -> the config commit whose manifests it deploys."""
    creator: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    alias: str | None = None
