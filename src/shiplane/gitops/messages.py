"""Commit messages with trailers (DESIGN.md, "GitOps repository layout"). Pure.

    promote checkout 1.4.2 (rel-3f9c2a) to staging

    Shiplane-Promotion: prm-01J...
    Shiplane-Release: rel-3f9c2a...
    Shiplane-Actor: alice

Trailers are what makes a commit recognisable after a crash, so their keys and values
are validated strictly: one line each, keys in git's trailer alphabet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TRAILER_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")


def check_trailer(key: str, value: str) -> None:
    if not _TRAILER_KEY.fullmatch(key):
        raise ValueError(f"invalid trailer key {key!r}: use letters, digits and '-'")
    if not value.strip() or value != value.strip() or any(c in value for c in "\r\n\0"):
        raise ValueError(
            f"invalid value for trailer {key}: {value!r} (one non-empty line, no padding)"
        )


def format_commit_message(message: str, trailers: Mapping[str, str]) -> str:
    """Subject (and optional body), a blank line, then one `Key: value` line per trailer."""
    text = message.strip()
    if not text:
        raise ValueError("a commit message needs a subject line")
    if "\0" in text:
        raise ValueError("a commit message cannot contain NUL")
    for key, value in trailers.items():
        check_trailer(key, value)
    if not trailers:
        return text + "\n"
    block = "\n".join(f"{key}: {value}" for key, value in trailers.items())
    return f"{text}\n\n{block}\n"


def parse_trailer_lines(text: str) -> tuple[tuple[str, str], ...]:
    """Pairs from git's `%(trailers:only,unfold)` output: one `Key: value` per line."""
    pairs: list[tuple[str, str]] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and _TRAILER_KEY.fullmatch(key.strip()):
            pairs.append((key.strip(), value.strip()))
    return tuple(pairs)
