"""Following progress over the event stream: `promotion watch`, `events`, against a real
server (the engine's writes are made through the store, as the engine makes them)."""

from __future__ import annotations

import json
import os
import queue
import secrets
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.domain.promotion_ids import new_promotion_id
from shiplane.store import audit
from shiplane.store import promotions as store
from shiplane.store.db import Database
from tests.e2e.cli.conftest import Shiplane
from tests.support.serverproc import SHIPLANE, ServerProcess

DEADLINE_S = 30.0


def _spawn(server: ServerProcess, cli_config: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPLANE_")}
    env |= {"SHIPLANE_SERVER": server.url, "SHIPLANE_TOKEN": server.admin_token,
            "SHIPLANE_CONFIG": str(cli_config)}  # fmt: skip
    return subprocess.Popen(
        [SHIPLANE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _line(process: subprocess.Popen[str]) -> str:
    """The next line of output, waiting at most DEADLINE_S (the caller kills the process)."""
    stdout = process.stdout
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=DEADLINE_S)
    except queue.Empty:
        raise AssertionError(f"no output within {DEADLINE_S}s") from None
    assert line, "the command ended without output"
    return line


def _promotion(db: Database, release_id: str, app: str, env: str) -> Promotion:
    p = Promotion(
        id=new_promotion_id(datetime.now(UTC)), release_id=release_id, environment=env,
        apps=(app,), requested_by="alice", created_at=datetime.now(UTC),
        state=PromotionState.WAITING, reason="waiting for 1 approval",
    )  # fmt: skip
    with db.session() as s:
        store.insert_promotion(s, p, next_check_at=None)
    return p


def _finish(db: Database, p: Promotion, state: PromotionState, reason: str) -> None:
    from dataclasses import replace

    with db.session() as s:
        store.save_promotion(s, replace(p, state=state, reason=reason))
        audit.append_event(s, actor="engine", action=f"promotion.{state.value.lower()}",
                           subject=p.id, details={}, app=p.apps[0],
                           environment=p.environment)  # fmt: skip


@pytest.mark.parametrize(("state", "code"), [
    (PromotionState.SUCCEEDED, 0), (PromotionState.FAILED, 1),
])  # fmt: skip
def test_promotion_watch_follows_until_the_end_and_exits_with_the_outcome(
    logged_in: Shiplane, cli_server: ServerProcess, cli_config: Path,
    state: PromotionState, code: int,
) -> None:  # fmt: skip
    app = f"app-{secrets.token_hex(4)}"
    env = f"env-{secrets.token_hex(3)}"
    made = logged_in("release", "create", f"{app}=reg.example/{app}:1", "-o", "json")
    release_id = json.loads(made.stdout)["id"]
    db = Database.from_url(cli_server.database_url)
    process = None
    try:
        p = _promotion(db, release_id, app, env)
        process = _spawn(cli_server, cli_config, "promotion", "watch", p.id[4:16])
        assert "Waiting: waiting for 1 approval" in _line(process)
        _finish(db, p, state, "verified" if code == 0 else "smoke test failed")
        assert process.wait(timeout=DEADLINE_S) == code, process.stderr
        assert process.stdout is not None
        rest = process.stdout.read()
        assert f"{p.id} {state.value}" in rest
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        db.close()


def test_events_prints_events_from_a_sequence_number_on(
    cli_server: ServerProcess, cli_config: Path
) -> None:
    action = f"test{secrets.token_hex(3)}."
    db = Database.from_url(cli_server.database_url)
    try:
        with db.session() as s:
            first = audit.append_event(s, actor="tester", action=action + "one", subject="x",
                                       details={})  # fmt: skip
            audit.append_event(s, actor="tester", action=action + "two", subject="y", details={})
    finally:
        db.close()
    after = str(first.seq - 1)
    process = _spawn(cli_server, cli_config, "events", "--action", action, "--after", after,
                     "-o", "json")  # fmt: skip
    try:
        seen = [json.loads(_line(process)) for _ in range(2)]
        assert [e["action"] for e in seen] == [action + "one", action + "two"]
        assert seen[0]["seq"] == first.seq and seen[0]["actor"] == "tester"
    finally:
        process.kill()
        process.wait(timeout=10)

    table = _spawn(cli_server, cli_config, "events", "--action", action, "--after", after)
    try:
        header, row = _line(table).split(), _line(table).split()
        assert header == ["TIME", "SEQ", "ACTOR", "ACTION", "SUBJECT", "ENV", "APP"]
        assert row[1:5] == [str(first.seq), "tester", action + "one", "x"]
    finally:
        table.kill()
        table.wait(timeout=10)


def test_status_watch_prints_the_matrix_again_on_each_event(
    cli_server: ServerProcess, cli_config: Path
) -> None:
    db = Database.from_url(cli_server.database_url)
    process = _spawn(cli_server, cli_config, "status", "--watch")
    try:
        # Printed once the stream is open: every event from now on is news.
        assert "no apps or environments" in _line(process)
        with db.session() as s:
            audit.append_event(s, actor="tester", action="test.status", subject="z", details={})
        assert _line(process) == "\n"
        assert "no apps or environments" in _line(process)
    finally:
        process.kill()
        process.wait(timeout=10)
        db.close()
