"""`shiplane login --sso`: the authorization code flow with PKCE through a loopback
redirect (RFC 8252, as `gh auth login` and kubelogin do), docs/sso.md.

The CLI asks the server where to send the person (`GET /sso`), listens on 127.0.0.1 on
a free port (or `--port`), opens the browser (or prints the URL) and waits for the
provider to redirect back with the code. It checks the state, then hands the code, its
PKCE verifier and nonce to the server (`POST /sso/token`), which alone holds the client
secret: it exchanges the code, validates the ID token (nonce included) and answers a
short-lived API token for this person. The CLI never sees the client secret nor keeps
an ID token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from shiplane.cli.client import ApiClient, CliFailure

CALLBACK_PATH = "/callback"
_PAGE = (
    "<!doctype html><html lang='en'><meta charset='utf-8'><title>Shiplane</title>"
    "<body><p>{message}</p><p>You can close this window.</p></body></html>"
)


@dataclass(frozen=True)
class Redirect:
    """What the provider sent back to the loopback listener."""

    code: str | None
    state: str | None
    error: str | None


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class _Listener:
    """One-shot HTTP server on 127.0.0.1 that keeps the first redirect to /callback."""

    def __init__(self, port: int) -> None:
        self.received: Redirect | None = None
        self._done = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH or listener._done.is_set():
                    self.send_response(404)
                    self.end_headers()
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                listener.received = Redirect(
                    query.get("code"),
                    query.get("state"),
                    query.get("error_description") or query.get("error"),
                )
                listener._done.set()
                message = (
                    "Signed in: return to your terminal."
                    if listener.received.error is None
                    else "Sign-in failed: see your terminal."
                )
                body = _PAGE.format(message=message).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        try:
            self.server = HTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise CliFailure(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def wait(self, timeout: float) -> Redirect | None:
        self._done.wait(timeout)
        return self.received

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def sso_login(
    client: ApiClient,
    *,
    port: int,
    timeout: float,
    show: Callable[[str], None],
) -> dict[str, Any]:
    """Run the flow; the server's answer (`token`, `name`, `role`, ...)."""
    info = client.get("/sso")
    verifier = secrets.token_urlsafe(48)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    listener = _Listener(port or int(info.get("cli_port") or 0))
    try:
        redirect_uri = f"http://127.0.0.1:{listener.port}{CALLBACK_PATH}"
        query = {
            "response_type": "code",
            "client_id": info["client_id"],
            "redirect_uri": redirect_uri,
            "scope": " ".join(info["scopes"]),
            "state": state,
            "nonce": nonce,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
        show(f"{info['authorization_endpoint']}?{urlencode(query)}")
        deadline = time.monotonic() + timeout
        received = listener.wait(max(0.0, deadline - time.monotonic()))
    finally:
        listener.close()
    if received is None:
        raise CliFailure(f"no sign-in came back within {int(timeout)} s; run the command again")
    if not hmac.compare_digest(received.state or "", state):
        raise CliFailure("the sign-in's state does not match (forged or stale); nothing was saved")
    if received.error is not None or not received.code:
        raise CliFailure(f"the SSO provider refused: {received.error or 'no code'}")
    body = {
        "code": received.code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        "nonce": nonce,
    }
    answer: dict[str, Any] = client.request("POST", "/sso/token", json=body)
    return answer
