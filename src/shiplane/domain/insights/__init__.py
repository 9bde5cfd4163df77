"""DORA metrics and flow analytics over recorded promotion histories (docs/insights.md).
Pure, no I/O: the engine (`engine/insights.py`) gathers the records and calls
`compute_insights`."""

from shiplane.domain.insights.dora import Dora, Incident
from shiplane.domain.insights.flow import GATE_PREFIX, STAGES, Flow, StageFlow
from shiplane.domain.insights.history import (
    GateEvaluation,
    Move,
    PromotionHistory,
    Timeline,
    UpstreamRule,
    Verification,
    ready_time,
    with_verifications,
)
from shiplane.domain.insights.report import (
    PRODUCTION,
    AppInsights,
    EnvironmentInfo,
    EnvironmentInsights,
    Insights,
    ProductionInsights,
    compute_insights,
)
from shiplane.domain.insights.stats import Percentiles, percentile

__all__ = [
    "GATE_PREFIX",
    "PRODUCTION",
    "STAGES",
    "AppInsights",
    "Dora",
    "EnvironmentInfo",
    "EnvironmentInsights",
    "Flow",
    "GateEvaluation",
    "Incident",
    "Insights",
    "Move",
    "Percentiles",
    "ProductionInsights",
    "PromotionHistory",
    "StageFlow",
    "Timeline",
    "UpstreamRule",
    "Verification",
    "compute_insights",
    "percentile",
    "ready_time",
    "with_verifications",
]
