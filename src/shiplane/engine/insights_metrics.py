"""DORA and flow figures on `/metrics`: gauges over a rolling window, read from the
database (the same `engine.insights.insights` the API serves), so they are right after
a restart and the same on every replica.

A scrape computes the report at most once per `ttl` seconds (scrapers and several
Prometheus servers share the cached one); the window ends at the time of computing.
Labels: `environment`, `tier`, and `app` (`""` for the environment as a whole: a release
train counts once there). Percentiles and rates without data are left out, not 0.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import structlog
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shiplane.config.models import ProjectConfig
from shiplane.domain.clock import Clock, SystemClock
from shiplane.domain.insights import Dora, Flow, Insights
from shiplane.engine.insights import insights
from shiplane.store.db import Database

log = structlog.get_logger(__name__)
WINDOW = timedelta(days=30)
TTL_SECONDS = 60.0


class InsightsCollector(Collector):
    def __init__(
        self,
        db: Database,
        project: Callable[[], ProjectConfig | None],
        *,
        clock: Clock | None = None,
        window: timedelta = WINDOW,
        ttl: float = TTL_SECONDS,
    ) -> None:
        self.db = db
        self.project = project
        self.clock = clock or SystemClock()
        self.window = window
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, Insights] | None = None

    def report(self) -> Insights:
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self.ttl:
                return self._cached[1]
            now = self.clock.now()
            result = insights(self.db, self.project(), since=now - self.window, until=now)
            self._cached = (time.monotonic(), result)
            return result

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            report = self.report()
        except Exception as exc:  # a scrape must not fail for the figures (the database)
            log.warning("insights.metrics_failed", error=type(exc).__name__)
            return
        families = _Families()
        families.window.add_metric([], self.window.total_seconds())
        for env in report.environments:
            tier = env.tier or ""
            families.add_dora([env.environment, tier, ""], env.dora)
            families.add_flow([env.environment, tier], env.flow)
            for app in env.apps:
                families.add_dora([env.environment, tier, app.app], app.dora)
        yield from families.all()

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


_DORA = ["environment", "tier", "app"]


class _Families:
    def __init__(self) -> None:
        g = GaugeMetricFamily
        self.window = g(
            "shiplane_insights_window_seconds", "The rolling window of the DORA and flow gauges."
        )
        self.deployments = g(
            "shiplane_dora_deployments",
            "Normal promotions verified in the window (deployments).",
            labels=_DORA,
        )
        self.per_day = g(
            "shiplane_dora_deployment_frequency_per_day",
            "Deployments per day over the window.",
            labels=_DORA,
        )
        self.lead = g(
            "shiplane_dora_lead_time_seconds",
            "Lead time for changes (release created -> verified here), p50 and p90.",
            labels=[*_DORA, "quantile"],
        )
        self.cfr = g(
            "shiplane_dora_change_failure_rate",
            "Promotions that failed after deploying or were rolled back, over those deployed.",
            labels=_DORA,
        )
        self.ttr = g(
            "shiplane_dora_time_to_restore_seconds",
            "Time to restore (failure -> next verified promotion), p50 and p90.",
            labels=[*_DORA, "quantile"],
        )
        self.unrestored = g(
            "shiplane_dora_unrestored_failures",
            "Failures in the window not restored yet.",
            labels=_DORA,
        )
        self.stage = g(
            "shiplane_flow_stage_seconds",
            "Time promotions spent in each stage within the window "
            "(ready, queued, gates, deploying, verifying).",
            labels=["environment", "tier", "stage"],
        )
        self.gate = g(
            "shiplane_flow_gate_wait_seconds",
            "Time promotions waited behind each gate type within the window.",
            labels=["environment", "tier", "gate"],
        )

    def add_dora(self, labels: list[str], d: Dora) -> None:
        self.deployments.add_metric(labels, d.deployments)
        self.per_day.add_metric(labels, d.deployments_per_day)
        if d.change_failure_rate is not None:
            self.cfr.add_metric(labels, d.change_failure_rate)
        self.unrestored.add_metric(labels, d.unrestored)
        for family, stats in ((self.lead, d.lead_time), (self.ttr, d.time_to_restore)):
            for quantile, value in (("0.5", stats.p50_seconds), ("0.9", stats.p90_seconds)):
                if value is not None:
                    family.add_metric([*labels, quantile], value)

    def add_flow(self, labels: list[str], flow: Flow) -> None:
        for stage in flow.stages:
            self.stage.add_metric([*labels, stage.name], stage.total_seconds)
        for gate in flow.gates:
            self.gate.add_metric([*labels, gate.name], gate.total_seconds)

    def all(self) -> Iterator[GaugeMetricFamily]:
        yield self.window
        yield self.deployments
        yield self.per_day
        yield self.lead
        yield self.cfr
        yield self.ttr
        yield self.unrestored
        yield self.stage
        yield self.gate
