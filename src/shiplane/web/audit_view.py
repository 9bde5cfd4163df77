"""The audit page's filters: actor, action, environment, app and a time range, read
from the query string with the API's checks and words (api/routes_audit.py). A bad
value is explained beside its field and left out of the query; the rest still works."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import TypeAdapter, ValidationError

from shiplane.api.names import check_names
from shiplane.api.problems import ProblemError, validation_detail
from shiplane.config.models import ProjectConfig
from shiplane.domain.errors import ShiplaneError
from shiplane.web.auth import WebUser

FIELDS = ("actor", "action", "environment", "app", "since", "until")
MAX_TEXT = 200  # the API's max_length of each filter
PAGE_SIZE = 50
_DATETIME = TypeAdapter(datetime)


@dataclass
class AuditFilters:
    actor: str | None = None
    action: str | None = None
    environment: str | None = None
    app: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    raw: dict[str, str] = field(default_factory=dict)  # as typed, for the form

    def store_filters(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}

    def query(self, **more: str) -> str:
        """The filters as typed (plus `more`), for links: the next page, the export."""
        values = {k: v for k, v in self.raw.items() if v}
        values.update({k: v for k, v in more.items() if v})
        return urlencode(values)


def parse_audit_filters(
    params: Mapping[str, str], project: ProjectConfig | None, user: WebUser
) -> tuple[AuditFilters, dict[str, str]]:
    filters = AuditFilters(raw={name: params.get(name, "").strip() for name in FIELDS})
    errors: dict[str, str] = {}
    for name in ("actor", "action", "environment", "app"):
        value = filters.raw[name] or None
        if value is not None and len(value) > MAX_TEXT:
            errors[name] = f"query.{name}: String should have at most {MAX_TEXT} characters"
            continue
        try:
            if name == "environment":
                check_names(project, environments=[value], field="query.environment")
                if value is not None:
                    user.principal.require_environments([value])
            elif name == "app":
                check_names(project, apps=[value], field="query.app")
        except ProblemError as exc:
            errors[name] = exc.detail
            continue
        except ShiplaneError as exc:  # an unknown name: the API's words and hint
            errors[name] = str(exc)
            continue
        setattr(filters, name, value)
    for name in ("since", "until"):
        text = filters.raw[name]
        if not text:
            continue
        try:
            setattr(filters, name, _DATETIME.validate_python(text))
        except ValidationError as exc:
            located = [{**e, "loc": ("query", name)} for e in exc.errors(include_input=False)]
            errors[name] = validation_detail(located)
    since, until = filters.since, filters.until
    if since is not None and until is not None and _utc(since) > _utc(until):
        errors["since"] = "query.since: must not be later than query.until"
        filters.since = None
    cursor = params.get("cursor", "").strip()
    filters.cursor = cursor[:1024] or None
    return filters, errors


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
