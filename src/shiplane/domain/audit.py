"""Audit trail rules: secret masking, canonical serialization and hash chaining. Pure.

Chain format (docs/store.md spells it out for third-party verifiers):

    fields = {"seq", "time", "actor", "action", "subject", "app", "environment", "details"}
    hash   = sha256_hex(prev_hash + canonical_json(fields))

with `prev_hash` the hash of the event with seq - 1 (GENESIS_HASH for the first event),
`time` as "YYYY-MM-DDTHH:MM:SS.ffffffZ" in UTC, and canonical_json = JSON with sorted
keys, separators "," and ":", non-ASCII kept as UTF-8. Including `seq` in the hashed
fields means that renumbering events breaks the chain too.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
MASK = "***"

_SECRET_KEY = re.compile(
    r"password|passwd|secret|token|apikey|api_key|api-key|authorization|credential|private_key",
    re.IGNORECASE,
)
# Keys naming an identifier of a secret-bearing thing ("token_id", "secret_ids") are not
# secrets themselves, and audit events about tokens need them to be useful.
_IDENTIFIER_KEY = re.compile(r"(?:[_-][iI][dD][sS]?|I[dD][sS]?)$")
# Shiplane API tokens (shp_ + 43 urlsafe chars) are masked wherever they appear in a
# string, so a token pasted into a free-text field ("reason") never lands in the trail.
_SHIPLANE_TOKEN = re.compile(r"shp_[A-Za-z0-9_-]{20,}")


def is_secret_key(key: str) -> bool:
    if _SECRET_KEY.search(key) is None:
        return False
    return _IDENTIFIER_KEY.search(key) is None


def mask_secrets(value: Any) -> Any:
    """Return a copy of `value` with secret-looking keys' values replaced by "***".

    Walks dicts, lists and tuples recursively. None stays None (there is nothing to hide,
    and "***" would suggest that a secret was set).
    """
    if isinstance(value, Mapping):
        masked: dict[str, Any] = {}
        for key, item in value.items():
            skey = str(key)
            if is_secret_key(skey) and item is not None:
                masked[skey] = MASK
            else:
                masked[skey] = mask_secrets(item)
        return masked
    if isinstance(value, list | tuple):
        return [mask_secrets(item) for item in value]
    if isinstance(value, str):
        return _SHIPLANE_TOKEN.sub("shp_" + MASK, value)
    return value


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    # Anything else (UUID, Decimal, Path, enums): its string form. Details are a record
    # for humans, and refusing an event here would lose the record of a real change.
    return str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def normalize_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """Masked, JSON-round-tripped details: exactly what the store will read back, so the
    hash computed now matches the hash recomputed by a verifier later."""
    result: dict[str, Any] = json.loads(canonical_json(mask_secrets(details)))
    return result


def as_utc(value: datetime) -> datetime:
    """Aware UTC datetime; naive values are taken to be UTC already (SQLite returns them)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_time(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_fields(
    *,
    seq: int,
    time: datetime,
    actor: str,
    action: str,
    subject: str,
    app: str | None,
    environment: str | None,
    details: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "seq": seq,
        "time": format_time(time),
        "actor": actor,
        "action": action,
        "subject": subject,
        "app": app,
        "environment": environment,
        "details": dict(details),
    }


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    data = (prev_hash + canonical_json(dict(fields))).encode("utf-8")
    return hashlib.sha256(data).hexdigest()
