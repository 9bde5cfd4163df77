"""Remote URLs: the form git is given, and the cache directory key of a remote."""

from __future__ import annotations

import hashlib
from pathlib import Path

from shiplane.gitops.redact import scrub, split_userinfo


def normalise_remote(url: str) -> str:
    """Absolute form of a local path remote; other URLs unchanged.

    git runs in the working copy, so a relative path would be resolved from the wrong
    directory. `ext::` and unknown schemes are refused (GIT_ALLOW_PROTOCOL would too).
    """
    if "://" in url:
        scheme = url.split("://", 1)[0].lower()
        if scheme not in {"file", "git", "http", "https", "ssh"}:
            raise ValueError(f"unsupported git remote scheme {scheme!r} in {scrub(url)}")
        return url.rstrip("/") if scheme != "file" else url
    if url.startswith("ext::") or "::" in url:
        raise ValueError(f"unsupported git remote {scrub(url)!r}")
    head = url.split("/", 1)[0]
    if ":" in head and not url.startswith("/"):
        return url  # scp-like ssh: user@host:path
    return str(Path(url).expanduser().resolve())


def cache_key(url: str) -> str:
    clean, _, _ = split_userinfo(url)
    return hashlib.sha256(clean.encode()).hexdigest()[:20]
