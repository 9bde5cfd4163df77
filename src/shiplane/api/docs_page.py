"""The API reference page at /api/v1/docs: built here from the OpenAPI document.

FastAPI's own docs page loads Swagger UI from a CDN, so it is blank offline or behind a
strict proxy, and no locked Python package ships those assets. This page is plain HTML
rendered on the server (no script, no stylesheet from elsewhere): every operation with
its parameters, body and answers, and a link to the OpenAPI JSON for real tooling.
"""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;
color:#1b1f24;line-height:1.4}
h2{border-bottom:1px solid #ccd;margin-top:2rem}
.op{border:1px solid #dde;border-radius:6px;margin:.6rem 0;padding:.4rem .8rem}
.m{display:inline-block;min-width:4.5rem;font-weight:bold;font-family:monospace}
.get{color:#0a6}.post{color:#06c}.put{color:#a60}.delete{color:#c33}.patch{color:#a0a}
code{background:#f3f3f6;padding:0 .2rem;border-radius:3px}
table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid #dde;padding:.15rem .5rem;
text-align:left;vertical-align:top;font-size:.92rem}
summary{cursor:pointer}
"""

_METHODS = ("get", "post", "put", "patch", "delete")


def _schema_text(schema: dict[str, Any] | None) -> str:
    """A short readable type: `string`, `integer`, `Problem`, `one of: a, b`."""
    if not schema:
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "enum" in schema:
        return "one of: " + ", ".join(str(v) for v in schema["enum"])
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            parts = [_schema_text(s) for s in schema[key] if s.get("type") != "null"]
            return " | ".join(p for p in parts if p)
    if schema.get("type") == "array":
        return f"list of {_schema_text(schema.get('items'))}"
    return str(schema.get("type", ""))


def _parameters(operation: dict[str, Any]) -> str:
    params = operation.get("parameters") or []
    if not params:
        return ""
    rows = "".join(
        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            escape(str(p.get("name", ""))),
            escape(str(p.get("in", ""))),
            escape(_schema_text(p.get("schema"))),
            escape(str(p.get("description") or p.get("schema", {}).get("description") or "")),
        )
        for p in params
    )
    return (
        f"<table><tr><th>parameter</th><th>in</th><th>type</th><th>meaning</th></tr>{rows}</table>"
    )


def _body(operation: dict[str, Any]) -> str:
    content = (operation.get("requestBody") or {}).get("content") or {}
    if not content:
        return ""
    media, spec = next(iter(content.items()))
    return f"<p>body: <code>{escape(_schema_text(spec.get('schema')))}</code> ({escape(media)})</p>"


def _responses(operation: dict[str, Any]) -> str:
    parts = []
    for status, response in (operation.get("responses") or {}).items():
        content = response.get("content") or {}
        shape = ""
        if content:
            media, spec = next(iter(content.items()))
            shape = f" <code>{escape(_schema_text(spec.get('schema')))}</code> {escape(media)}"
        parts.append(
            f"<code>{escape(str(status))}</code> {escape(response.get('description', ''))}{shape}"
        )
    return "<p>answers: " + "; ".join(parts) + "</p>" if parts else ""


def render_docs_page(openapi: dict[str, Any], openapi_url: str) -> str:
    """The whole page for `openapi` (a FastAPI OpenAPI document)."""
    info = openapi.get("info", {})
    by_tag: dict[str, list[str]] = {}
    for path, operations in openapi.get("paths", {}).items():
        for method in _METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or ["other"])[0]
            locked = " 🔒" if operation.get("security") else ""
            by_tag.setdefault(tag, []).append(
                '<details class="op"><summary><span class="m {m}">{M}</span> <code>{p}</code>'
                " {s}{lock}</summary>{params}{body}{answers}</details>".format(
                    m=method,
                    M=method.upper(),
                    p=escape(path),
                    s=escape(operation.get("summary", "")),
                    lock=locked,
                    params=_parameters(operation),
                    body=_body(operation),
                    answers=_responses(operation),
                )
            )
    sections = "".join(f"<h2>{escape(tag)}</h2>" + "".join(items) for tag, items in by_tag.items())
    title = escape(f"{info.get('title', 'API')} {info.get('version', '')}".strip())
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{title}</h1><p>{escape(info.get('description', ''))}</p>"
        f'<p>Machine-readable: <a href="{escape(openapi_url)}">{escape(openapi_url)}</a> '
        "(OpenAPI 3). Calls marked 🔒 need <code>Authorization: Bearer &lt;token&gt;</code>; "
        "errors are <code>application/problem+json</code>.</p>"
        f"{sections}</body></html>"
    )
