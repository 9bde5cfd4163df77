"""Release assembly (domain/assembly.py): never partial, criterion across artifacts."""

from __future__ import annotations

from shiplane.domain.assembly import FoundArtifact, apps_to_assemble, assemble

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
