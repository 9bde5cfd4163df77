"""The engine's Prometheus metrics: durations observed as work finishes, and a collector
that reads promotion states and queue depth from the database at scrape time (so every
replica reports the same, current numbers without keeping counters in sync)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from shiplane.store.db import Database
from shiplane.store.models import PromotionRow

BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class EngineMetrics:
    def __init__(self, db: Database) -> None:
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

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())
