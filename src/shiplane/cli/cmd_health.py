"""`shiplane health`: the health of live apps (from the server) or of objects in a file.

`shiplane health -f FILE` is offline: it reads Kubernetes objects as YAML (several
documents, or a `kind: List` such as `kubectl get -o yaml` prints) and applies the same
rules the engine uses (kstatus / Argo CD, `kube/health.py`). It needs no server and no
cluster, so it answers "why would Shiplane call this Degraded?" for a saved object.
Exit code 0 when everything is Healthy, 1 otherwise, 2 for a file that cannot be read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shiplane.cli.output import (
    EXIT_FAILURE,
    OutputFormat,
    emit,
    emit_rows,
    no_headers_option,
    output_option,
    reporting_failures,
    text,
    usage_error,
)


def objects_in(data: bytes, filename: str) -> list[dict[str, Any]]:
    """The Kubernetes objects of a YAML file (documents, and the items of a `List`)."""
    import yaml

    from shiplane.config.textfile import decode_text

    text_, problems = decode_text(data, filename)
    if text_ is None:
        first = problems[0]
        raise usage_error(f"{filename}:{first.line}:{first.column}: {first.message}", "-f")
    try:
        documents = list(yaml.safe_load_all(text_))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise usage_error(f"{where}: {problem}", "-f") from None
    found: list[dict[str, Any]] = []
    for number, doc in enumerate(documents, start=1):
        if doc is None:
            continue
        if not isinstance(doc, dict) or "kind" not in doc:
            raise usage_error(f"{filename}: document {number} is not a Kubernetes object", "-f")
        if str(doc["kind"]).endswith("List") and isinstance(doc.get("items"), list):
            found += [item for item in doc["items"] if isinstance(item, dict)]
        else:
            found.append(doc)
    if not found:
        raise usage_error(f"{filename}: no Kubernetes objects in it", "-f")
    return found


def assess_objects(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The aggregate health of `objects` and each object's, as the API would show them."""
    from shiplane.kube.health import aggregate, assess
    from shiplane.kube.refs import ObjRef

    app = aggregate([(ObjRef.of(obj), assess(obj)) for obj in objects])
    return app.to_json()


def _resource_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for item in report["resources"]:
        ref = item["ref"]
        rows.append(
            {
                "kind": ref.get("kind"),
                "name": ref.get("name"),
                "namespace": ref.get("namespace") or "-",
                "health": item.get("status"),
                "reason": item.get("reason") or "-",
                "message": item.get("message") or "-",
            }
        )
    return rows


RESOURCE_COLUMNS = [
    text("kind", "KIND"),
    text("name", "NAME"),
    text("namespace", "NAMESPACE", wide=True),
    text("health", "HEALTH"),
    text("reason", "REASON"),
    text("message", "MESSAGE", flex=True),
]

APP_COLUMNS = [
    text("app", "APP"),
    text("health", "HEALTH"),
    text("sync_status", "SYNC"),
    text("release", "RELEASE"),
    text("health_reason", "REASON", flex=True),
]


def health(
    environment: Annotated[
        str | None, typer.Argument(metavar="ENV", help="Environment (live health).")
    ] = None,
    app: Annotated[str | None, typer.Argument(metavar="APP", help="Only this app.")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--filename",
            "-f",
            metavar="FILE",
            help="Assess the objects in this YAML file instead (offline; '-' reads stdin).",
        ),
    ] = None,
    output: OutputFormat = output_option(),
    no_headers: bool = no_headers_option(),
) -> None:
    """Health of an environment's apps, or of the objects in a file (offline)."""
    if file is not None:
        if environment is not None:
            raise usage_error("give either ENV [APP] or -f FILE, not both")
        _file_health(file, output, no_headers)
        return
    if environment is None:
        raise usage_error("give ENV [APP], or -f FILE for objects in a file")
    _live_health(environment, app, output, no_headers)


def _file_health(file: Path, output: OutputFormat, no_headers: bool) -> None:
    import sys

    name = "<stdin>" if str(file) == "-" else str(file)
    try:
        data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        raise usage_error(f"cannot read {name}: {exc.strerror or exc}", "-f") from None
    report = assess_objects(objects_in(data, name))
    if output in (OutputFormat.table, OutputFormat.wide):
        emit_rows(_resource_rows(report), RESOURCE_COLUMNS, output, no_headers=no_headers)
        sys.stderr.write(f"{report['status']}: {report['message']}\n")
    else:
        emit(report, output, lambda _d: "", name="status")
    if report["status"] != "Healthy":
        raise typer.Exit(EXIT_FAILURE)


def _live_health(environment: str, app: str | None, output: OutputFormat, no_headers: bool) -> None:

    from shiplane.cli.client import open_client

    with reporting_failures(), open_client() as client:
        matrix = client.get("/matrix")
    environments = matrix.get("environments") or []
    if environment not in environments:
        raise usage_error(f"environment {environment!r} is not defined ({', '.join(environments)})")
    apps = matrix.get("apps") or []
    if app is not None and app not in apps:
        raise usage_error(f"app {app!r} is not defined ({', '.join(apps)})")
    rows = [
        {
            "app": cell["app"],
            "health": cell.get("health"),
            "sync_status": cell.get("sync_status"),
            "release": cell.get("release_alias") or cell.get("release_id"),
            "health_reason": cell.get("health_reason"),
        }
        for cell in matrix.get("cells") or []
        if cell.get("environment") == environment and (app is None or cell.get("app") == app)
    ]
    emit_rows(rows, APP_COLUMNS, output, no_headers=no_headers, empty="no apps", name="app")
    if any(row["health"] not in ("Healthy", None) for row in rows):
        raise typer.Exit(EXIT_FAILURE)
