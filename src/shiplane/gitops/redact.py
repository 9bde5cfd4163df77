"""Scrubbing credentials out of text before it reaches an error, a log line or argv. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

# scheme://userinfo@host  ->  scheme://***@host (userinfo cannot contain "/" or spaces).
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/\s@]+@")
# Literal secrets shorter than this are not replaced: a one-letter password would
# otherwise garble every message, and git never echoes passwords anyway.
_MIN_SECRET_LEN = 4


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with URL userinfo masked and every literal secret replaced by `***`."""
    text = _URL_USERINFO.sub(r"\g<scheme>***@", text)
    for secret in secrets:
        if len(secret) >= _MIN_SECRET_LEN:
            text = text.replace(secret, "***")
    return text


def split_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """(url without userinfo, username, password) of a URL; other strings unchanged."""
    if "://" not in url:
        return url, None, None
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return clean, user, password


def tail(text: str, *, lines: int = 20, chars: int = 4000) -> str:
    """The last `lines` non-empty lines of `text`, at most `chars` characters."""
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    out = "\n".join(kept)
    if len(out) > chars:
        out = "..." + out[-chars:]
    return out
