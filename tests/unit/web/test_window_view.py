"""What the pipeline says about an environment's deployment windows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from shiplane.config import load_project_text
from shiplane.web.window_view import window_state
from tests.support.api_project import PROJECT_YAML
from tests.unit.web.uihelpers import ui_app

WINDOWED = PROJECT_YAML.replace(
    "  prod: {cluster: local, namespace: prod, after: [staging]}",
    "  prod: {cluster: local, namespace: prod, after: [staging], windows: [business-hours]}",
) + (
    "windows:\n"
    "  business-hours: {allow: {days: Mon-Fri, from: '09:00', to: '17:00'},"
    " timezone: Europe/Berlin}\n"
)


def test_a_closed_window_says_why_and_when_it_opens() -> None:
    project = load_project_text(WINDOWED)
    saturday = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    state = window_state(project, "prod", saturday)
    assert state is not None and not state.open
    assert state.text == "closed (outside business-hours); opens Mon 2026-12-07 09:00 CET"


def test_an_open_window_says_when_it_closes_and_no_windows_says_nothing() -> None:
    project = load_project_text(WINDOWED)
    monday = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # 11:00 in Berlin
    state = window_state(project, "prod", monday)
    assert state is not None and state.open
    assert state.text == "open; closes Mon 2026-12-07 17:00 CET"
    assert window_state(project, "dev", monday) is None


def test_the_pipeline_node_shows_its_window(tmp_path: Path) -> None:
    with ui_app(tmp_path, load_project_text(WINDOWED)) as ui:
        ui.sign_in(ui.token())
        node = ui.client.get("/ui/pipeline/environments/prod")
        dev = ui.client.get("/ui/pipeline/environments/dev")
    assert node.status_code == 200 and "<strong>Window</strong>" in node.text
    assert "opens Mon" in node.text or "closes " in node.text
    assert "<strong>Window</strong>" not in dev.text
