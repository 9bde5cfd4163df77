"""The Insights page's range and presentation: the query read as the API reads it
(api/routes_insights.py: the same errors), durations and rates in words, and a small
server-side SVG bar chart of where releases wait (no script, no inline style: bars
are coloured by CSS classes, under the page's strict CSP). The numbers are exactly
engine/insights.py's; nothing is computed here but their drawing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from urllib.parse import urlencode

from markupsafe import Markup
from pydantic import TypeAdapter, ValidationError

from shiplane.api.names import check_names
from shiplane.api.problems import ProblemError, validation_detail
from shiplane.config.models import ProjectConfig
from shiplane.domain.errors import ShiplaneError
from shiplane.domain.insights.flow import Flow
from shiplane.web.auth import WebUser

PRESET_DAYS = (7, 30, 90, 365)
_DATETIME = TypeAdapter(datetime)


@dataclass
class InsightsQuery:
    since: datetime | None = None
    until: datetime | None = None
    environment: str | None = None
    app: str | None = None
    raw: dict[str, str] = field(default_factory=dict)

    def link(self, **values: str) -> str:
        kept = {k: v for k, v in self.raw.items() if v and k in ("environment", "app")}
        return urlencode({**kept, **values})


def parse_insights_query(
    params: Mapping[str, str], project: ProjectConfig | None, user: WebUser
) -> tuple[InsightsQuery, dict[str, str]]:
    names = ("since", "until", "environment", "app")
    query = InsightsQuery(raw={n: params.get(n, "").strip() for n in names})
    errors: dict[str, str] = {}
    for name in ("since", "until"):
        text = query.raw[name]
        if text:
            try:
                setattr(query, name, _DATETIME.validate_python(text))
            except ValidationError as exc:
                located = [{**e, "loc": ("query", name)} for e in exc.errors(include_input=False)]
                errors[name] = validation_detail(located)
    for name in ("environment", "app"):
        value = query.raw[name] or None
        try:
            if name == "environment":
                check_names(project, environments=[value], field="query.environment")
                if value is not None:
                    user.principal.require_environments([value])
            else:
                check_names(project, apps=[value], field="query.app")
        except ProblemError as exc:
            errors[name] = exc.detail
            continue
        except ShiplaneError as exc:  # an unknown name: the API's words and hint
            errors[name] = str(exc)
            continue
        setattr(query, name, value)
    return query, errors


def duration(seconds: float | None) -> str:
    """`5h 10m`, `3d 4h`, `42s`; an em dash for no data (null in the API)."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{unit}" for n, unit in parts if n][:2]
    return " ".join(shown) or "0s"


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def raw(value: float | int | None) -> str:
    """The exact number for a `<data value>` (what the API returns), null for none."""
    return "null" if value is None else repr(value)


# The chart: one bar per stage and gate type, the longest total the full width.
_ROW = 22
_LABEL = 130
_BAR = 320
_VALUE = 90


def wait_chart(flow: Flow, title: str, chart_id: str) -> Markup:
    rows: Sequence[tuple[str, float, str]] = [
        *((s.name, s.total_seconds, "chart-bar-stage") for s in flow.stages if s.name != "gates"),
        *((f"gate: {g.name}", g.total_seconds, "chart-bar-gate") for g in flow.gates),
    ]
    longest = max((value for _, value, _ in rows), default=0.0)
    width, height = _LABEL + _BAR + _VALUE, _ROW * len(rows) + 4
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
    ]
    for index, (label, value, css) in enumerate(rows):
        y = index * _ROW + 2
        bar = 0.0 if longest <= 0 else max(value / longest * _BAR, 1.0 if value > 0 else 0.0)
        parts.append(
            f'<text class="chart-label" x="{_LABEL - 6}" y="{y + 15}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="chart-bar {css}" x="{_LABEL}" y="{y + 3}" width="{bar:.1f}" '
            f'height="{_ROW - 6}"></rect>'
            f'<text class="chart-value" x="{_LABEL + bar + 6:.1f}" y="{y + 15}">'
            f"{escape(duration(value))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every piece of text above is escaped
