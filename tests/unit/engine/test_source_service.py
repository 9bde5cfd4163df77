"""The source service's own logic (engine/sources/service.py) with stand-in plugins:
jittered poll times, the poll loop on a manual clock, coalescing, failures that stay
inside a source. The plugins themselves run against real registries, helm and git in
tests/integration/sources."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shiplane.config import load_project_text
from shiplane.domain.clock import ManualClock
from shiplane.domain.errors import ExternalError
from shiplane.domain.registry import Registry
from shiplane.engine.sources import SourceService
from shiplane.sources.plugins import Discover, Found
from shiplane.store.db import Database

pytestmark = pytest.mark.anyio
D = "sha256:" + "c" * 64
PROJECT = """
apiVersion: shiplane/v1alpha1
project: shop
clusters: {local: {kubeconfig: ~/.kube/config}}
environments: {dev: {cluster: local, namespace: shop-dev}}
apps:
  web: {images: [r.example/shop/web], manifests: {path: apps/web}}
releases: {assemble: changed}
sources:
  web: {image: {repository: r.example/shop/web}, apps: [web], interval: 100s}
"""


class Script:
    """A stand-in `image` plugin: answers from `answers`, can be held on a gate."""

    def __init__(self) -> None:
        self.answers: list[Found | Exception] = []
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.lasts: list[Found | None] = []  # what the service handed each look

    async def __call__(self, config: Any, clients: Any, /, *, last: Found | None = None) -> Found:
        self.calls += 1
        self.lasts.append(last)
        if self.gate is not None:
            await self.gate.wait()
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


def found(tag: str) -> Found:
    return Found(tag, D, f"r.example/shop/web:{tag}@{D}")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path / 's.db'}")
    database.migrate()
    yield database
    database.close()


def make(
    db: Database, script: Script, clock: ManualClock, created: list[dict[str, Any]]
) -> SourceService:
    plugins: Registry[Discover] = Registry("source")
    plugins.register(
        "image", schema=__import__("shiplane.config.models", fromlist=["x"]).ImageSourceConfig
    )(script)

    async def create(**fields: Any) -> Any:
        created.append(fields)
        return type("R", (), {"id": f"rel-{len(created)}"})(), True

    project = load_project_text(PROJECT)
    return SourceService(
        db, project, create, clock=clock, rng=random.Random(7), plugins=plugins, tick=0.01
    )


async def test_next_poll_is_the_interval_with_jitter(db: Database) -> None:
    clock, script, created = ManualClock(), Script(), []
    script.answers = [found("1.0.0")]
    sources = make(db, script, clock, created)
    state = await sources.refresh_and_wait("web", reason="test")
    assert state is not None and state.next_poll_at is not None
    delay = (state.next_poll_at - clock.now()).total_seconds()
    assert 90 <= delay <= 110 and delay != 100  # 100 s ± 10%, spread
    assert sources.next_poll("web") == state.next_poll_at
    assert created == [{"artifacts": {"web": f"r.example/shop/web:1.0.0@{D}"}, "alias": None,
                        "labels": {"source": "web"}, "creator": "source/web"}]  # fmt: skip


async def test_the_loop_polls_when_due(db: Database) -> None:
    clock, script, created = ManualClock(), Script(), []
    script.answers = [found("1.0.0"), found("1.0.0"), found("1.1.0")]
    sources = make(db, script, clock, created)
    sources.start()
    try:
        await _until(lambda: script.calls == 1)
        rounds = sources.ticks
        await _until(lambda: sources.ticks >= rounds + 5)
        assert script.calls == 1  # five rounds later: not due yet
        clock.advance(timedelta(seconds=111))
        await _until(lambda: script.calls == 2)
        clock.advance(timedelta(seconds=111))
        await _until(lambda: len(created) == 2)
    finally:
        await sources.stop()
    assert [c["artifacts"]["web"].split("@")[0] for c in created] == [
        "r.example/shop/web:1.0.0", "r.example/shop/web:1.1.0"]  # fmt: skip


async def test_refreshes_during_a_look_are_merged_into_one_more(db: Database) -> None:
    clock, script, created = ManualClock(), Script(), []
    script.answers = [found("1.0.0")]
    script.gate = asyncio.Event()
    sources = make(db, script, clock, created)
    await sources.refresh(["web"], reason="hook")
    await _until(lambda: script.calls == 1)
    for _ in range(100):
        await sources.refresh(["web"], reason="hook")
    script.gate.set()
    await sources.refresh_and_wait("web", reason="hook")
    assert script.calls == 2
    assert len(created) == 1  # the second look found the same: nothing new


async def test_failures_stay_inside_the_source(db: Database) -> None:
    clock, script, created = ManualClock(), Script(), []
    script.answers = [ExternalError("registry.example answered 503", retryable=True)]
    sources = make(db, script, clock, created)
    state = await sources.refresh_and_wait("web", reason="test")
    assert state is not None and not state.healthy
    assert state.reason == "registry.example answered 503"
    script.answers, script.calls = [ZeroDivisionError("bug")], 0
    state = await sources.refresh_and_wait("web", reason="test")
    assert state is not None and state.reason == "internal error: ZeroDivisionError: bug"
    assert created == []
    # It recovers, and the last version found survives a later failure.
    script.answers, script.calls = [found("2.0.0"), ExternalError("down")], 0
    await sources.refresh_and_wait("web", reason="test")
    state = await sources.refresh_and_wait("web", reason="test")
    assert state is not None and not state.healthy and state.version == "2.0.0"
    assert len(created) == 1
    with pytest.raises(Exception, match="not defined"):
        await sources.refresh_and_wait("nope", reason="test")


async def _until(condition: Any, within: float = 10.0) -> None:
    """Poll `condition` with a deadline (the service offers no event to wait on)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_with_several_replicas_one_polls_and_another_takes_over(db: Database) -> None:
    from shiplane.engine.leases import LeaseKeeper

    clock = ManualClock()
    keepers = [LeaseKeeper(db, replica_id=f"r{i}", ttl=1.0) for i in (1, 2)]
    scripts = [Script(), Script()]
    for script in scripts:
        script.answers = [found("1.0.0")]
    services = [make(db, script, clock, []) for script in scripts]
    for keeper, service in zip(keepers, services, strict=True):
        service.leases = keeper
        await keeper.start()
        service.start()
    try:
        await _until(lambda: scripts[0].calls + scripts[1].calls == 1)
        poller = 0 if scripts[0].calls else 1
        other = 1 - poller
        rounds = services[other].ticks
        await _until(lambda: services[other].ticks >= rounds + 5)
        assert scripts[other].calls == 0  # the other replica does not poll
        # The poller goes away (hands its leases back): the other takes over, on the
        # schedule the poller recorded.
        await services[poller].stop()
        await keepers[poller].stop()
        clock.advance(timedelta(seconds=111))
        await _until(lambda: scripts[other].calls == 1)
    finally:
        for keeper, service in zip(keepers, services, strict=True):
            await service.stop()
            await keeper.stop()


async def test_a_verified_digest_is_handed_back_until_the_recheck_or_a_webhook(
    db: Database,
) -> None:
    from dataclasses import replace

    from shiplane.engine.sources.service import DIGEST_RECHECK

    clock, script, created = ManualClock(), Script(), []
    one = found("1.0.0")
    reused = replace(one, verified=False)  # what the plugin answers without a HEAD
    script.answers = [one, reused, reused, one, reused, one, reused]
    sources = make(db, script, clock, created)
    await sources.refresh_and_wait("web", reason="poll")
    assert script.lasts == [None]  # nothing known: the plugin asks the registry
    await sources.refresh_and_wait("web", reason="poll")
    assert script.lasts[-1] == one  # verified by this process, still recorded
    clock.advance(DIGEST_RECHECK - timedelta(seconds=1))
    await sources.refresh_and_wait("web", reason="api:admin")
    assert script.lasts[-1] == one  # a reused digest does not extend the trust
    clock.advance(timedelta(seconds=1))
    await sources.refresh_and_wait("web", reason="poll")
    assert script.lasts[-1] is None  # an hour since the registry said so: asked again
    await sources.refresh_and_wait("web", reason="poll")
    assert script.lasts[-1] == one  # ...and trusted again from then on
    await sources.refresh_and_wait("web", reason="webhook registry (distribution push)")
    assert script.lasts[-1] is None  # a push notification may be a tag pushed again
    assert len(created) == 1  # the same artifact throughout: one release
    # Another replica recorded something else since: not trusted.
    from shiplane.store import sources as source_store

    db.transact(lambda s: source_store.save_state(
        s, "web", kind="image", now=clock.now(), next_poll_at=None, healthy=True, reason=None,
        version="1.0.1", digest=D, artifact=f"r.example/shop/web:1.0.1@{D}"))  # fmt: skip
    await sources.refresh_and_wait("web", reason="poll")
    assert script.lasts[-1] is None


CHART_PROJECT = """
apiVersion: shiplane/v1alpha1
project: shop
clusters: {local: {kubeconfig: ~/.kube/config}}
environments: {dev: {cluster: local, namespace: shop-dev}}
apps:
  web:
    images: [r.example/shop/web]
    chart: {repository: 'https://charts.example', name: web}
    manifests: {path: apps/web, render: helm}
sources:
  chart: {chart: {repository: 'https://charts.example', name: web}, apps: [web]}
"""


async def test_a_chart_version_assembles_with_the_newest_releases_image(db: Database) -> None:
    from shiplane.config.models import ChartSourceConfig
    from shiplane.engine.promotions.releases import record_release

    project = load_project_text(CHART_PROJECT)
    script = Script()
    script.answers = [
        Found(version, "ab" * 32, f"web:{version}") for version in ("0.9.0", "1.0", "1.1.0")
    ]
    plugins: Registry[Discover] = Registry("source")
    plugins.register("chart", schema=ChartSourceConfig)(script)

    async def create(**fields: Any) -> Any:
        return await asyncio.to_thread(
            db.transact, lambda s: record_release(s, project=project, **fields)
        )

    sources = SourceService(db, project, create, clock=ManualClock(), plugins=plugins)
    nothing = await sources.refresh_and_wait("chart", reason="test")
    assert nothing is not None and nothing.assembly is not None
    assert "app web has no artifact" in nothing.assembly  # no image anywhere yet
    await asyncio.to_thread(
        db.transact,
        lambda s: record_release(
            s, artifacts={"web": f"r.example/shop/web:1@{D}"}, alias=None, labels={},
            creator="ci", project=project,
        ),
    )  # fmt: skip
    odd = await sources.refresh_and_wait("chart", reason="test")  # "1.0" is no chart version
    assert odd is not None and odd.assembly is not None
    assert "invalid chart version '1.0@sha256:" in odd.assembly
    made = await sources.refresh_and_wait("chart", reason="test")
    assert made is not None and made.assembly is None and made.last_release is not None
    with db.session(readonly=True) as s:
        from shiplane.store import releases

        release = releases.get_release(s, made.last_release)
    assert release is not None
    assert [a.ref for a in release.artifacts] == [f"r.example/shop/web:1@{D}"]
    assert release.charts == {"web": "1.1.0@sha256:" + "ab" * 32}
