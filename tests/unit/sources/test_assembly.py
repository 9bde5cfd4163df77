"""Release assembly (domain/assembly.py): never partial, criterion across artifacts."""

from __future__ import annotations

from shiplane.domain.assembly import (
    AppInputs,
    FoundArtifact,
    FoundChart,
    FoundCommit,
    PreviousContents,
    apps_to_assemble,
    assemble,
    assemble_contents,
)

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def art(source: str, tag: str, digest: str = D1) -> FoundArtifact:
    repo = f"r.example/{source}"
    return FoundArtifact(source, repo, tag, digest, f"{repo}:{tag}@{digest}")


def test_apps_to_assemble_by_mode() -> None:
    feeds = {"web-src": ["web"], "api-src": ["api", "worker"]}
    assert apps_to_assemble("api-src", feeds, "changed") == ["api", "worker"]
    assert apps_to_assemble("api-src", feeds, "all") == ["api", "web", "worker"]


def test_every_app_gets_its_newest_artifact() -> None:
    found = {"web": [art("web", "1.2.0"), art("web", "1.1.0")], "api": [art("api", "2.0.0", D2)]}
    result = assemble(["api", "web"], found, None)
    assert result.reason is None
    assert result.artifacts == {
        "api": f"r.example/api:2.0.0@{D2}",
        "web": f"r.example/web:1.2.0@{D1}",
    }


def test_never_partial() -> None:
    result = assemble(["api", "web"], {"web": [art("web", "1.0.0")]}, None, {"api": "down"})
    assert result.artifacts == {}
    assert result.reason == "not assembled: app api has no artifact (down)"


def test_criterion_accepts_or_rejects_the_combination() -> None:
    same = "artifacts.web.tag == artifacts.api.tag"
    ok = assemble(
        ["api", "web"], {"web": [art("web", "1.0.0")], "api": [art("api", "1.0.0")]}, same
    )
    assert ok.reason is None and set(ok.artifacts) == {"api", "web"}
    no = assemble(
        ["api", "web"], {"web": [art("web", "1.1.0")], "api": [art("api", "1.0.0")]}, same
    )
    assert no.artifacts == {}
    assert no.reason is not None and "rejects api=1.0.0, web=1.1.0" in no.reason


def test_a_criterion_naming_an_absent_app_is_a_reason_not_a_crash() -> None:
    result = assemble(["web"], {"web": [art("web", "1.0.0")]}, "artifacts.api.tag == '1'")
    assert result.artifacts == {}
    assert result.reason is not None and result.reason.startswith("not assembled: the criterion")


# --- charts, commits and the newest release (issue 14) -----------------------------------


SHA1, SHA2 = "1" * 40, "2" * 40


def test_a_chart_or_commit_change_keeps_the_image_of_the_newest_release() -> None:
    previous = PreviousContents("rel-old", art("web", "1.0.0"), FoundChart("c", "1.0.0"))
    inputs = {
        "web": AppInputs(
            charts=[FoundChart("c", "1.1.0", D2)],
            commits=[FoundCommit("cfg", SHA2, "main"), FoundCommit("cfg2", SHA1)],
            previous=previous,
        )
    }
    result = assemble_contents(["web"], inputs, None)
    assert result.reason is None
    assert result.artifacts == {"web": f"r.example/web:1.0.0@{D1}"}
    assert result.charts == {"web": f"1.1.0@{D2}"}
    assert result.commits == {"web": SHA2}


def test_a_source_that_found_nothing_falls_back_to_the_newest_release_or_refuses() -> None:
    previous = PreviousContents("rel-old", art("web", "1.0.0"), None, FoundCommit("x", SHA1))
    kept = assemble_contents(
        ["web"],
        {"web": AppInputs(images=[art("web", "2.0.0")], commit_missing="down", previous=previous)},
        None,
    )
    assert kept.commits == {"web": SHA1} and kept.artifacts["web"].startswith("r.example/web:2.0")
    refused = assemble_contents(
        ["web"], {"web": AppInputs(images=[art("web", "2.0.0")], chart_missing="src: 404")}, None
    )
    assert refused.reason == "not assembled: app web has no chart version (src: 404)"
    nothing = assemble_contents(["web"], {"web": AppInputs(commits=[FoundCommit("g", SHA1)])}, None)
    assert nothing.reason is not None and "app web has no artifact" in nothing.reason


def test_the_criterion_sees_charts_and_commits() -> None:
    inputs = {
        "api": AppInputs(images=[art("api", "1.0.0")], charts=[FoundChart("c", "1.4.0")]),
        "web": AppInputs(images=[art("web", "1.0.0")], commits=[FoundCommit("g", SHA1, "v1")]),
    }
    ok = "charts.api.version.startsWith('1.') && commits.web.version == 'v1'"
    assert assemble_contents(["api", "web"], inputs, ok).reason is None
    no = assemble_contents(["api", "web"], inputs, "charts.api.version == '2.0.0'")
    assert no.reason is not None
    assert "rejects api=1.0.0 chart 1.4.0, web=1.0.0 commit 111111111111" in no.reason
