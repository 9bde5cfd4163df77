"""Checks: verifications run after a deploy (health, job, http, prometheus, soak).

Each check is a plugin in the `CHECKS` registry with a pydantic config schema. Checks are
resumable: `step(ctx, spec, state)` takes the persisted state and returns the result so
far plus the new state; `run_to_completion` loops over `step` for convenience and tests.
See docs/checks.md.
"""

from shiplane.gates.checks import health, http, job, prometheus, soak  # noqa: F401 (register)
from shiplane.gates.checks.base import (
    CHECKS,
    Check,
    CheckContext,
    CheckResult,
    CheckSetupError,
    CheckSink,
    CheckStateError,
    Clock,
    HealthLike,
    HealthProbe,
    HealthReport,
    ManualClock,
    Measurement,
    MeasurementOutcome,
    NullSink,
    Outcome,
    Progress,
    RecordingSink,
    ReleaseInfo,
    Resolution,
    SystemClock,
)
from shiplane.gates.checks.expressions import ExpressionError
from shiplane.gates.checks.health import HealthCheckConfig
from shiplane.gates.checks.http import HttpCheckConfig
from shiplane.gates.checks.job import JobCheckConfig, job_name
from shiplane.gates.checks.prometheus import PrometheusCheckConfig
from shiplane.gates.checks.runner import (
    CheckSpec,
    resolve_inconclusive,
    result_of,
    run_to_completion,
    step,
)
from shiplane.gates.checks.soak import SoakCheckConfig

__all__ = [
    "CHECKS",
    "Check",
    "CheckContext",
    "CheckResult",
    "CheckSetupError",
    "CheckSink",
    "CheckSpec",
    "CheckStateError",
    "Clock",
    "ExpressionError",
    "HealthCheckConfig",
    "HealthLike",
    "HealthProbe",
    "HealthReport",
    "HttpCheckConfig",
    "JobCheckConfig",
    "ManualClock",
    "Measurement",
    "MeasurementOutcome",
    "NullSink",
    "Outcome",
    "Progress",
    "PrometheusCheckConfig",
    "RecordingSink",
    "ReleaseInfo",
    "Resolution",
    "SoakCheckConfig",
    "SystemClock",
    "job_name",
    "resolve_inconclusive",
    "result_of",
    "run_to_completion",
    "step",
]
