"""API tokens on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from shiplane.domain.roles import Role, UnknownRoleError
from shiplane.store.db import Database
from shiplane.store.tokens import (
    authenticate,
    create_token,
    ensure_bootstrap_token,
    hash_token,
    list_tokens,
    revoke_token,
)


def _all_rows_text(db: Database) -> str:
    with db.session() as s:
        rows = s.execute(text("SELECT * FROM api_tokens")).all()
    return repr(rows)


def test_plaintext_never_stored(db: Database) -> None:
    with db.session() as s:
        record, plaintext = create_token(
            s, name="ci", role="promoter", environments=["dev", "qa"], created_by="alice"
        )
    assert plaintext.startswith("shp_") and len(plaintext) == 4 + 43
    assert record.role is Role.PROMOTER and record.environments == ["dev", "qa"]
    stored = _all_rows_text(db)
    assert plaintext not in stored
    assert plaintext[4:] not in stored
    assert hash_token(plaintext) in stored


def test_authenticate_good_bad_revoked(db: Database) -> None:
    with db.session() as s:
        record, plaintext = create_token(
            s, name="ci", role=Role.VIEWER, environments=[], created_by="alice"
        )
        _, other = create_token(s, name="x", role="admin", environments=[], created_by="alice")
    with db.session() as s:
        got = authenticate(s, plaintext)
        assert got is not None and got.id == record.id and got.last_used_at is not None
        assert authenticate(s, plaintext + "x") is None
        assert authenticate(s, "") is None
        assert authenticate(s, "shp_" + "A" * 43) is None
        assert authenticate(s, "x" * 10_000) is None
    with db.session() as s:
        revoked = revoke_token(s, record.id)
        assert revoked is not None and revoked.revoked_at is not None
        again = revoke_token(s, record.id)
        assert again is not None and again.revoked_at == revoked.revoked_at
        assert revoke_token(s, "tok-nope") is None
    with db.session() as s:
        assert authenticate(s, plaintext) is None
        assert authenticate(s, other) is not None
        assert [t.name for t in list_tokens(s)] == ["ci", "x"]


def test_last_used_is_throttled(db: Database) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with db.session() as s:
        _, plaintext = create_token(s, name="a", role="viewer", environments=[], created_by="x")
    with db.session() as s:
        first = authenticate(s, plaintext, now=lambda: t0)
        second = authenticate(s, plaintext, now=lambda: t0 + timedelta(seconds=10))
        third = authenticate(s, plaintext, now=lambda: t0 + timedelta(minutes=2))
    assert first is not None and second is not None and third is not None
    assert first.last_used_at == t0 and second.last_used_at == t0
    assert third.last_used_at == t0 + timedelta(minutes=2)


def test_bad_role(db: Database) -> None:
    with db.session() as s, pytest.raises(UnknownRoleError):
        create_token(s, name="a", role="root", environments=[], created_by="x")


def test_bootstrap_only_once(db: Database) -> None:
    with db.session() as s:
        plaintext = ensure_bootstrap_token(s, None)
    assert plaintext is not None and plaintext.startswith("shp_")
    with db.session() as s:
        assert ensure_bootstrap_token(s, None) is None
        assert ensure_bootstrap_token(s, "shp_" + "z" * 40) is None
        admin = authenticate(s, plaintext)
        assert admin is not None and admin.role is Role.ADMIN and admin.name == "bootstrap"
    assert plaintext not in _all_rows_text(db)


def test_bootstrap_from_given_plaintext(db: Database) -> None:
    given = "shp_test-bootstrap-token-0123456789"
    with db.session() as s:
        with pytest.raises(ValueError, match="too short"):
            ensure_bootstrap_token(s, "short")
        assert ensure_bootstrap_token(s, given) == given
    with db.session() as s:
        record = authenticate(s, given)
        assert record is not None and record.role is Role.ADMIN
        revoke_token(s, record.id)
    with db.session() as s, pytest.raises(ValueError, match="revoked"):
        # All admins revoked: a restart would mint one, but not from a revoked secret.
        ensure_bootstrap_token(s, given)
    with db.session() as s:
        fresh = ensure_bootstrap_token(s, None)
        assert fresh is not None and authenticate(s, fresh) is not None


def test_a_token_minted_by_sso_keeps_its_grant_and_ends_at_its_expiry(db: Database) -> None:
    from shiplane.store.tokens import SsoGrant
    from shiplane.store.web_sessions import create_session, session_token

    start = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    grant = SsoGrant(
        subject="https://idp.example#42",
        environment_roles=(("*", Role.VIEWER), ("prod", Role.APPROVER)),
        lifetime=timedelta(hours=1),
    )
    with db.session() as s:
        record, plaintext = create_token(
            s, name="alice", role=Role.APPROVER, environments=(), created_by="sso",
            groups=("shop:release-managers",), sso=grant, now=lambda: start,
        )  # fmt: skip
        secret, _ = create_session(s, record.id, now=lambda: start)
    assert record.subject == "https://idp.example#42"
    assert record.environment_roles == {"*": Role.VIEWER, "prod": Role.APPROVER}
    assert record.expires_at == start + timedelta(hours=1)
    just_before = start + timedelta(minutes=59)
    at_end = start + timedelta(hours=1)
    with db.session() as s:
        assert authenticate(s, plaintext, now=lambda: just_before, touch=False) is not None
        assert authenticate(s, plaintext, now=lambda: at_end, touch=False) is None
        assert session_token(s, secret, now=lambda: just_before) is not None
        assert session_token(s, secret, now=lambda: at_end) is None
