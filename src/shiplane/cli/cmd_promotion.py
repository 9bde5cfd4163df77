"""Promotion commands: promote, promotion list|show|explain|abort|resume|skip-step|retry|
resolve, approve, reject, rollback, hold, unhold, freeze, unfreeze."""

from __future__ import annotations

import sys
from typing import Any

import typer

from shiplane.cli.client import open_client
from shiplane.cli.cmd_watch import follow_promotion, timeout_option, watch
from shiplane.cli.groups import command_group
from shiplane.cli.output import (
    ID_MINIMUM,
    OutputFormat,
    age_columns,
    emit,
    emit_page,
    emit_rows,
    id_column,
    no_headers_option,
    output_option,
    reporting_failures,
    table_width,
    text,
    usage_error,
)
from shiplane.cli.tables import Column, render_table, short_ids

# A promotion id is `prm-` + a ULID whose first 10 characters are the creation time in
# milliseconds; promotions of the same millisecond get longer prefixes in a table.
PROMOTION_ID_MIN = ID_MINIMUM["prm-"]
ID_HELP = "Promotion id, or a unique prefix of it as tables show it."
RELEASE_ID_MIN = ID_MINIMUM["rel-"]

promotion_app = command_group("promotion", "Inspect and steer promotions.")


def _short(record: dict[str, Any]) -> str:
    apps = ",".join(record.get("apps") or [])
    return (
        f"{record['id']} {record['kind']} {record['release_id']} -> "
        f"{record['environment']} [{apps}]: {record['state']}"
        + (f" ({record['reason']})" if record.get("reason") else "")
    )


def _emit_record(record: dict[str, Any], output: OutputFormat) -> None:
    emit(record, output, _short)


def promote(
    release: str = typer.Argument(..., help="Release id, unique id prefix, or alias."),
    to: str = typer.Option(..., "--to", metavar="ENV", help="Target environment."),
    reason: str = typer.Option("", "--reason", help="Why (recorded in the audit trail)."),
    wait: bool = typer.Option(
        False, "--wait", help="Follow it until it ends; exit 0 only when it succeeded."
    ),
    timeout: float = timeout_option(),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Create nothing: show every gate that would hold it and the diff against live.",
    ),
    diff: bool = typer.Option(True, "--diff/--no-diff", help="With --dry-run: the diff too."),
    output: OutputFormat = output_option(),
) -> None:
    """Promote a release into an environment: it queues, waits for its gates, deploys,
    verifies, and unlocks the next environments. With --dry-run nothing is created: it
    shows the gates it would meet (as `promotion explain` words them) and the manifest
    diff against live; exit 1 when the request would be refused or a gate rejects."""
    if dry_run:
        if wait:
            raise usage_error("--dry-run creates nothing to --wait for")
        from shiplane.cli.cmd_views import print_preview

        raise typer.Exit(print_preview(release, to, diff, output))
    with reporting_failures(), open_client() as client:
        record = client.request(
            "POST", "/promotions", json={"release": release, "environment": to, "reason": reason}
        )
        _emit_record(record, output)
        if wait:
            sys.stdout.flush()
            raise typer.Exit(follow_promotion(client, record["id"], timeout))


@promotion_app.command("list")
def list_(
    env: str | None = typer.Option(None, "--env", help="Only this environment."),
    app: str | None = typer.Option(None, "--app", help="Only promotions of this app."),
    state: str | None = typer.Option(None, "--state", help="e.g. Waiting, Failed."),
    open_only: bool = typer.Option(False, "--open", help="Only queued or active ones."),
    limit: int = typer.Option(50, "--limit", min=1, max=500),
    cursor: str | None = typer.Option(None, "--cursor", help="next_cursor of a previous page."),
    no_headers: bool = no_headers_option(),
    output: OutputFormat = output_option(),
) -> None:
    """List promotions, newest first."""
    params: dict[str, Any] = {
        "environment": env,
        "app": app,
        "state": state,
        "limit": limit,
        "cursor": cursor,
        "open": "true" if open_only else None,
    }
    with reporting_failures(), open_client() as client:
        page = client.get("/promotions", params)
    emit_page(
        page, output, promotion_columns(page.get("items") or [], output),
        what="promotions", no_headers=no_headers,
    )  # fmt: skip


def promotion_columns(items: list[dict[str, Any]], fmt: OutputFormat) -> list[Column]:
    """ID ENV APPS RELEASE STATE AGE REASON; `-o wide` adds KIND and CREATED, full ids."""
    releases = [str(r["release_id"]) for r in items]
    if fmt is OutputFormat.wide:
        release_shown = {r: r for r in releases}
    else:
        release_shown = short_ids(releases, type_prefix="rel-", minimum=RELEASE_ID_MIN)
    return [
        id_column(items, fmt, type_prefix="prm-", minimum=PROMOTION_ID_MIN),
        text("environment", "ENV"),
        Column("APPS", lambda r: ",".join(r.get("apps") or []) or "-"),
        Column("RELEASE", lambda r: release_shown.get(str(r.get("release_id")), "-")),
        Column("KIND", lambda r: f"{r.get('kind')}/{r.get('trigger')}", wide=True),
        text("state", "STATE"),
        *age_columns("created_at"),
        text("reason", "REASON", flex=True),
    ]


@promotion_app.command("show")
def show(
    promotion_id: str = typer.Argument(..., help=ID_HELP),
    output: OutputFormat = output_option(),
) -> None:
    """A promotion and every recorded step, then what you may do to it now (and why
    not: the engine's reason, the same as the request would answer)."""
    with reporting_failures(), open_client() as client:
        detail = client.get(f"/promotions/{promotion_id}")

    def table(data: dict[str, Any]) -> str:
        steps = render_table(
            data["steps"],
            [
                text("name", "STEP"),
                *age_columns("started_at", wide_header="STARTED"),
                text("outcome", "OUTCOME"),
                text("detail", "DETAIL", flex=True),
            ],
            wide=output is OutputFormat.wide,
            width=table_width(),
        )
        return _short(data["promotion"]) + "\n\n" + steps + _actions_text(data.get("actions"))

    if output is OutputFormat.name:
        emit(detail["promotion"], output, _short)
    else:
        emit(detail, output, table)


def _actions_text(actions: dict[str, Any] | None) -> str:
    """`You may: reject, abort` and a line per refused action with the engine's reason."""
    if not actions:
        return ""
    allowed = [name for name, a in actions.items() if a["allowed"]]
    lines = ["", f"You may: {', '.join(allowed) or 'nothing now'}"]
    lines += [f"  not {name}: {a['reason']}" for name, a in actions.items() if not a["allowed"]]
    return "\n" + "\n".join(lines)


def explain(
    promotion_id: str = typer.Argument(..., help=ID_HELP), output: OutputFormat = output_option()
) -> None:
    """Why a promotion waits or failed, and what would unblock it."""
    with reporting_failures(), open_client() as client:
        data = client.get(f"/promotions/{promotion_id}/explain")
    emit(data, output, lambda d: d["text"])


@promotion_app.command("abort")
def abort(
    promotion_id: str = typer.Argument(..., help=ID_HELP),
    reason: str = typer.Option("", "--reason"),
    output: OutputFormat = output_option(),
) -> None:
    """Abort a queued, waiting, deploying or verifying promotion."""
    with reporting_failures(), open_client() as client:
        record = client.request(
            "POST", f"/promotions/{promotion_id}/abort", json={"reason": reason}
        )
    _emit_record(record, output)


@promotion_app.command("resume")
def resume(
    promotion_id: str = typer.Argument(..., help=ID_HELP), output: OutputFormat = output_option()
) -> None:
    """End the pause a canary waits in (an indefinite pause waits for this); it takes its next
    step at once."""
    with reporting_failures(), open_client() as client:
        record = client.request("POST", f"/promotions/{promotion_id}/resume")
    _emit_record(record, output)


@promotion_app.command("skip-step")
def skip_step(
    promotion_id: str = typer.Argument(..., help=ID_HELP), output: OutputFormat = output_option()
) -> None:
    """Pass over the step a canary is taking (a pause, an analysis, a weight)."""
    with reporting_failures(), open_client() as client:
        record = client.request("POST", f"/promotions/{promotion_id}/skip-step")
    _emit_record(record, output)


@promotion_app.command("retry")
def retry(
    promotion_id: str = typer.Argument(..., help=ID_HELP), output: OutputFormat = output_option()
) -> None:
    """Promote the same release again, as a new promotion."""
    with reporting_failures(), open_client() as client:
        record = client.request("POST", f"/promotions/{promotion_id}/retry")
    _emit_record(record, output)


@promotion_app.command("resolve")
def resolve(
    promotion_id: str = typer.Argument(..., help=ID_HELP),
    check: str = typer.Argument(..., help="The inconclusive check."),
    passed: bool | None = typer.Option(None, "--pass/--fail", help="Your verdict."),
    comment: str = typer.Option("", "--comment"),
    output: OutputFormat = output_option(),
) -> None:
    """Pass or fail a verification check that came out inconclusive."""
    if passed is None:
        raise usage_error("say --pass or --fail")
    with reporting_failures(), open_client() as client:
        record = client.request(
            "POST",
            f"/promotions/{promotion_id}/checks/{check}/resolve",
            json={"passed": passed, "comment": comment},
        )
    _emit_record(record, output)


def approve(
    promotion_id: str = typer.Argument(..., help=ID_HELP),
    comment: str = typer.Option("", "--comment"),
    output: OutputFormat = output_option(),
) -> None:
    """Approve a promotion waiting for approval."""
    with reporting_failures(), open_client() as client:
        record = client.request(
            "POST", f"/promotions/{promotion_id}/approve", json={"comment": comment}
        )
    _emit_record(record, output)


def reject(
    promotion_id: str = typer.Argument(..., help=ID_HELP),
    reason: str = typer.Option(..., "--reason", help="Why; the promotion ends."),
    output: OutputFormat = output_option(),
) -> None:
    """Reject a promotion: it ends with your reason."""
    with reporting_failures(), open_client() as client:
        record = client.request(
            "POST", f"/promotions/{promotion_id}/reject", json={"reason": reason}
        )
    _emit_record(record, output)


def rollback(
    environment: str = typer.Argument(..., help="Environment."),
    app: str = typer.Argument(..., help="App."),
    to: str | None = typer.Option(
        None, "--to", metavar="RELEASE", help="Release (default: the last verified there)."
    ),
    reason: str = typer.Option("", "--reason"),
    output: OutputFormat = output_option(),
) -> None:
    """Roll an app back in an environment; sets a hold so auto-promotion does not undo it."""
    with reporting_failures(), open_client() as client:
        record = client.request(
            "POST",
            f"/environments/{environment}/apps/{app}/rollback",
            json={"to": to, "reason": reason},
        )
    _emit_record(record, output)


def hold(
    environment: str = typer.Argument(..., help="Environment."),
    app: str = typer.Argument(..., help="App."),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """Stop auto-promotion of APP into ENV until `unhold`."""
    with reporting_failures(), open_client() as client:
        client.request(
            "PUT", f"/environments/{environment}/apps/{app}/hold", json={"reason": reason}
        )
    sys.stdout.write(f"held: {app} in {environment}\n")


def unhold(
    environment: str = typer.Argument(..., help="Environment."),
    app: str | None = typer.Argument(None, help="App (or --all)."),
    all_apps: bool = typer.Option(False, "--all", help="Lift every hold in ENV."),
) -> None:
    """Lift a hold (or, with --all, every hold in ENV)."""
    if (app is None) == (not all_apps):
        raise usage_error("give APP, or --all for every hold in ENV")
    with reporting_failures(), open_client() as client:
        if app is not None:
            apps = [app]
        else:
            holds = client.get("/controls")["holds"]
            apps = [h["app"] for h in holds if h["environment"] == environment]
        for name in apps:
            client.request("DELETE", f"/environments/{environment}/apps/{name}/hold")
            sys.stdout.write(f"hold lifted: {name} in {environment}\n")
    if not apps:
        sys.stderr.write(f"no holds in {environment}\n")


HOLD_COLUMNS = [
    text("what", "KIND"),
    text("environment", "ENV"),
    text("app", "APP"),
    text("set_by", "BY"),
    *age_columns("set_at", wide_header="SINCE"),
    text("reason", "REASON", flex=True),
]


def holds(
    environment: str | None = typer.Option(None, "--env", metavar="ENV", help="Only this one."),
    no_headers: bool = no_headers_option(),
    output: OutputFormat = output_option(),
) -> None:
    """List holds (no auto-promotion of an app into an environment) and freezes."""
    with reporting_failures(), open_client() as client:
        controls = client.get("/controls")
    rows = [{"what": "hold", **h} for h in controls["holds"]]
    rows += [{"what": "freeze", "app": None, **f} for f in controls["freezes"]]
    if environment is not None:
        rows = [r for r in rows if r["environment"] in (environment, "*")]
    emit_rows(
        rows,
        HOLD_COLUMNS,
        output,
        no_headers=no_headers,
        empty="no holds or freezes",
        name="environment",
    )


def freeze(
    environment: str = typer.Argument(..., help="Environment, or '*' for all."),
    reason: str = typer.Option(..., "--reason"),
    abort: bool = typer.Option(
        False,
        "--abort",
        help="Also abort the canaries and blue-greens moving in ENV: traffic back on stable.",
    ),
) -> None:
    """Stop the line: promotions into ENV wait (rollbacks pass if the policy allows)."""
    with reporting_failures(), open_client() as client:
        answer = client.request(
            "PUT",
            f"/environments/{environment}/freeze",
            params={"abort": "true"} if abort else None,
            json={"reason": reason},
        )
    sys.stdout.write(f"frozen: {environment}\n")
    if abort:
        aborted = (answer or {}).get("aborted") or []
        sys.stdout.write(f"aborted: {', '.join(aborted) or 'nothing was moving'}\n")


def unfreeze(environment: str = typer.Argument(..., help="Environment, or '*'.")) -> None:
    """Lift a freeze."""
    with reporting_failures(), open_client() as client:
        client.request("DELETE", f"/environments/{environment}/freeze")
    sys.stdout.write(f"unfrozen: {environment}\n")


# One home for each verb: `promotion approve`; the registry adds top-level aliases
# (`shiplane approve`) that point at the same functions.
promotion_app.command("explain")(explain)
promotion_app.command("approve")(approve)
promotion_app.command("reject")(reject)
promotion_app.command("watch")(watch)
