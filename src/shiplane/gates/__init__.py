"""Shiplane gates layer (see DESIGN.md, Architecture, and docs/gates.md).

Gates are checked before deploying: upstream, soak, approval, window, condition, freeze
(and hold). All are pure; the engine gathers a `GateContext`, calls `evaluate_all` on
`gates_for(project, environment)`, records every result and moves the promotion on when
`overall(results)` is a pass.
"""

from shiplane.domain.expressions import ExpressionError, compile_expression, evaluate_bool
from shiplane.gates import approval, condition, freeze, hold, soak, upstream, window
from shiplane.gates.approval import ApprovalRefusal, check_approver
from shiplane.gates.context import GateContext, ReleaseInfo, TargetEnvironment, UpstreamVerified
from shiplane.gates.evaluate import (
    GATE_ORDER,
    ConfiguredGate,
    configured,
    evaluate_all,
    gates_for,
)
from shiplane.gates.explain import explain
from shiplane.gates.registry import GATES, Gate
from shiplane.gates.results import GateResult, Outcome, next_check, overall

__all__ = [
    "GATES",
    "GATE_ORDER",
    "ApprovalRefusal",
    "ConfiguredGate",
    "ExpressionError",
    "Gate",
    "GateContext",
    "GateResult",
    "Outcome",
    "ReleaseInfo",
    "TargetEnvironment",
    "UpstreamVerified",
    "approval",
    "check_approver",
    "compile_expression",
    "condition",
    "configured",
    "evaluate_all",
    "evaluate_bool",
    "explain",
    "freeze",
    "gates_for",
    "hold",
    "next_check",
    "overall",
    "soak",
    "upstream",
    "window",
]
