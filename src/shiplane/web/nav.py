"""The navigation: one entry per view. A view that is not built yet has no path and is
shown as such; a new view fills in its path here and adds its route module to
`app.ROUTE_MODULES`."""

from __future__ import annotations

from dataclasses import dataclass

from shiplane.web.paths import UI_PREFIX


@dataclass(frozen=True)
class NavEntry:
    key: str
    label: str
    path: str | None  # None: the view comes later


NAV: tuple[NavEntry, ...] = (
    NavEntry("pipeline", "Pipeline", f"{UI_PREFIX}/"),
    NavEntry("matrix", "Matrix", f"{UI_PREFIX}/matrix"),
    NavEntry("releases", "Releases", f"{UI_PREFIX}/releases"),
    NavEntry("promotions", "Promotions", f"{UI_PREFIX}/promotions"),
    NavEntry("approvals", "Approvals", f"{UI_PREFIX}/approvals"),
    NavEntry("environments", "Environments", f"{UI_PREFIX}/environments"),
    NavEntry("audit", "Audit", f"{UI_PREFIX}/audit"),
    NavEntry("insights", "Insights", f"{UI_PREFIX}/insights"),
)
