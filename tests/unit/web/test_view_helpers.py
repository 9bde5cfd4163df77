"""The pure helpers of the Environments and Insights views: windows now (open, next
opening and closing in the window's zone), durations and rates in words, and the SVG
wait chart (escaped, no inline style, bars scaled to the longest)."""

from __future__ import annotations

from datetime import UTC, datetime

from shiplane.domain.insights.flow import Flow, StageFlow
from shiplane.kube.masking import is_sensitive_text
from shiplane.web.environments_view import windows_now
from shiplane.web.insights_view import duration, rate, raw, wait_chart
from tests.unit.api.apphelpers import project

WINDOWS = """\
windows:
  business-hours:
    allow: [{days: [Mon, Tue, Wed, Thu, Fri], from: "09:00", to: "17:00"}]
    timezone: Europe/Berlin
"""


def _project():  # type: ignore[no-untyped-def]
    config = project(WINDOWS)
    prod = config.environments["prod"].model_copy(update={"windows": ("business-hours",)})
    return config.model_copy(update={"environments": {**config.environments, "prod": prod}})


def test_windows_now_tells_the_next_opening_and_closing() -> None:
    config = _project()
    sunday = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    monday = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)  # 10:30 in Berlin
    closed = windows_now(config, "prod", sunday)
    opened = windows_now(config, "prod", monday)
    assert windows_now(config, "dev", sunday) is None
    assert closed is not None and not closed.open
    assert closed.next_opening == "Mon 2026-12-07 09:00 CET" and closed.next_closing is None
    assert closed.windows[0].allow == "Mon-Fri 09:00-17:00 Europe/Berlin"
    assert opened is not None and opened.open
    assert opened.next_closing == "Mon 2026-12-07 17:00 CET" and opened.next_opening is None


def test_durations_rates_and_raw_values() -> None:
    assert duration(None) == "—" and duration(0) == "0s" and duration(42.4) == "42s"
    assert duration(5 * 3600 + 600) == "5h 10m" and duration(3 * 86400 + 4 * 3600 + 5) == "3d 4h"
    assert rate(None) == "—" and rate(0.5) == "50%"
    assert raw(None) == "null" and raw(18600.0) == "18600.0" and raw(3) == "3"


def test_the_wait_chart_scales_bars_and_escapes_names() -> None:
    flow = Flow(
        stages=(
            StageFlow("ready", 100.0, 1, 100.0, 100.0, 0),
            StageFlow("gates", 400.0, 1, 400.0, 400.0, 0),
            StageFlow("deploying", 50.0, 1, 50.0, 50.0, 0),
        ),
        gates=(StageFlow("<approval>", 400.0, 1, 400.0, 400.0, 0),),
        bottleneck="gate:<approval>",
    )
    svg = str(wait_chart(flow, "Waits & co", "chart-x"))
    assert svg.startswith('<svg class="chart" id="chart-x" role="img"')
    assert '<title id="chart-x-title">Waits &amp; co</title>' in svg
    assert "gate: &lt;approval&gt;" in svg and "<approval>" not in svg
    assert "style=" not in svg and ">gates<" not in svg  # the stage is drawn by its gates
    assert 'width="320.0"' in svg and 'width="80.0"' in svg and 'width="40.0"' in svg


def test_rendered_paths_that_hold_secrets_are_recognised() -> None:
    assert is_sensitive_text("Secret", "data.password")
    assert is_sensitive_text("Deployment", "spec.containers[name=app].env[name=API_TOKEN].value")
    assert not is_sensitive_text("Deployment", "spec.replicas")
    assert not is_sensitive_text(
        "Deployment", "spec.containers[name=app].env[name=DB].valueFrom.secretKeyRef.name"
    )
