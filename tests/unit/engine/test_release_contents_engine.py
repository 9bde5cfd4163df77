"""Chart versions and config commits in the engine's pure parts: what each app's release
contents may come from (engine/sources/inputs.py), a release diff, the pin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shiplane.config import load_project_text
from shiplane.engine.deploy.plan import pin_for
from shiplane.engine.release_views import artifact_changes
from shiplane.engine.sources.inputs import app_inputs, feeds
from shiplane.store.records import ArtifactRecord, ReleaseRecord, SourceStateRecord

D = "sha256:" + "d" * 64
SHA = "c" * 40
PROJECT = load_project_text("""
apiVersion: shiplane/v1alpha1
project: shop
clusters: {local: {inCluster: true}}
environments: {dev: {cluster: local, namespace: dev}}
apps:
  web: {images: [r.example/web], manifests: {path: apps/web}}
  api:
    images: [r.example/api]
    chart: {repository: 'https://charts.example/stable/', name: api}
    manifests: {path: apps/api, render: helm}
sources:
  api-chart: {chart: {repository: 'https://charts.example/stable', name: api}, apps: [api, web]}
  other-chart: {chart: {repository: 'https://charts.example/stable', name: other}, apps: [api]}
  config: {git: {url: 'https://git.example/config.git'}, apps: [web, api]}
""")


def state(name: str, kind: str, version: str | None, digest: str | None, **kw: Any) -> Any:
    fields: dict[str, Any] = {
        "name": name, "kind": kind, "version": version, "digest": digest, "artifact": None,
        "healthy": True, "reason": None, "assembly": None, "checked_at": None,
        "changed_at": datetime(2026, 1, 1, tzinfo=UTC), "next_poll_at": None,
        "last_release": None,
    }  # fmt: skip
    fields.update(kw)
    return SourceStateRecord(**fields)


def release(rid: str, app: str, tag: str, **kw: Any) -> ReleaseRecord:
    ref = f"r.example/{app}:{tag}"
    artifact = ArtifactRecord(
        app=app, image=f"r.example/{app}", tag=tag, digest=None, resolved_digest=D, ref=ref
    )
    return ReleaseRecord(
        id=rid, alias=rid, artifacts=[artifact], labels={}, creator="ci",
        created_at=datetime(2026, 1, 1, tzinfo=UTC), **kw,
    )  # fmt: skip


def test_a_chart_source_feeds_only_the_apps_whose_chart_it_watches() -> None:
    assert feeds(PROJECT)["api-chart"] == ["api"]  # web has no chart; the slash is the same
    assert feeds(PROJECT)["other-chart"] == []
    assert feeds(PROJECT)["config"] == ["web", "api"]


def test_inputs_carry_found_charts_commits_and_the_newest_release() -> None:
    states = {
        "api-chart": state("api-chart", "chart", "1.4.0", "ab" * 32),
        "config": state("config", "git", "0123456789ab", "0123456789ab" + "0" * 28),
    }
    previous = {"api": release("rel-1", "api", "1.0.0", charts={"api": "1.0.0"})}
    inputs = app_inputs(PROJECT, states, ["api", "web"], previous, {("config", "web"): SHA})
    api, web = inputs["api"], inputs["web"]
    assert [(c.version, c.digest) for c in api.charts] == [("1.4.0", "sha256:" + "ab" * 32)]
    assert api.previous is not None and api.previous.artifact.digest == D
    assert api.previous.chart is not None and api.previous.chart.version == "1.0.0"
    assert [c.commit for c in web.commits] == [SHA]  # the last change of apps/web
    assert [c.commit for c in api.commits] == ["0123456789ab" + "0" * 28]
    assert web.image_missing is None and web.previous is None


def test_a_commit_that_cannot_be_read_is_a_reason() -> None:
    states = {"config": state("config", "git", "abc", SHA)}
    why = {("config", "web"): "cannot read apps/web at cccccccccccc: gone"}
    inputs = app_inputs(PROJECT, states, ["web"], {}, why)
    assert inputs["web"].commits == []
    assert (
        inputs["web"].commit_missing == "source config: cannot read apps/web at cccccccccccc: gone"
    )


def test_a_release_diff_sees_a_chart_or_commit_change_and_the_pin_records_them() -> None:
    a = release("rel-a", "api", "1.0.0", charts={"api": "1.0.0"})
    b = release("rel-b", "api", "1.0.0", charts={"api": f"1.1.0@{D}"}, commits={"api": SHA})
    [change] = artifact_changes(a, b)
    assert change.change == "changed"
    assert change.to_json()["chart"] == {"a": "1.0.0", "b": f"1.1.0@{D}"}
    assert [c.change for c in artifact_changes(a, a)] == ["same"]
    pin = pin_for(b, "api", PROJECT.apps["api"])
    assert pin.chart is not None and (pin.chart.name, pin.chart.version) == ("api", "1.1.0")
    assert pin.chart.digest == D and pin.config is not None and pin.config.commit == SHA
