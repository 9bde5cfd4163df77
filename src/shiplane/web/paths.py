"""Where the web UI lives in the server's URL space."""

from __future__ import annotations

UI_PREFIX = "/ui"
UI_HOME = f"{UI_PREFIX}/"
SIGN_IN_PATH = f"{UI_PREFIX}/login"
SIGN_OUT_PATH = f"{UI_PREFIX}/logout"
EVENTS_PATH = f"{UI_PREFIX}/events"
ASSETS_PREFIX = f"{UI_PREFIX}/assets"
SSO_PREFIX = f"{UI_PREFIX}/sso"
SSO_START_PATH = f"{SSO_PREFIX}/start"
SSO_CALLBACK_PATH = f"{SSO_PREFIX}/callback"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path of the UI itself (an open redirect to
    another site, or `//host`, would let a link send a fresh session elsewhere)."""
    if (
        not target
        or not target.startswith(UI_HOME)
        or "//" in target
        or "\\" in target
        or any(ord(c) < 0x20 for c in target)
    ):
        return UI_HOME
    return target
