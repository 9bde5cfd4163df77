"""The engine's Prometheus metrics: durations observed as work finishes, and a collector
that reads promotion states and queue depth from the database at scrape time (so every
replica reports the same, current numbers without keeping counters in sync)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from shiplane.store import leases as lease_store
from shiplane.store import promotion_leases
from shiplane.store.db import Database
from shiplane.store.models import PromotionRow

BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class EngineMetrics:
    def __init__(self, db: Database, leases: Any = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.deploy_seconds = Histogram(
            "shiplane_deploy_duration_seconds",
            "Deploy and sync runs, from start to outcome, by kind and status.",
            ["kind", "status"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.verify_seconds = Histogram(
            "shiplane_verification_duration_seconds",
            "Verification of promotions (health and checks), by outcome.",
            ["outcome"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.gate_wait_seconds = Histogram(
            "shiplane_gate_wait_seconds",
            "Time promotions spent waiting for their gates before deploying.",
            ["environment"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_PromotionCollector(db))
        self.registry.register(_LeaseCollector(db, leases))


class _PromotionCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_state = GaugeMetricFamily(
            "shiplane_promotions",
            "Promotions by state and environment.",
            labels=["state", "environment"],
        )
        queued = GaugeMetricFamily(
            "shiplane_promotion_queue_depth",
            "Promotions queued (Pending) per environment.",
            labels=["environment"],
        )
        query = select(PromotionRow.state, PromotionRow.environment, func.count()).group_by(
            PromotionRow.state, PromotionRow.environment
        )
        with self.db.session(readonly=True) as s:
            rows = list(s.execute(query))
        for state, environment, count in rows:
            by_state.add_metric([state, environment], count)
            if state == "Pending":
                queued.add_metric([environment], count)
        yield by_state
        yield queued
        yield self._weights()

    def _weights(self) -> GaugeMetricFamily:
        """The weight a progressive strategy gives the new version, per app it moves (only
        while it moves it: the series goes when the strategy ends)."""
        weights = GaugeMetricFamily(
            "shiplane_strategy_weight_percent",
            "Share of the new version (percent) per app a progressive strategy moves.",
            labels=["environment", "app", "strategy"],
        )
        query = select(PromotionRow.environment, PromotionRow.data).where(
            PromotionRow.state == "Deploying"
        )
        with self.db.session(readonly=True) as s:
            rows = list(s.execute(query))
        for environment, data in rows:
            strategy = (data or {}).get("strategy") if isinstance(data, dict) else None
            if not isinstance(strategy, dict) or strategy.get("phase") != "steps":
                continue
            for app, entry in (strategy.get("apps") or {}).items():
                if isinstance(entry, dict) and isinstance(entry.get("weight"), int):
                    weights.add_metric([environment, app, str(entry.get("kind"))], entry["weight"])
        return weights

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


class _LeaseCollector(Collector):
    """Who holds what: live promotion leases and named leases (cluster watches, deploys,
    replica liveness) per replica, read from the database so every replica agrees."""

    def __init__(self, db: Database, keeper: Any) -> None:
        self.db = db
        self.keeper = keeper  # engine.leases.LeaseKeeper (typed loosely: no engine import)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        promotions = GaugeMetricFamily(
            "shiplane_promotion_leases",
            "Promotions being worked on, by the replica holding their lease.",
            labels=["replica"],
        )
        named = GaugeMetricFamily(
            "shiplane_lease_owner",
            "Named leases (watch/<cluster>, deploy/<environment>/<app>, replica/<id>) and the "
            "replica holding each (1 per held lease).",
            labels=["lease", "replica"],
        )
        mine = GaugeMetricFamily(
            "shiplane_replica_leases_held",
            "Leases this replica holds now (promotions and named leases).",
            labels=["replica"],
        )
        with self.db.session(readonly=True) as s:
            by_owner = promotion_leases.promotion_leases_by_owner(s)
            held = lease_store.list_leases(s)
        for owner, count in sorted(by_owner.items()):
            promotions.add_metric([owner], count)
        for lease in held:
            named.add_metric([lease.name, lease.owner or ""], 1)
        if self.keeper is not None:
            info = self.keeper.holding()
            mine.add_metric([info["replica"]], len(info["leases"]))
        yield promotions
        yield named
        yield mine

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())
