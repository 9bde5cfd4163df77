"""An in-memory outside world for the promotion state handlers: a deployer and a verifier
that do what the test scripts, on a throwaway SQLite database. No cluster, no git."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.domain.clock import ManualClock
from shiplane.engine.deploy import DeployError, DeployOutcome
from shiplane.engine.leases import Fence, LeaseKeeper
from shiplane.engine.project_source import ProjectSource
from shiplane.engine.promotions.loop import reconcile
from shiplane.engine.promotions.model import Actor
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.verification import VerifyRound
from shiplane.store import audit, deploys, releases
from shiplane.store import promotions as store
from shiplane.store.db import Database
from shiplane.store.promotions import PromotionRecord, StepRecord
from shiplane.store.records import ReleaseRecord

T = TypeVar("T")
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday, noon
ALICE = Actor("alice", ("release-managers",))
BOB = Actor("bob", ("release-managers",))


def project(environments: dict[str, Any], **extra: Any) -> ProjectConfig:
    envs = {
        name: {"cluster": "c", "namespace": f"ns-{name}", **spec}
        for name, spec in environments.items()
    }
    return ProjectConfig.model_validate(
        {
            "apiVersion": "shiplane/v1alpha1",
            "project": "shop",
            "clusters": {"c": {"kubeconfig": "k"}},
            "environments": envs,
            "apps": {
                "web": {"images": ["r.example/web"], "manifests": {"path": "a/web"}},
                "api": {
                    "images": ["r.example/api"],
                    "manifests": {"path": "a/api"},
                    "dependsOn": ["web"],
                },
            },
            **extra,
        }
    )


PIPELINE = {
    "dev": {"autoPromote": True},
    "staging": {"after": ["dev"], "autoPromote": True, "rollback": {"onFailure": "auto"}},
    "prod": {"after": ["staging"], "approvals": {"required": 1, "groups": ["release-managers"]}},
}


@dataclass
class FakeDeployer:
    """Records each deploy; fails the next ones when `failures` says so."""

    db: Database
    calls: list[dict[str, Any]] = field(default_factory=list)
    failures: list[DeployError] = field(default_factory=list)

    def prepare(self) -> None:
        pass

    async def deploy(
        self,
        release: ReleaseRecord,
        environment: str,
        *,
        actor: str,
        apps: Sequence[str] | None = None,
        promotion_id: str | None = None,
        kind: Any = "deploy",
        wait: bool = True,
        fence: Fence | None = None,
        to_cluster: bool = True,
        inspect: Any = None,
        propose: str | None = None,
        merged: str | None = None,
    ) -> DeployOutcome:
        self.calls.append(
            {"release": release.id, "environment": environment, "kind": kind, "apps": apps}
        )
        if self.failures:
            raise self.failures.pop(0)
        commit = f"{len(self.calls):040x}"
        for app in apps or release.apps:  # what the matrix shows, as the real one records
            self.db.transact(
                lambda s, app=app: deploys.update_deployment(
                    s, environment=environment, app=app, release_id=release.id, git_commit=commit
                )
            )
        return DeployOutcome("grp", environment, kind, release.id, git_commit=commit)


@dataclass
class FakeVerifier:
    """Answers each verification round with the next scripted outcome (default: passed)."""

    script: list[str] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, **kwargs: Any) -> VerifyRound:
        self.rounds.append(kwargs)
        outcome = self.script.pop(0) if self.script else "passed"
        state = {**kwargs["state"], "started_at": T0.isoformat()}
        if outcome == "passed":
            return VerifyRound(
                "passed", "healthy and every check passed", None, {**state, "healthy": True}
            )
        if outcome == "failed":
            return VerifyRound("failed", "health Degraded: web crashes", None, state)
        return VerifyRound("running", "waiting for health", None, state)


class FakeClusters:
    def for_environment(self, environment: str) -> Any:
        return object()

    async def close(self) -> None:
        return None


@dataclass
class World:
    rt: Runtime
    clock: ManualClock
    deployer: FakeDeployer
    verifier: FakeVerifier

    def write(self, fn: Callable[[Session], T]) -> T:
        return self.rt.db.transact(fn)

    def read(self, fn: Callable[[Session], T]) -> T:
        with self.rt.db.session(readonly=True) as s:
            return fn(s)

    def release(self, web: str = "1.0", **more: str) -> ReleaseRecord:
        artifacts = {
            "web": f"r.example/web:{web}",
            **{a: f"r.example/{a}:{v}" for a, v in more.items()},
        }
        self.clock.advance(timedelta(seconds=1))  # releases sort by creation time
        record, _ = self.write(
            lambda s: releases.create_release(
                s, artifacts=artifacts, alias=None, labels={}, creator="ci", now=self.clock.now
            )
        )
        return record

    def reconcile(self, promotion_id: str) -> PromotionRecord:
        asyncio.run(reconcile(self.rt, promotion_id))
        return self.get(promotion_id)

    def get(self, promotion_id: str) -> PromotionRecord:
        record = self.read(lambda s: store.get_promotion(s, promotion_id))
        assert record is not None
        return record

    def promotions(self, environment: str) -> list[PromotionRecord]:
        return list(self.read(lambda s: store.list_promotions(s, environment=environment).items))

    def steps(self, promotion_id: str) -> list[StepRecord]:
        return self.read(lambda s: store.list_steps(s, promotion_id))

    def actions(self) -> list[str]:
        events = self.read(lambda s: audit.list_events(s, limit=500).items)
        return [e.action for e in sorted(events, key=lambda e: e.seq)]


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[Callable[..., World]]:
    databases: list[Database] = []

    def make(environments: dict[str, Any] | None = None, **extra: Any) -> World:
        db = Database.from_url(f"sqlite:///{tmp_path / f'db{len(databases)}.sqlite'}")
        db.migrate()
        databases.append(db)
        clock = ManualClock(T0)
        deployer, verifier = FakeDeployer(db), FakeVerifier()
        rt = Runtime(
            db=db,
            source=ProjectSource(project(environments or PIPELINE, **extra)),
            deployer=deployer,
            clusters=FakeClusters(),
            clock=clock,
            leases=LeaseKeeper(db, single_process=True),
            verify_round=verifier,
        )
        return World(rt, clock, deployer, verifier)

    yield make
    for db in databases:
        db.close()


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world()
