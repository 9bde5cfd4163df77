"""Web UI sessions on SQLite and PostgreSQL: stored hashed, tied to a live token, ending
at their expiry, at sign-out, or when the token is revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from shiplane.store.db import Database
from shiplane.store.tokens import create_token, revoke_token
from shiplane.store.web_sessions import create_session, delete_session, session_token

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def _token(db: Database, name: str) -> str:
    with db.session() as s:
        record, _plaintext = create_token(
            s, name=name, role="approver", environments=["prod"], created_by="test"
        )
    return record.id


def test_a_session_stands_for_its_token_until_it_expires(db: Database) -> None:
    token_id = _token(db, "alice")
    with db.session() as s:
        secret, expires_at = create_session(
            s, token_id, lifetime=timedelta(hours=1), now=lambda: T0
        )
    with db.session(readonly=True) as s:
        live = session_token(s, secret, now=lambda: T0 + timedelta(minutes=59))
        ended = session_token(s, secret, now=lambda: expires_at)
        wrong = session_token(s, secret + "x", now=lambda: T0)
        stored = repr(s.execute(text("SELECT * FROM web_sessions")).all())
    assert live is not None and live.name == "alice" and live.environments == ["prod"]
    assert ended is None and wrong is None
    assert secret not in stored


def test_sign_out_and_revocation_end_sessions_and_expired_ones_are_swept(db: Database) -> None:
    alice, bob = _token(db, "alice"), _token(db, "bob")
    with db.session() as s:
        old, _ = create_session(s, alice, lifetime=timedelta(minutes=5), now=lambda: T0)
        mine, _ = create_session(s, alice, now=lambda: T0)
        theirs, _ = create_session(s, bob, now=lambda: T0)
    with db.session() as s:
        assert delete_session(s, mine) is True
        assert delete_session(s, mine) is False
        revoke_token(s, bob)
        # A new sign-in removes sessions that have expired by then.
        create_session(s, alice, now=lambda: T0 + timedelta(hours=1))
    with db.session(readonly=True) as s:
        assert session_token(s, mine, now=lambda: T0) is None
        assert session_token(s, theirs, now=lambda: T0) is None
        count = s.execute(text("SELECT count(*) FROM web_sessions")).scalar_one()
    # Left: bob's (its token is revoked, so it no longer signs anyone in) and the new one.
    assert count == 2 and old
