"""Tag selection: filters, strategies, discovery limit (sources/selectors.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from shiplane.sources.selectors import TagFilter, candidates, newest_built

TAGS = [
    "1.0.0",
    "v1.2.0",
    "1.10.0",
    "1.9.0",
    "2.0.0-rc.1",
    "latest",
    "1.2",
    "main-abc",
    "sha256-ab.sig",
    "1.10.0",
]


def test_semver_is_the_default_and_orders_numerically() -> None:
    picked = candidates(TAGS)
    assert picked.tags == ("1.10.0", "1.9.0", "v1.2.0", "1.0.0")
    assert not picked.needs_created


def test_semver_constraint_and_loose_versions() -> None:
    assert candidates(TAGS, constraint="<1.5").tags == ("v1.2.0", "1.0.0")
    loose = candidates(TAGS, constraint="~1.2", strict=False).tags
    assert loose == ("v1.2.0", "1.2")  # equal versions: the longer spelling first
    assert candidates(TAGS, constraint=">=2.0.0-0").tags == ("2.0.0-rc.1",)


def test_lexical_orders_text() -> None:
    tags = ["2026-12-01.1", "2026-12-06.2", "2026-12-06.10"]
    assert candidates(tags, strategy="lexical").tags[0] == "2026-12-06.2"


def test_allow_and_ignore_patterns() -> None:
    only_v = TagFilter(allow=(r"^v",))
    assert candidates(TAGS, tag_filter=only_v).tags == ("v1.2.0",)
    no_ten = TagFilter(ignore=(r"^1\.10",))
    assert candidates(TAGS, tag_filter=no_ten).tags[0] == "1.9.0"
    sig = TagFilter(ignore=(r"\.sig$",))
    assert "sha256-ab.sig" not in candidates(TAGS, strategy="lexical", tag_filter=sig).tags


def test_discovery_limit_caps_the_candidates() -> None:
    assert candidates(TAGS, limit=2).tags == ("1.10.0", "1.9.0")
    many = [f"build-{i:04d}" for i in range(500)]
    picked = candidates(many, strategy="newest-build", limit=5)
    assert picked.tags == tuple(f"build-{i:04d}" for i in (499, 498, 497, 496, 495))
    assert picked.needs_created


def test_digest_follows_one_mutable_tag_only_when_present() -> None:
    assert candidates(TAGS, strategy="digest", constraint="latest").tags == ("latest",)
    assert candidates(TAGS, strategy="digest", constraint="stable").tags == ()
    blocked = TagFilter(ignore=("latest",))
    assert candidates(TAGS, strategy="digest", constraint="latest", tag_filter=blocked).tags == ()


def test_newest_built_picks_the_latest_creation_time() -> None:
    t = lambda h: datetime(2026, 12, 6, h, tzinfo=UTC)  # noqa: E731
    order = ["c", "b", "a", "d"]
    assert newest_built({"a": t(3), "b": t(9), "c": t(1), "d": None}, order) == "b"
    assert newest_built({"a": t(3), "b": t(3)}, ["b", "a"]) == "b"  # a tie keeps the order
    assert newest_built({"a": None}, ["a"]) is None
    assert newest_built({}, []) is None


def test_no_tag_matches() -> None:
    assert candidates(["latest", "main"]).tags == ()
