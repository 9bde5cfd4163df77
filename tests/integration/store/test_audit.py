"""Audit trail on SQLite and PostgreSQL: append, filters, pagination, verification,
tampering and concurrent appends."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from shiplane.domain.audit import GENESIS_HASH, canonical_json, chain_hash
from shiplane.domain.pagination import InvalidCursorError
from shiplane.store.audit import append_event, chain_head, iter_events, list_events, verify_chain
from shiplane.store.db import Database

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _seed(db: Database, n: int) -> None:
    with db.session() as s:
        for i in range(n):
            append_event(
                s,
                actor=["alice", "bob", "ci"][i % 3],
                action="release.create" if i % 2 == 0 else "promotion.start",
                subject=f"rel-{i}",
                details={"i": i, "password": "hunter2", "nested": {"apiKey": "k", "ok": [1.5]}},
                app=["checkout", "payments"][i % 2],
                environment=None if i % 4 == 0 else "dev",
                now=lambda i=i: T0 + timedelta(minutes=i),  # type: ignore[misc]
            )


def test_append_chains_and_masks(db: Database) -> None:
    _seed(db, 3)
    with db.session() as s:
        events = list(iter_events(s))
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[0].details == {
        "i": 0,
        "password": "***",
        "nested": {"apiKey": "***", "ok": [1.5]},
    }
    assert events[0].time == T0
    # The documented formula reproduces the stored hash (third-party verification).
    e = events[1]
    fields = {
        "seq": e.seq, "time": "2026-03-01T09:01:00.000000Z", "actor": e.actor,
        "action": e.action, "subject": e.subject, "app": e.app,
        "environment": e.environment, "details": e.details,
    }  # fmt: skip
    assert chain_hash(e.prev_hash, fields) == e.hash
    with db.session() as s:
        head = chain_head(s)
        assert head is not None and head.seq == 3


def test_append_rolls_back_with_the_change(db: Database) -> None:
    _seed(db, 1)
    with pytest.raises(RuntimeError), db.session() as s:
        append_event(s, actor="a", action="x", subject="y", details={})
        raise RuntimeError("the change failed")
    with db.session() as s:
        assert [e.seq for e in iter_events(s)] == [1]
        rec = append_event(s, actor="a", action="x", subject="y", details={})
        assert rec.seq == 2
        assert verify_chain(s).ok


def test_list_filters_and_pagination(db: Database) -> None:
    _seed(db, 40)

    def walk(**kw: object) -> list[int]:
        seqs: list[int] = []
        cursor = None
        while True:
            with db.session(readonly=True) as s:
                page = list_events(s, limit=7, cursor=cursor, **kw)  # type: ignore[arg-type]
            seqs.extend(e.seq for e in page.items)
            cursor = page.next_cursor
            if cursor is None:
                return seqs

    all_seqs = list(range(40, 0, -1))
    assert walk() == all_seqs
    assert walk(actor="bob") == [q for q in all_seqs if (q - 1) % 3 == 1]
    assert walk(action="promotion.start") == [q for q in all_seqs if (q - 1) % 2 == 1]
    assert walk(app="checkout") == [q for q in all_seqs if (q - 1) % 2 == 0]
    assert walk(environment="dev") == [q for q in all_seqs if (q - 1) % 4 != 0]
    since, until = T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)
    assert walk(since=since, until=until) == list(range(20, 10, -1))
    assert walk(actor="alice", app="checkout", environment="dev") == [
        q for q in all_seqs if (q - 1) % 3 == 0 and (q - 1) % 2 == 0 and (q - 1) % 4 != 0
    ]
    assert walk(actor="nobody") == []
    with db.session() as s:
        with pytest.raises(InvalidCursorError):
            list_events(s, cursor="@@@")
        first = list_events(s, limit=2)
        assert first.next_cursor is not None
        assert [e.seq for e in first.items] == [40, 39]


def test_filtered_export_matches_the_listing_oldest_first(db: Database) -> None:
    """The UI's export of a filtered view: the same events as the listing, in small
    batches, oldest first."""
    _seed(db, 40)
    since, until = T0 + timedelta(minutes=5), T0 + timedelta(minutes=30)
    filters = {"actor": "alice", "environment": "dev", "since": since, "until": until}
    with db.session(readonly=True) as s:
        listed = [e.seq for e in list_events(s, limit=100, **filters).items]  # type: ignore[arg-type]
        exported = [e.seq for e in iter_events(s, batch=3, **filters)]  # type: ignore[arg-type]
    assert exported == sorted(listed) and len(exported) >= 3


def test_verify_ok_and_empty(db: Database) -> None:
    with db.session() as s:
        result = verify_chain(s)
    assert result.ok and result.checked == 0
    _seed(db, 25)
    with db.session() as s:
        result = verify_chain(s, batch=4)  # several batches
    assert result.ok and result.checked == 25 and result.first_bad_seq is None


def test_tampered_details_are_detected(db: Database) -> None:
    _seed(db, 12)
    with db.session() as s:
        s.execute(
            text("UPDATE audit_events SET details = :d WHERE seq = 7"),
            {"d": json.dumps({"i": 6, "password": "***", "nested": {}})},
        )
    with db.session() as s:
        result = verify_chain(s, batch=5)
    assert not result.ok
    assert result.first_bad_seq == 7
    assert result.checked == 7
    assert result.reason is not None and "hash mismatch" in result.reason


def test_tampered_actor_with_rehash_breaks_next_link(db: Database) -> None:
    # A forger who recomputes the edited row's hash still breaks the next event's link.
    _seed(db, 5)
    with db.session() as s:
        row = s.execute(text("SELECT * FROM audit_events WHERE seq = 3")).mappings().one()
        details = row["details"] if isinstance(row["details"], dict) else json.loads(row["details"])
        fields = {
            "seq": 3, "time": "2026-03-01T09:02:00.000000Z", "actor": "mallory",
            "action": row["action"], "subject": row["subject"], "app": row["app"],
            "environment": row["environment"], "details": details,
        }  # fmt: skip
        forged = chain_hash(row["prev_hash"], fields)
        s.execute(
            text("UPDATE audit_events SET actor = 'mallory', hash = :h WHERE seq = 3"),
            {"h": forged},
        )
    with db.session() as s:
        result = verify_chain(s)
    assert not result.ok and result.first_bad_seq == 4
    assert result.reason is not None and "broken link" in result.reason


def test_deleted_event_is_a_gap(db: Database) -> None:
    _seed(db, 10)
    with db.session() as s:
        s.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    with db.session() as s:
        result = verify_chain(s)
    assert not result.ok and result.first_bad_seq == 5
    assert result.reason is not None and "gap in seq: expected 4, found 5" in result.reason


def test_deleted_first_event_is_detected(db: Database) -> None:
    _seed(db, 3)
    with db.session() as s:
        s.execute(text("DELETE FROM audit_events WHERE seq = 1"))
    with db.session() as s:
        result = verify_chain(s)
    assert not result.ok and result.first_bad_seq == 2


def test_concurrent_appends_keep_the_chain_valid(db: Database) -> None:
    threads_n, per_thread = 6, 15
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with db.session() as s:
                    append_event(
                        s, actor=f"worker-{n}", action="test.append", subject=str(i), details={}
                    )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    with db.session() as s:
        result = verify_chain(s)
        events = list(iter_events(s))
    assert result.ok, result.reason
    assert result.checked == threads_n * per_thread
    assert [e.seq for e in events] == list(range(1, threads_n * per_thread + 1))


def test_export_is_oldest_first_canonical(db: Database) -> None:
    _seed(db, 5)
    with db.session() as s:
        lines = [canonical_json(e.model_dump(mode="json")) for e in iter_events(s, batch=2)]
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4, 5]


def _documented_verifier() -> Callable[[Iterable[str]], str | None]:
    """Run the verifier from docs/store.md as written, so the documented format stays true."""
    doc = (Path(__file__).parents[3] / "docs" / "store.md").read_text()
    code = doc.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {"__name__": "docs_store"}
    exec(compile(code, "docs/store.md", "exec"), namespace)
    verifier = namespace["verify"]
    assert callable(verifier)
    return verifier  # type: ignore[return-value]


def test_documented_verifier_accepts_export_and_finds_tampering(db: Database) -> None:
    _seed(db, 6)
    with db.session() as s:
        # Whole-second and non-ASCII events: both are edge cases of the time/JSON format.
        append_event(s, actor="zoë", action="x", subject="y", details={"note": "grüße"},
                     now=lambda: datetime(2026, 3, 2, tzinfo=UTC))  # fmt: skip
    verify = _documented_verifier()
    with db.session() as s:
        export = [e.model_dump_json() for e in iter_events(s)]
    assert verify(export) is None
    with db.session() as s:
        s.execute(text("UPDATE audit_events SET subject = 'forged' WHERE seq = 5"))
    with db.session() as s:
        export = [e.model_dump_json() for e in iter_events(s)]
    assert verify(export) == "hash mismatch at seq 5"
