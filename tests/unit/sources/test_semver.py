"""Semantic versions and Masterminds-style constraints (domain/semver.py)."""

from __future__ import annotations

import pytest

from shiplane.domain.semver import ConstraintError, Version, parse_constraint, parse_version


def v(text: str) -> Version:
    parsed = parse_version(text)
    assert parsed is not None, text
    return parsed


def test_parse_accepts_v_prefix_prerelease_and_build() -> None:
    assert v("v1.2.3") == Version(1, 2, 3)
    assert v("1.2.3-rc.1+sha.abc") == Version(1, 2, 3, ("rc", "1"), "sha.abc")
    assert parse_version("1.2") is None
    assert parse_version("1.2", strict=False) == Version(1, 2, 0)
    assert parse_version("latest") is None
    assert parse_version("01.2.3") is None  # leading zeros are not semver


def test_precedence_follows_semver() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.10.0",
        "2.0.0",
    ]
    assert sorted(ordered, key=v) == ordered
    assert v("1.0.0+a") == v("1.0.0+b")  # build metadata has no precedence


@pytest.mark.parametrize(
    ("constraint", "allowed", "refused"),
    [
        (">=1.2 <2", ["1.2.0", "1.9.9"], ["1.1.9", "2.0.0", "2.0.0-rc.1"]),
        (">=1.2, <2", ["1.5.0"], ["2.1.0"]),
        (">= 1.2", ["1.2.0"], ["1.1.0"]),
        ("^1.4", ["1.4.0", "1.99.0"], ["1.3.9", "2.0.0"]),
        ("^0.2", ["0.2.9"], ["0.3.0", "0.1.0"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4"]),
        ("~1.2", ["1.2.0", "1.2.9"], ["1.3.0"]),
        ("~1", ["1.9.0"], ["2.0.0"]),
        ("1.2.x", ["1.2.7"], ["1.3.0"]),
        ("1.*", ["1.0.0"], ["2.0.0"]),
        ("*", ["0.0.1", "9.9.9"], ["1.0.0-rc.1"]),
        ("", ["3.0.0"], []),
        ("=1.2.3", ["1.2.3"], ["1.2.4"]),
        ("1.2.3", ["1.2.3"], ["1.2.4"]),
        ("!=1.2.3", ["1.2.4"], ["1.2.3"]),
        (">1.2", ["1.3.0"], ["1.2.9"]),
        (">1.2.3", ["1.2.4"], ["1.2.3"]),
        ("<=1.2", ["1.2.9"], ["1.3.0"]),
        ("<1.0 || >=3", ["0.9.0", "3.1.0"], ["1.5.0"]),
        (">=1.0.0-0", ["1.0.0-rc.1", "1.0.0"], ["0.9.0"]),
    ],
)
def test_constraints(constraint: str, allowed: list[str], refused: list[str]) -> None:
    c = parse_constraint(constraint)
    for text in allowed:
        assert c.allows(v(text)), f"{constraint} should allow {text}"
    for text in refused:
        assert not c.allows(v(text)), f"{constraint} should refuse {text}"


@pytest.mark.parametrize("text", [">=1.2 <<2", "1.2.3.4", "abc", ">=1.y", "^"])
def test_unreadable_constraints_say_which_part(text: str) -> None:
    with pytest.raises(ConstraintError, match="cannot read"):
        parse_constraint(text)
