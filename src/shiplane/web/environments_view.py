"""What the Environments pages show: per environment its freezes (its own and the
project's), holds, deployment windows with the next opening or closing, and drift per
app (sync status and the out-of-sync fields the drift watcher recorded, secret values
masked). Read from the store and the project in force; the calendar math is the window
gate's (gates/window.py, domain/windows.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.domain.promotion_controls import Freeze, Hold
from shiplane.domain.windows import format_local, next_closing, next_opening, status
from shiplane.gates.window import calendar
from shiplane.kube.masking import MASK, is_sensitive_text
from shiplane.store import matrix, promotion_controls

SYNCED = "Synced"


@dataclass(frozen=True)
class WindowView:
    name: str
    allow: str | None
    deny: str | None
    timezone: str


@dataclass(frozen=True)
class WindowsNow:
    """The environment's windows together: open now, and when that changes."""

    windows: tuple[WindowView, ...]
    open: bool
    next_opening: str | None  # in the zone people think in (an allow window's)
    next_closing: str | None


@dataclass(frozen=True)
class DriftField:
    object: str
    path: str
    desired: str
    live: str
    managers: tuple[str, ...]


@dataclass
class AppDrift:
    app: str
    release: str | None
    sync_status: str | None
    health: str | None
    fields: list[DriftField] = field(default_factory=list)


@dataclass
class EnvironmentSummary:
    name: str
    tier: str
    cluster: str
    namespace: str
    upstream: tuple[str, ...]
    freezes: list[Freeze]
    holds: list[Hold]
    windows: WindowsNow | None
    app_count: int = 0
    out_of_sync: int = 0
    drift: list[AppDrift] = field(default_factory=list)  # apps not Synced (detail page)


def windows_now(project: ProjectConfig, environment: str, now: datetime) -> WindowsNow | None:
    """The window gate's view of an environment at `now` (None: it lists no windows)."""
    names = project.environments[environment].windows
    if not names:
        return None
    calendars = [calendar(n, project.windows[n]) for n in names]
    verdict = status(calendars, now)
    allowing = [c for c in calendars if c.allow]
    zone = (allowing or calendars)[0].timezone
    opening = None if verdict.open else next_opening(calendars, now)
    closing = next_closing(calendars, now) if verdict.open else None
    return WindowsNow(
        windows=tuple(
            WindowView(
                c.name,
                c.describe(c.allow) if c.allow else None,
                c.describe(c.deny) if c.deny else None,
                c.timezone,
            )
            for c in calendars
        ),
        open=verdict.open,
        next_opening=format_local(opening, zone) if opening is not None else None,
        next_closing=format_local(closing, zone) if closing is not None else None,
    )


def environment_summaries(
    session: Session,
    project: ProjectConfig,
    now: datetime,
    *,
    only: str | None = None,
) -> list[EnvironmentSummary]:
    """Every environment in graph order (or `only`), with drift details for `only`."""
    names = [only] if only is not None else list(project.environment_order())
    freezes = promotion_controls.list_freezes(session)
    holds = promotion_controls.list_holds(session)
    apps = list(project.apps)
    cells = matrix.get_matrix_rows(session, apps=apps, environments=names)
    summaries = []
    for name in names:
        env = project.environments[name]
        summary = EnvironmentSummary(
            name=name,
            tier=env.tier,
            cluster=env.cluster,
            namespace=env.namespace,
            upstream=project.upstream(name),
            freezes=[f for f in freezes if f.environment in (None, name)],
            holds=[h for h in holds if h.environment == name],
            windows=windows_now(project, name, now),
        )
        for cell in cells:
            if cell["environment"] != name:
                continue
            summary.app_count += 1
            if cell["sync_status"] is not None and cell["sync_status"] != SYNCED:
                summary.out_of_sync += 1
                if only is not None:
                    summary.drift.append(_drift(cell))
        summaries.append(summary)
    return summaries


def _drift(cell: dict[str, Any]) -> AppDrift:
    detail = cell.get("sync_detail") or []
    return AppDrift(
        app=cell["app"],
        release=cell.get("release_alias") or cell.get("release_id"),
        sync_status=cell["sync_status"],
        health=cell["health"],
        fields=[_field(d) for d in detail if isinstance(d, dict)],
    )


def _field(diff: dict[str, Any]) -> DriftField:
    """One drifted field as the API's drift detail has it. Values are masked when the
    watcher wrote them; masked again here by kind and path, so a secret never reaches a
    page even from a record written before masking."""
    ref = diff.get("ref") or {}
    kind = str(ref.get("kind") or "") if isinstance(ref, dict) else ""
    path = str(diff.get("path", ""))
    secret = is_sensitive_text(kind, path)
    return DriftField(
        object=str(diff.get("object") or _ref_text(ref)),
        path=path,
        desired=_shown(diff.get("desired"), secret),
        live=_shown(diff.get("live"), secret),
        managers=tuple(str(m) for m in diff.get("managers") or ()),
    )


def _ref_text(ref: Any) -> str:
    if not isinstance(ref, dict):
        return ""
    return "/".join(str(ref[k]) for k in ("kind", "namespace", "name") if ref.get(k))


def _shown(value: Any, secret: bool) -> str:
    if value is None:
        return "(absent)"
    if secret and not (isinstance(value, str) and value.startswith(MASK)):
        return MASK
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)
