"""Checks: verifications run after a deploy (health, job, http, prometheus, soak).

Each check is a plugin in the `CHECKS` registry with a pydantic config schema. Checks are
resumable: `step(ctx, spec, state)` takes the persisted state and returns the result so
far plus the new state; `run_to_completion` loops over `step` for convenience and tests.
See docs/checks.md.
"""

from shiplane.config.models import (
    HealthCheckConfig,
    HttpCheckConfig,
    JobCheckConfig,
    PrometheusCheckConfig,
    SoakCheckConfig,
)
from shiplane.domain.clock import Clock, ManualClock, SystemClock
from shiplane.domain.expressions import ExpressionError
from shiplane.domain.releases import ReleaseInfo
from shiplane.gates.checks import health, http, job, prometheus, soak  # noqa: F401 (register)
from shiplane.gates.checks.base import (
    CHECKS,
    Check,
    CheckContext,
    CheckResult,
    CheckSetupError,
    CheckSink,
    CheckStateError,
    HealthLike,
    HealthProbe,
    HealthReport,
    Measurement,
    MeasurementOutcome,
    NullSink,
    Outcome,
    Progress,
    RecordingSink,
    Resolution,
)
from shiplane.gates.checks.job import job_name
from shiplane.gates.checks.runner import (
    CheckSpec,
    resolve_inconclusive,
    result_of,
    run_to_completion,
    step,
)

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
