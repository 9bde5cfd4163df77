"""The matrix page: apps x environments from the store's matrix read model, filtered and
paged on the server. One query for the cells, one for open promotions, one for holds,
whatever the page; only the page's rows are rendered."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.domain.health import HealthStatus, SyncStatus
from shiplane.store import matrix, promotion_controls, promotions, releases
from shiplane.web.strategy_view import strategy_notes

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
FAILING = frozenset({HealthStatus.DEGRADED.value, HealthStatus.MISSING.value})


@dataclass(frozen=True)
class MatrixFilters:
    app: str = ""  # a substring of the app's name
    environment: str = ""  # one environment's column only
    out_of_sync: bool = False  # apps with a cell that is not Synced
    failing: bool = False  # apps with a cell that is Degraded or Missing
    page: int = 1
    size: int = DEFAULT_PAGE_SIZE

    def query(self, **changes: Any) -> str:
        """The query string of these filters with `changes` (for paging links)."""
        values = replace(self, **changes)
        params: dict[str, str] = {}
        if values.app:
            params["app"] = values.app
        if values.environment:
            params["environment"] = values.environment
        if values.out_of_sync:
            params["out_of_sync"] = "1"
        if values.failing:
            params["failing"] = "1"
        if values.page != 1:
            params["page"] = str(values.page)
        if values.size != DEFAULT_PAGE_SIZE:
            params["size"] = str(values.size)
        return urlencode(params)


def _whole(text: str, field_name: str, errors: dict[str, str], *, minimum: int) -> int | None:
    try:
        value = int(text)
    except ValueError:
        errors[field_name] = f"{text[:40]!r} is not a whole number"
        return None
    if value < minimum:
        errors[field_name] = f"must be {minimum} or more"
        return None
    return value


def parse_filters(
    params: Mapping[str, str], project: ProjectConfig | None
) -> tuple[MatrixFilters, dict[str, str]]:
    """The filters of a query string and, by field, what is wrong with it (a wrong field
    falls back to its default and the page says why beside it)."""
    errors: dict[str, str] = {}
    app = params.get("app", "").strip()[:100]
    environment = params.get("environment", "").strip()
    if environment and (project is None or environment not in project.environments):
        known = ", ".join(project.environment_order()) if project is not None else "none"
        errors["environment"] = f"unknown environment {environment[:63]!r} (known: {known})"
        environment = ""
    page = _whole(params.get("page", "") or "1", "page", errors, minimum=1) or 1
    size_text = params.get("size", "") or str(DEFAULT_PAGE_SIZE)
    size = _whole(size_text, "size", errors, minimum=1) or DEFAULT_PAGE_SIZE
    if size not in PAGE_SIZES and "size" not in errors:
        errors["size"] = f"choose one of {', '.join(map(str, PAGE_SIZES))}"
        size = DEFAULT_PAGE_SIZE
    flags = {"1", "true", "on", "yes"}
    filters = MatrixFilters(
        app=app,
        environment=environment,
        out_of_sync=params.get("out_of_sync", "").lower() in flags,
        failing=params.get("failing", "").lower() in flags,
        page=page,
        size=size,
    )
    return filters, errors


@dataclass
class MatrixRow:
    app: str
    cells: list[dict[str, Any]]


@dataclass
class MatrixPage:
    project: str | None
    environments: list[str]
    rows: list[MatrixRow]
    filters: MatrixFilters
    total: int  # apps that pass the filters
    pages: int
    errors: dict[str, str] = field(default_factory=dict)


def _out_of_sync(cell: Mapping[str, Any]) -> bool:
    return cell["sync_status"] is not None and cell["sync_status"] != SyncStatus.SYNCED.value


def matrix_page(
    session: Session,
    project: ProjectConfig | None,
    filters: MatrixFilters,
    errors: dict[str, str] | None = None,
) -> MatrixPage:
    if project is None:
        return MatrixPage(None, [], [], filters, 0, 1, dict(errors or {}))
    environments = [filters.environment] if filters.environment else project.environment_order()
    needle = filters.app.lower()
    apps = [a for a in project.apps if needle in a.lower()]
    by_status = filters.out_of_sync or filters.failing
    # Without status filters only the page's apps are read; with them every candidate
    # (still one query: the matrix model reads by environment).
    candidates = apps if by_status else _page_of(apps, filters)
    cells = matrix.get_matrix_rows(session, apps=candidates, environments=environments)
    width = len(environments)
    rows = [MatrixRow(app, cells[i * width : (i + 1) * width]) for i, app in enumerate(candidates)]
    if filters.out_of_sync:
        rows = [r for r in rows if any(_out_of_sync(c) for c in r.cells)]
    if filters.failing:
        rows = [r for r in rows if any(c["health"] in FAILING for c in r.cells)]
    total = len(rows) if by_status else len(apps)
    if by_status:
        rows = _page_of(rows, filters)
    _mark(session, rows, set(environments))
    pages = max(1, -(-total // filters.size))
    return MatrixPage(
        project.project, environments, rows, filters, total, pages, dict(errors or {})
    )


T = TypeVar("T")


def _page_of(items: list[T], filters: MatrixFilters) -> list[T]:
    start = (filters.page - 1) * filters.size
    return items[start : start + filters.size]


def _mark(session: Session, rows: list[MatrixRow], environments: set[str]) -> None:
    """Pending promotions (with their releases' aliases) and holds onto the cells of the
    page (one query each)."""
    on_page = {(c["environment"], r.app): c for r in rows for c in r.cells}
    for cell in on_page.values():
        cell["pending"] = []
        cell["held"] = None
    if not on_page:
        return
    shown = [
        p
        for p in promotions.open_promotions(session)
        if p.environment in environments and any((p.environment, a) in on_page for a in p.apps)
    ]
    names = releases.aliases(session, (p.release_id for p in shown))
    for promotion in shown:
        label = names.get(promotion.release_id) or promotion.release_id
        notes = strategy_notes(promotion)  # `canary 25%`, as `shiplane status`
        for app in promotion.apps:
            target = on_page.get((promotion.environment, app))
            if target is not None:
                target["pending"].append(
                    {"promotion": promotion, "release": label, "strategy": notes.get(app, "")}
                )
    for hold in promotion_controls.list_holds(session):
        held = on_page.get((hold.environment, hold.app))
        if held is not None:
            held["held"] = hold
