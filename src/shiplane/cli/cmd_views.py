"""Reads made for people: `promote --dry-run` (what a promotion would meet and change),
`approvals` (what waits for my approval), `release timeline` and `release diff`."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from shiplane.cli.client import open_client
from shiplane.cli.output import (
    ID_MINIMUM,
    OutputFormat,
    age_columns,
    emit,
    emit_rows,
    id_column,
    no_headers_option,
    output_option,
    reporting_failures,
    short_time,
    text,
)
from shiplane.cli.tables import Column

PROMOTION_ID_MIN = ID_MINIMUM["prm-"]


def preview_text(data: Mapping[str, Any]) -> str:
    """The dry-run in words: refusal, gates (as `explain` says them), approvers, queue,
    and the diff against live per app."""
    lines = [
        f"Dry run: release {data['release']} ({data.get('alias') or '-'}) to "
        f"{data['environment']} [{', '.join(data.get('apps') or [])}], "
        f"requested by {data['requested_by']}. Nothing was created."
    ]
    if data.get("refusal"):
        lines.append(f"The request would be refused: {data['refusal']}")
    lines.append(data.get("text") or "")
    approval = data.get("approval")
    if approval:
        who = f"Approvals: {approval['required']} from {approval['approvers']}"
        if not approval["requester_may_approve"]:
            who += f"; {approval['reason']}"
        lines.append(who + ".")
    if data.get("queued_behind"):
        lines.append(f"Queued behind: {', '.join(data['queued_behind'])}.")
    if data.get("diff_error"):
        lines.append(f"Diff against live not available: {data['diff_error']}")
    for app in data.get("diff") or []:
        objects = app.get("objects") or []
        changes = [o for o in objects if o["change"] != "unchanged"]
        lines.append(
            f"== {app['app']}: {len(changes)} of {len(objects)} objects would change "
            f"(over git {str(app.get('git_commit') or '')[:12]})"
        )
        for obj in changes:
            if obj["change"] == "error":
                lines.append(f"! {obj['object']}: {obj['problem']}")
            else:
                lines.append(f"# {obj['change']} {obj['object']}\n{obj['diff']}".rstrip("\n"))
    return "\n".join(line for line in lines if line) + "\n"


def print_preview(release: str, environment: str, diff: bool, output: OutputFormat) -> int:
    """`promote --dry-run`; the exit code: 1 when the request would be refused or a gate
    rejects it, else 0 (also while it would wait)."""
    with reporting_failures(), open_client() as client:
        data = client.get(
            f"/releases/{quote(release, safe='')}/preview",
            {"environment": environment, "diff": "true" if diff else "false"},
        )
    if output is OutputFormat.table:
        sys.stdout.write(preview_text(data))
    else:
        emit(data, output, lambda _d: "")
    return 1 if data.get("refusal") or data.get("decision") == "reject" else 0


def approvals(
    no_headers: bool = no_headers_option(),
    output: OutputFormat = output_option(),
) -> None:
    """Promotions waiting for your approval (your token's name, groups, role and scope),
    longest waiting first, with what is missing and when given approvals expire."""
    with reporting_failures(), open_client() as client:
        data = client.get("/approvals/inbox")
    items: list[dict[str, Any]] = data.get("items") or []
    rows = [{**i["promotion"], **{k: v for k, v in i.items() if k != "promotion"}} for i in items]
    columns = [
        id_column(rows, output, type_prefix="prm-", minimum=PROMOTION_ID_MIN),
        text("environment", "ENV"),
        Column("APPS", lambda r: ",".join(r.get("apps") or []) or "-"),
        text("release_id", "RELEASE"),
        text("requested_by", "REQUESTED BY"),
        Column("APPROVALS", lambda r: f"{r['required'] - r['missing']}/{r['required']}"),
        Column(
            "EXPIRES", lambda r: short_time(r.get("expires_at")) if r.get("expires_at") else "-"
        ),
        *age_columns("created_at"),
        text("approvers", "APPROVERS", flex=True),
    ]
    emit_rows(rows, columns, output, no_headers=no_headers, empty="nothing waits for your approval")


def show_timeline(release: str, output: OutputFormat) -> None:
    """`release timeline`: where a release runs and its promotions, with times."""
    with reporting_failures(), open_client() as client:
        data = client.get(f"/releases/{quote(release, safe='')}/timeline")
    emit(data, output, timeline_text)


def timeline_text(data: Mapping[str, Any]) -> str:
    rel = data["release"]
    lines = [f"release {rel['id']} ({rel['alias']})"]
    running = data.get("running") or []
    where = ", ".join(f"{d['environment']}/{d['app']} ({d.get('health') or '-'})" for d in running)
    lines.append(f"runs in: {where or 'nowhere now'}")
    for p in data.get("promotions") or []:
        lines.append(
            f"{p['environment']}: {p['id']} {p['kind']}/{p['trigger']} by {p['requested_by']}"
            f" -> {p['state']}"
        )
        for m in p.get("moments") or []:
            reason = f"  {m['reason']}" if m.get("reason") else ""
            lines.append(f"  {short_time(m['at'])}  {m['state']}{reason}")
    return "\n".join(lines)


def show_release_diff(release: str, against: str, env: str | None, output: OutputFormat) -> None:
    """`release diff`: artifacts per app and, with an environment, rendered manifests."""
    params = {"against": against, "environment": env}
    with reporting_failures(), open_client() as client:
        data = client.get(f"/releases/{quote(release, safe='')}/diff", params)
    emit(data, output, release_diff_text)


def _artifact(a: Mapping[str, Any] | None) -> str:
    if a is None:
        return "-"
    digest = a.get("digest") or a.get("resolved_digest")
    if not digest:
        return f"{a['ref']} (unresolved)"  # a mutable tag (`releases.digests`)
    return str(a["ref"]) + (f" ({digest})" if digest not in a["ref"] else "")


def release_diff_text(data: Mapping[str, Any]) -> str:
    lines = [f"{data['a']} -> {data['b']}"]
    for c in data.get("artifacts") or []:
        lines.append(f"  {c['app']}: {c['change']}  {_artifact(c['a'])} -> {_artifact(c['b'])}")
        for part in ("chart", "commit"):  # shown when either release pins one
            pair = c.get(part) or {}
            if pair.get("a") or pair.get("b"):
                lines.append(f"    {part}: {pair.get('a') or '-'} -> {pair.get('b') or '-'}")
    manifests: Mapping[str, list[dict[str, Any]]] | None = data.get("manifests")
    for app, objects in (manifests or {}).items():
        changed = [o for o in objects if o["diff"]]
        lines.append(f"== {app} in {data['environment']}: {len(changed)} of {len(objects)} differ")
        lines += [o["diff"].rstrip("\n") for o in changed]
    return "\n".join(lines)
