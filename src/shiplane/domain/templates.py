"""`{{name}}` placeholders in check queries, URLs, headers and Job fields.

Not CEL: a placeholder is replaced by text before the query or request is made (a
PromQL query is no CEL expression). The names are fixed (`PLACEHOLDERS`), so a typo is
caught when the config is read, not when the check runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from shiplane.domain.errors import InvalidError

PLACEHOLDERS = ("environment", "namespace", "app", "release", "release_alias", "image")
"""What `{{...}}` may name; the checks' context fills each (`CheckContext.template_values`)."""

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class TemplateError(InvalidError):
    """A placeholder that names nothing known."""


def render_template(text: str, values: Mapping[str, str]) -> str:
    """Replace `{{name}}` by `values[name]`; TemplateError names an unknown placeholder."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            known = ", ".join("{{" + k + "}}" for k in values)
            raise TemplateError(f"unknown placeholder {{{{{key}}}}} (known: {known})")
        return values[key]

    return _PLACEHOLDER.sub(replace, text)


def check_template(text: str) -> str:
    """Pydantic validator: every placeholder is one of PLACEHOLDERS."""
    render_template(text, {name: name for name in PLACEHOLDERS})
    return text
