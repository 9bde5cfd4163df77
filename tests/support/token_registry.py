"""A real registry with bearer-token auth: Debian's docker-registry configured with
`auth: token`, and a small token service on 127.0.0.1 (TLS) that checks basic
credentials and signs RS256 JWTs with openssl (the registry verifies them against the
signing certificate in `rootcertbundle`)."""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.oci_registry import PASSWORD, USER, OciRegistry, make_ca, start_registry
from tests.support.oci_registry import stop_registry as stop_oci_registry

__all__ = ["TokenRegistry", "token_registry"]
SERVICE, ISSUER = "shiplane-test-registry", "shiplane-test-issuer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenRegistry:
    registry: OciRegistry
    realm: str
    tokens_issued: list[str]


def _token_server(root: Path, requests: list[str]) -> ThreadingHTTPServer:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
         "/CN=shiplane-token-signer", "-keyout", "signer.key", "-out", "signer.pem"],
        check=True, capture_output=True, cwd=root,
    )  # fmt: skip
    der = subprocess.run(
        ["openssl", "x509", "-in", "signer.pem", "-outform", "DER"],
        check=True, capture_output=True, cwd=root,
    ).stdout  # fmt: skip

    def sign(claims: dict[str, Any]) -> str:
        header = {"alg": "RS256", "typ": "JWT", "x5c": [base64.b64encode(der).decode()]}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(root / "signer.key")],
            input=signing_input.encode(), check=True, capture_output=True,
        ).stdout  # fmt: skip
        return f"{signing_input}.{_b64(signature)}"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            auth = self.headers.get("Authorization", "")
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            requests.append(self.path)
            if auth != expected or query.get("service") != [SERVICE]:
                self.send_response(401)
                self.end_headers()
                return
            access = []
            for scope in query.get("scope", []):
                kind, name, actions = scope.split(":")
                access.append({"type": kind, "name": name, "actions": actions.split(",")})
            now = int(time.time())
            token = sign({"iss": ISSUER, "sub": USER, "aud": SERVICE, "exp": now + 300,
                          "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8),
                          "access": access})  # fmt: skip
            body = json.dumps({"token": token}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(root / "server.pem", root / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    return server


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenRegistry]:
    root = tmp_path_factory.mktemp("token-registry")
    make_ca(root)
    issued: list[str] = []
    server = _token_server(root, issued)
    realm = f"https://127.0.0.1:{server.server_address[1]}/token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    auth = (
        f"auth: {{token: {{realm: '{realm}', service: {SERVICE}, issuer: {ISSUER}, "
        f"rootcertbundle: {root / 'signer.pem'}}}}}\n"
    )
    registry = start_registry(root, auth=auth)
    try:
        yield TokenRegistry(registry, realm, issued)
    finally:
        stop_oci_registry(registry)
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
