"""Chart versions and config commits as release contents (issue 14)."""

from __future__ import annotations

import pytest

from shiplane.domain import releases as r
from shiplane.domain.release_contents import ChartPin, parse_chart, parse_commit, parse_contents

DIGEST = "sha256:" + "ab" * 32
SHA = "0123456789abcdef0123456789abcdef01234567"
IMAGES = {
    "checkout": "registry.example/shop/checkout:1.4.2",
    "payments": "registry.example/shop/payments@sha256:" + "a" * 64,
}


def test_an_images_only_release_keeps_the_id_it_always_had() -> None:
    # Pinned: computed by the release model before charts and commits existed.
    assert r.release_id_for(IMAGES) == "rel-f699edc09b49cab72d8b"
    parsed = r.parse_artifacts(IMAGES)
    assert r.release_id(parsed, {}, {}) == "rel-f699edc09b49cab72d8b"
    assert "charts" not in r.canonical_contents(parsed, {}, {})


def test_charts_and_commits_change_the_id_and_are_hashed_canonically() -> None:
    parsed = r.parse_artifacts(IMAGES)
    base = r.release_id(parsed)
    with_chart = r.release_id(parsed, {"checkout": "1.1.0"})
    with_commit = r.release_id(parsed, None, {"checkout": SHA})
    assert len({base, with_chart, with_commit}) == 3
    assert r.canonical_contents(parsed, {"checkout": "1.1.0"}, {"checkout": SHA}).endswith(
        f',"charts":{{"checkout":"1.1.0"}},"commits":{{"checkout":"{SHA}"}}}}'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.4.2", ChartPin("1.4.2")),
        ("v2.0.0-rc.1+build.5", ChartPin("v2.0.0-rc.1+build.5")),
        (f"1.4.2@{DIGEST.upper().replace('SHA256', 'sha256')}", ChartPin("1.4.2", DIGEST)),
        ("1.4.2@" + "ab" * 32, ChartPin("1.4.2", DIGEST)),  # index.yaml's bare hex
    ],
)
def test_chart_versions_parse(text: str, expected: ChartPin) -> None:
    assert parse_chart(text) == expected


@pytest.mark.parametrize("text", ["1.4", "latest", "01.2.3", "1.2.3@sha256:abc", "1.2.3@md5:x"])
def test_bad_chart_versions_are_refused_with_what_is_expected(text: str) -> None:
    with pytest.raises(r.ReleaseValidationError, match=r"app 'web'.*(semantic|sha256)"):
        parse_chart(text, app="web")


def test_commits_must_be_full_hex() -> None:
    assert parse_commit(SHA.upper()) == SHA
    with pytest.raises(r.ReleaseValidationError, match="full commit sha"):
        parse_commit(SHA[:12], app="web")


def test_a_chart_or_commit_needs_the_apps_image_in_the_release() -> None:
    contents = parse_contents({"checkout"}, {"checkout": "1.0.0"}, {"checkout": SHA.upper()})
    assert contents.charts == {"checkout": "1.0.0"}
    assert contents.commits == {"checkout": SHA}
    with pytest.raises(r.ReleaseValidationError, match=r"charts\.payments: the release has no"):
        parse_contents({"checkout"}, {"payments": "1.0.0"}, None)
    with pytest.raises(r.ReleaseValidationError, match=r"commits\.web"):
        parse_contents({"web"}, None, {"web": " " + SHA})
