"""The promote drawer's template over a real preview (the engine's dataclasses, as
`preview_promotion` returns them) and the server-drawn check chart."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from shiplane.engine.diffs import AppDiff, ObjectDiff
from shiplane.engine.promotion_preview import PromotionPreview
from shiplane.engine.promotions.preview import ApprovalPreview, GatePreview
from shiplane.gates.results import GateResult, Outcome
from shiplane.store.records import ArtifactRecord, ReleaseRecord
from shiplane.web.chart_svg import Point, numeric_points, render_chart
from shiplane.web.promotion_view import check_view
from shiplane.web.templating import make_web_context

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
RELEASE = ReleaseRecord(
    id="rel-" + "a" * 60,
    alias="v1.4.0",
    artifacts=[
        ArtifactRecord(
            app="checkout",
            image="registry.example/shop/checkout",
            tag="1.4.0",
            digest=None,
            resolved_digest=None,
            ref="registry.example/shop/checkout:1.4.0",
        )
    ],
    labels={},
    creator="ci",
    created_at=NOW,
)


def _gates(refusal: str | None = None) -> GatePreview:
    return GatePreview(
        release=RELEASE,
        environment="prod",
        apps=("checkout",),
        requested_by="alice",
        refusal=refusal,
        decision="wait",
        results=(
            GateResult("approval", Outcome.WAIT, "waiting for 1 approval"),
            GateResult("freeze", Outcome.PASS, "not frozen"),
        ),
        text="Waiting on 1 of 2 gates:\n  - approval: waiting for 1 approval\nPassed: freeze.",
        approval=ApprovalPreview(
            required=1,
            approvers="group release-managers",
            requester_may_approve=False,
            reason="alice requested this promotion and cannot approve it",
        ),
    )


def _render(preview: PromotionPreview | None, errors: dict[str, str] | None = None) -> str:
    env = make_web_context().templates
    return env.get_template("_promote.html").render(
        user=None,
        csrf_token="t0k",
        release="v1.4.0",
        environment="prod",
        reason="",
        errors=errors or {},
        preview=preview,
        recent=[RELEASE],
        environments=["dev", "staging", "prod"],
        promote_path="/ui/promote",
    )


def test_the_drawer_shows_the_diff_the_gates_and_who_must_approve() -> None:
    diff = AppDiff(
        "prod",
        "checkout",
        "abc123",
        [
            ObjectDiff("apps/v1/Deployment/prod/checkout", "update", "-image: a\n+image: b\n"),
            ObjectDiff("v1/Service/prod/checkout", "unchanged"),
        ],
    )
    html = _render(PromotionPreview(_gates(), (diff,)))
    assert "Promote v1.4.0 into prod" in html
    assert "Waiting on 1 of 2 gates:\n  - approval: waiting for 1 approval" in html
    assert "checkout: 1 of 2 objects would change" in html and "+image: b" in html
    assert "Needs 1 approval from group release-managers." in html
    assert "You cannot approve it yourself: alice requested this promotion" in html
    button = re.search(r"<button type=\"submit\"([^>]*)>Confirm promotion", html)
    assert button is not None and "disabled" not in button.group(1)
    assert 'name="csrf_token" value="t0k"' in html


def test_a_refused_request_disables_confirm_with_the_engines_reason() -> None:
    refusal = "token 'vic' has role 'viewer'; this call needs 'promoter' or higher"
    html = _render(PromotionPreview(_gates(refusal), None, diff_error="cluster unreachable"))
    assert "This request would be refused:</strong> token &#39;vic&#39;" in html
    assert '<button type="submit" disabled aria-describedby="confirm-why">' in html
    assert 'id="confirm-why" class="why">Not allowed: token &#39;vic&#39;' in html
    assert "The diff could not be made: cluster unreachable" in html
    assert "Waiting on 1 of 2 gates" in html  # the gates are answered all the same


def test_the_chart_draws_numbers_only_and_describes_itself() -> None:
    points = numeric_points(
        [("09:00", 0.01, "passed"), ("09:01", "n/a", "error"), ("09:02", 0.4, "failed")]
    )
    assert points == [Point("09:00", 0.01, "passed"), Point("09:02", 0.4, "failed")]
    svg = render_chart(points, title="check errors")
    assert svg.startswith('<svg class="chart"') and 'role="img"' in svg
    assert 'aria-label="check errors: 2 measurements from 0.01 to 0.4, last 0.4"' in svg
    assert svg.count("<circle") == 2 and "chart-failed" in svg
    ys = [float(y) for y in re.findall(r'cy="([0-9.]+)"', svg)]
    assert ys[0] > ys[1]  # the larger value is drawn higher
    assert render_chart([], title="x") == ""
    flat = render_chart([Point("a", 1.0, "passed")], title="one")
    assert 'cx="160.0" cy="48.0"' in flat


def test_only_a_metrics_values_get_a_chart() -> None:
    measured = [{"time": NOW.isoformat(), "value": 10, "outcome": "passed", "detail": ""}]
    soak = check_view("settle", {"kind": "soak", "outcome": "passed", "measurements": measured})
    prom = check_view(
        "errors", {"kind": "prometheus", "outcome": "passed", "measurements": measured}
    )
    assert soak.chart == "" and soak.measurements[0].value == "10"
    assert prom.chart.startswith("<svg")
