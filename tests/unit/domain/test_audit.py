from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shiplane.domain import audit as a

T0 = datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC)


def _fields(seq: int = 1, **overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "seq": seq,
        "time": T0,
        "actor": "alice",
        "action": "release.create",
        "subject": "rel-1",
        "app": "checkout",
        "environment": None,
        "details": {"b": 1, "a": [1, "x"]},
    }
    base.update(overrides)
    return a.event_fields(**base)  # type: ignore[arg-type]


def test_canonical_json_is_sorted_and_compact() -> None:
    assert a.canonical_json({"b": 1, "a": {"d": 2, "c": "é"}}) == '{"a":{"c":"é","d":2},"b":1}'


def test_chain_hash_matches_documented_formula() -> None:
    fields = _fields()
    assert fields["time"] == "2026-11-26T12:00:00.123456Z"
    expected = hashlib.sha256(
        (a.GENESIS_HASH + json.dumps(fields, sort_keys=True, separators=(",", ":"))).encode()
    ).hexdigest()
    assert a.chain_hash(a.GENESIS_HASH, fields) == expected


def test_chain_hash_changes_with_any_field_and_prev() -> None:
    base = a.chain_hash(a.GENESIS_HASH, _fields())
    assert a.chain_hash("1" * 64, _fields()) != base
    assert a.chain_hash(a.GENESIS_HASH, _fields(seq=2)) != base
    assert a.chain_hash(a.GENESIS_HASH, _fields(actor="bob")) != base
    assert a.chain_hash(a.GENESIS_HASH, _fields(details={"b": 2, "a": [1, "x"]})) != base
    assert a.chain_hash(a.GENESIS_HASH, _fields(time=T0 + timedelta(microseconds=1))) != base
    # Key order in details does not matter (canonical form).
    assert a.chain_hash(a.GENESIS_HASH, _fields(details={"a": [1, "x"], "b": 1})) == base


def test_time_is_normalised_to_utc() -> None:
    cet = timezone(timedelta(hours=1))
    same = T0.astimezone(cet)
    assert a.format_time(same) == a.format_time(T0)
    assert a.format_time(T0.replace(tzinfo=None)) == a.format_time(T0)  # naive = UTC


def test_chain_of_three() -> None:
    prev = a.GENESIS_HASH
    hashes = []
    for seq in (1, 2, 3):
        prev = a.chain_hash(prev, _fields(seq=seq))
        hashes.append(prev)
    assert len(set(hashes)) == 3


def test_mask_secrets_recursive_case_insensitive() -> None:
    details = {
        "Password": "hunter2",
        "db": {"DB_PASSWORD": "x", "user": "app", "nested": [{"apiKey": "k"}, {"ok": 1}]},
        "headers": {"Authorization": "Bearer abc", "X-Api-Key": "k2"},
        "client_secret": "s",
        "refresh_token": "t",
        "private_key": "-----BEGIN",
        "credentials": {"user": "u", "pass": "p"},
        "token_id": "tok-1",
        "tokenIds": ["tok-2"],
        "reason": "pasted shp_abcdefghijklmnopqrstuvwxyz0123 by mistake",
        "empty_secret": None,
        "count": 3,
    }
    masked = a.mask_secrets(details)
    assert masked["Password"] == a.MASK
    assert masked["db"]["DB_PASSWORD"] == a.MASK
    assert masked["db"]["user"] == "app"
    assert masked["db"]["nested"] == [{"apiKey": a.MASK}, {"ok": 1}]
    assert masked["headers"] == {"Authorization": a.MASK, "X-Api-Key": a.MASK}
    assert masked["client_secret"] == a.MASK
    assert masked["refresh_token"] == a.MASK
    assert masked["private_key"] == a.MASK
    assert masked["credentials"] == a.MASK  # the whole structure under a secret key
    assert masked["token_id"] == "tok-1"  # identifiers are not secrets
    assert masked["tokenIds"] == ["tok-2"]
    assert masked["reason"] == "pasted shp_*** by mistake"
    assert masked["empty_secret"] is None
    assert masked["count"] == 3
    assert details["Password"] == "hunter2"  # input untouched


@pytest.mark.parametrize(
    "key",
    ["password", "passwd", "SECRET", "token", "apikey", "api_key", "authorization",
     "credential", "private_key", "AWS_SECRET_ACCESS_KEY", "githubToken"],
)  # fmt: skip
def test_secret_keys(key: str) -> None:
    assert a.is_secret_key(key)


@pytest.mark.parametrize("key", ["user", "name", "token_id", "secret-id", "reason", "valid"])
def test_non_secret_keys(key: str) -> None:
    assert not a.is_secret_key(key)


def test_normalize_details_round_trips_json() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    out = a.normalize_details({"at": when, "tags": ("a", "b"), "n": {1: "x"}, "s": {2, 1}})
    assert out == {"at": "2026-01-02T03:04:05.000000Z", "tags": ["a", "b"], "n": {"1": "x"},
                   "s": [1, 2]}  # fmt: skip
    assert json.loads(a.canonical_json(out)) == out
