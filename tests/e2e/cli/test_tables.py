"""Tables as kubectl users expect: plain columns when piped, `--no-headers`, `-o wide`
and `-o name`, short unique ids that every command accepts, 80 columns."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.domain.promotion_ids import new_promotion_id
from shiplane.store import promotions as store
from shiplane.store.db import Database
from tests.e2e.cli.conftest import Shiplane
from tests.support.serverproc import ServerProcess

BOX = set("│┃━─┏┗╭╰|")


def _release(logged_in: Shiplane, app: str, tag: str) -> dict[str, object]:
    made = logged_in("release", "create", f"{app}=reg.example/shop/{app}:{tag}", "-o", "json")
    assert made.returncode == 0, made.stderr
    return dict(json.loads(made.stdout))


def test_release_list_is_plain_with_short_ids_that_commands_accept(logged_in: Shiplane) -> None:
    app = f"app-{secrets.token_hex(4)}"
    releases = [_release(logged_in, app, f"1.0.{n}") for n in range(2)]
    listed = logged_in("release", "list", "--app", app)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "ALIAS", "CREATOR", "AGE", "ARTIFACTS"]
    assert not BOX & set(listed.stdout), listed.stdout
    shown = [line.split()[0] for line in lines[1:]]
    full = [str(r["id"]) for r in reversed(releases)]  # newest first
    for short, whole in zip(shown, full, strict=True):
        assert whole.startswith("rel-" + short) and len(short) == 8
        again = logged_in("release", "show", short, "-o", "json")
        assert json.loads(again.stdout)["id"] == whole

    bare = logged_in("release", "list", "--app", app, "--no-headers")
    assert [line.split()[0] for line in bare.stdout.splitlines()] == shown

    names = logged_in("release", "list", "--app", app, "-o", "name")
    assert names.stdout.splitlines() == full

    wide = logged_in("release", "list", "--app", app, "-o", "wide")
    header = wide.stdout.splitlines()[0].split()
    assert "CREATED" in header and "LABELS" in header
    assert all(f in wide.stdout for f in full)
    assert datetime.now(UTC).strftime("%Y-%m-%dT") in wide.stdout


def test_promotion_ids_fit_80_columns_and_prefixes_resolve(
    logged_in: Shiplane, cli_server: ServerProcess
) -> None:
    app = f"app-{secrets.token_hex(4)}"
    release = _release(logged_in, app, "2.0.0")
    created = datetime.now(UTC) - timedelta(minutes=7)
    ids = [new_promotion_id(created) for _ in range(2)]  # same millisecond: long common prefix
    db = Database.from_url(cli_server.database_url)
    try:
        with db.session() as s:
            for pid in ids:
                store.insert_promotion(
                    s,
                    Promotion(
                        id=pid, release_id=str(release["id"]), environment="staging",
                        apps=(app,), requested_by="alice", created_at=created,
                        state=PromotionState.WAITING,
                        reason="waiting for 1 approval from release-managers, "
                        "and for 20s of soak in dev (verified there 3s ago)",
                    ),
                    next_check_at=None,
                )  # fmt: skip
    finally:
        db.close()

    listed = logged_in("promotion", "list", "--app", app, env={"COLUMNS": "80"})
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), listed.stdout
    assert lines[0].split() == ["ID", "ENV", "APPS", "RELEASE", "STATE", "AGE", "REASON"]
    shorts = [line.split()[0] for line in lines[1:]]
    # Same millisecond: the 10 time characters are shared, so the prefixes grow.
    assert sorted(ids) == sorted(next(i for i in ids if i.startswith("prm-" + s)) for s in shorts)
    assert all(10 < len(s) < 26 for s in shorts)
    reason = lines[1][lines[0].index("REASON") :]
    assert reason.startswith("waiting for") and reason.endswith("…"), reason
    assert all(line.split()[5] in ("7m", "7m1s", "7m2s", "7m3s") for line in lines[1:])

    for short in shorts:
        shown = logged_in("promotion", "show", short, "-o", "json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["promotion"]["id"].startswith("prm-" + short)
    lowercase = logged_in("promotion", "show", shorts[0].lower(), "-o", "name")
    assert lowercase.stdout.strip() in ids

    common = ids[0][: len(shorts[0]) - 1 + len("prm-")]
    ambiguous = logged_in("promotion", "show", common)
    assert ambiguous.returncode == 1
    assert "ambiguous" in ambiguous.stderr and "(HTTP 404)" in ambiguous.stderr

    wide = logged_in("promotion", "list", "--app", app, "-o", "wide")
    assert all(i in wide.stdout for i in ids)
    assert "KIND" in wide.stdout.splitlines()[0] and "manual" in wide.stdout


def test_audit_events_fit_80_columns_with_subjects_as_short_ids(logged_in: Shiplane) -> None:
    app = f"app-{secrets.token_hex(4)}"
    release = _release(logged_in, app, "3.0.0-with-a-long-build-tag.20261206")

    audit = logged_in("audit", "list", "--limit", "5", env={"COLUMNS": "80"})
    assert audit.returncode == 0, audit.stderr
    lines = audit.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), audit.stdout
    subject = next(line.split()[4] for line in lines[1:] if "release.create" in line)
    assert subject.startswith("rel-") and str(release["id"]).startswith(subject)
    assert len(subject) < len(str(release["id"]))
    shown = logged_in("release", "show", subject, "-o", "json")  # the short id resolves
    assert json.loads(shown.stdout)["id"] == release["id"]

    wide = logged_in("audit", "list", "--limit", "5", "-o", "wide")
    assert str(release["id"]) in wide.stdout
