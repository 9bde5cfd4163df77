"""A real OCI distribution registry (Debian's `docker-registry`) for tests, on 127.0.0.1.

`oci_registry` (session-scoped) makes a throwaway CA and a server certificate for
127.0.0.1 with openssl, an htpasswd file (bcrypt) for one user, and starts
`/usr/bin/docker-registry serve` with TLS and htpasswd auth and deletes enabled. Tests
push images through the registry's own HTTP API (`push_image`: config blob, layer blob,
manifest; `push_index` for a multi-platform index) and delete them (`delete`). The
process is stopped by its PID at the end. A fixture plugin of tests/conftest.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.prometheus import free_port
from tests.support.wait import wait_for

__all__ = ["OciRegistry", "make_ca", "oci_registry"]

REGISTRY_BIN = os.environ.get("SHIPLANE_REGISTRY_BIN", "/usr/bin/docker-registry")
USER, PASSWORD = "ci", "s3cret-push-pw"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def make_ca(root: Path, host_ip: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server.key): a throwaway CA and a server cert for `host_ip`."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=root)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=shiplane-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={host_ip}",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    )
    (root / "san.cnf").write_text(f"subjectAltName=IP:{host_ip}\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
        "-out",
        "server.pem",
    )
    return root / "ca.pem", root / "server.pem", root / "server.key"


class ChallengeAuth(httpx.Auth):
    """Basic credentials, or a bearer token from the challenge's realm (push and pull)."""

    def __init__(self, user: str, password: str, ca_file: str) -> None:
        self.basic = httpx.BasicAuth(user, password)
        self.user, self.password, self.ca_file = user, password, ca_file

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        response = yield request
        challenge = response.headers.get("www-authenticate", "")
        if response.status_code != 401:
            return
        if challenge.lower().startswith("basic"):
            yield from self.basic.auth_flow(request)
            return
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        found = re.match(r"^/v2/(.+?)/(?:blobs|manifests|tags)/", request.url.path)
        assert found, request.url.path
        scope = f"repository:{found.group(1)}:pull,push,delete"
        query = {"service": params["service"], "scope": scope}
        answer = httpx.get(
            params["realm"], params=query, auth=(self.user, self.password),
            verify=self.ca_file, timeout=15,
        )  # fmt: skip
        request.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        yield request


@dataclass
class OciRegistry:
    host: str  # 127.0.0.1:PORT
    ca_file: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    user: str = USER
    password: str = PASSWORD

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            auth=ChallengeAuth(self.user, self.password, str(self.ca_file)),
            verify=str(self.ca_file),
            timeout=15,
        )

    def _blob(self, http: httpx.Client, repository: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = http.post(f"/v2/{repository}/blobs/uploads/")
        assert start.status_code == 202, start.text
        location = start.headers["location"]
        joiner = "&" if "?" in location else "?"
        done = http.put(
            f"{location}{joiner}digest={digest}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201, done.text
        return digest

    def _manifest(
        self, repository: str, platform: str, created: str | None, annotate: bool
    ) -> tuple[bytes, dict[str, Any]]:
        os_name, arch = platform.split("/")[:2]
        config: dict[str, Any] = {
            "architecture": arch,
            "os": os_name,
            "rootfs": {"type": "layers", "diff_ids": []},
        }
        if created:
            config["created"] = created
        with self.client() as http:
            config_bytes = json.dumps(config, sort_keys=True).encode()
            config_digest = self._blob(http, repository, config_bytes)
            layer = f"layer of {repository} {platform} {created}".encode()
            layer_digest = self._blob(http, repository, layer)
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config_bytes),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest,
                    "size": len(layer),
                }
            ],
        }
        if annotate and created:
            manifest["annotations"] = {"org.opencontainers.image.created": created}
        return json.dumps(manifest, sort_keys=True).encode(), manifest

    def _put(self, repository: str, reference: str, body: bytes, media: str) -> str:
        with self.client() as http:
            answer = http.put(
                f"/v2/{repository}/manifests/{reference}",
                content=body,
                headers={"Content-Type": media},
            )
        assert answer.status_code == 201, answer.text
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def push_image(
        self,
        repository: str,
        tag: str,
        *,
        created: str | None = None,
        platform: str = "linux/amd64",
        annotate: bool = False,
    ) -> str:
        """Push a small image under `tag`; its manifest digest. `created` goes into the
        image config (and with `annotate`, the manifest's created annotation)."""
        body, _ = self._manifest(repository, platform, created, annotate)
        return self._put(repository, tag, body, OCI_MANIFEST)

    def push_index(
        self, repository: str, tag: str, platforms: list[str], created: str | None = None
    ) -> tuple[str, dict[str, str]]:
        """A multi-platform index under `tag`: (index digest, digest per platform)."""
        digests: dict[str, str] = {}
        entries = []
        for platform in platforms:
            body, _ = self._manifest(repository, platform, created, False)
            digest = self._put(
                repository, "sha256:" + hashlib.sha256(body).hexdigest(), body, OCI_MANIFEST
            )
            digests[platform] = digest
            os_name, arch = platform.split("/")[:2]
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest,
                    "size": len(body),
                    "platform": {"os": os_name, "architecture": arch},
                }
            )
        index = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, sort_keys=True
        ).encode()
        return self._put(repository, tag, index, OCI_INDEX), digests

    def delete(self, repository: str, digest: str) -> None:
        """Delete a manifest (and with it every tag pointing at it)."""
        with self.client() as http:
            answer = http.delete(f"/v2/{repository}/manifests/{digest}")
        assert answer.status_code == 202, answer.text

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _htpasswd(user: str, password: str) -> str:
    # bcrypt (the only hash the registry accepts) from libxcrypt through `crypt`,
    # deprecated but present in the Python this project runs on (3.11).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        return f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # SIGTERM to this PID only
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def start_registry(
    root: Path, port: int | None = None, auth: str | None = None, notifications: str = ""
) -> OciRegistry:
    """Start a registry under `root` (reusing its storage and certificates when there);
    `auth`: the config's `auth:` line (htpasswd for USER by default); `notifications`:
    the config's `notifications:` section (none by default)."""
    binary = shutil.which(REGISTRY_BIN) or (REGISTRY_BIN if Path(REGISTRY_BIN).is_file() else None)
    if binary is None:
        pytest.fail(
            f"the OCI registry was not found at {REGISTRY_BIN}: install Debian's package with "
            "`apt-get install docker-registry` (scripts/ensure-system-deps.sh does it as "
            "root), or point SHIPLANE_REGISTRY_BIN at a registry binary"
        )
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "ca.pem").exists():
        make_ca(root)
    (root / "htpasswd").write_text(_htpasswd(USER, PASSWORD))
    port = port or free_port()
    (root / "config.yml").write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
        "http:\n"
        f"  addr: 127.0.0.1:{port}\n"
        f"  tls: {{certificate: {root / 'server.pem'}, key: {root / 'server.key'}}}\n"
        + (auth or f"auth: {{htpasswd: {{realm: shiplane-test, path: {root / 'htpasswd'}}}}}\n")
        + notifications
    )
    log_path = root / "registry.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [binary, "serve", str(root / "config.yml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=root,
        )
    registry = OciRegistry(f"127.0.0.1:{port}", root / "ca.pem", process, log_path)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the registry exited:\n{registry.log_tail()}")
        return (
            httpx.get(f"{registry.url}/v2/", verify=str(registry.ca_file), timeout=2).status_code
            == 401
        )

    try:
        wait_for(ready, timeout=30, interval=0.1, what=f"the registry on {registry.host}")
    except AssertionError:
        _stop(process)
        raise
    return registry


def stop_registry(registry: OciRegistry) -> None:
    _stop(registry.process)


@pytest.fixture(scope="session")
def oci_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OciRegistry]:
    """A real registry with TLS (throwaway CA) and htpasswd auth on 127.0.0.1."""
    registry = start_registry(tmp_path_factory.mktemp("oci-registry"))
    try:
        yield registry
    finally:
        stop_registry(registry)
