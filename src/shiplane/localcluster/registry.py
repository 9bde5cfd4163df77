"""A local OCI distribution registry (Debian's `docker-registry`) on 127.0.0.1, for the
demo and the tests: TLS with a throwaway CA made by openssl, htpasswd (bcrypt) auth,
deletes enabled, and optionally its `notifications` endpoint calling Shiplane.

`start_registry` writes the config under a directory of its own and starts the registry
detached (so it outlives the CLI that started it, as the demo needs), records its PID in
`registry.pid`, and waits until it answers; `stop_registry` / `stop_registry_in` stop it
by that PID, only while the PID still runs this registry's config. `LocalRegistry`
pushes images through the registry's own HTTP API, as CI would (config blob, layer
blob, manifest; or a multi-platform index), and deletes them.

A tool layer, like the local clusters: only the CLI and tests import it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from shiplane.localcluster import procs

REGISTRY_BIN = os.environ.get("SHIPLANE_REGISTRY_BIN", "/usr/bin/docker-registry")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
PID_FILE = "registry.pid"
CONFIG_FILE = "config.yml"
READY_TIMEOUT = 30.0


class LocalRegistryError(RuntimeError):
    """The registry could not be started, or refused a push."""


def registry_binary() -> str | None:
    """The registry's path, or None when it is not installed."""
    found = shutil.which(REGISTRY_BIN)
    if found is not None:
        return found
    return REGISTRY_BIN if Path(REGISTRY_BIN).is_file() else None


def make_ca(root: Path, host_ip: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server.key): a throwaway CA and a server cert for `host_ip`."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=root)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=shiplane-local-ca", "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={host_ip}",
        "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (root / "san.cnf").write_text(f"subjectAltName=IP:{host_ip}\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.pem")  # fmt: skip
    return root / "ca.pem", root / "server.pem", root / "server.key"


def htpasswd_line(user: str, password: str, rounds: int | None = None) -> str:
    """`user:bcrypt-hash` for the registry's htpasswd file; `rounds` (a power of two,
    16 = cost 4) defaults to crypt's (cost 12). The registry checks the password on every
    request: at cost 12 that is ~250 ms each on a small machine."""
    # bcrypt (the only hash the registry accepts) from libxcrypt through `crypt`,
    # deprecated but present in the Python this project runs on (3.11).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        salt = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=rounds)  # noqa: S324 (bcrypt)
        return f"{user}:{crypt.crypt(password, salt)}\n"


class ChallengeAuth(httpx.Auth):
    """Basic credentials, or a bearer token from the challenge's realm (push and pull)."""

    def __init__(self, user: str, password: str, ca_file: str) -> None:
        self.basic = httpx.BasicAuth(user, password)
        self.user, self.password, self.ca_file = user, password, ca_file

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        challenge = response.headers.get("www-authenticate", "")
        if response.status_code != 401:
            return
        if challenge.lower().startswith("basic"):
            yield from self.basic.auth_flow(request)
            return
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        found = re.match(r"^/v2/(.+?)/(?:blobs|manifests|tags)/", request.url.path)
        if found is None or "realm" not in params:
            return  # nothing to ask a token for: the 401 stands
        scope = f"repository:{found.group(1)}:pull,push,delete"
        query = {"service": params.get("service", ""), "scope": scope}
        answer = httpx.get(
            params["realm"], params=query, auth=(self.user, self.password),
            verify=self.ca_file, timeout=15,
        )  # fmt: skip
        request.headers["Authorization"] = f"Bearer {answer.json()['token']}"
        yield request


@dataclass
class LocalRegistry:
    host: str  # 127.0.0.1:PORT
    root: Path  # its config, certificates, storage, log and PID file
    pid: int
    user: str
    password: str

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    @property
    def ca_file(self) -> Path:
        return self.root / "ca.pem"

    @property
    def log_path(self) -> Path:
        return self.root / "registry.log"

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
        _expect(start, 202, f"start a blob upload to {repository}")
        location = start.headers["location"]
        joiner = "&" if "?" in location else "?"
        done = http.put(
            f"{location}{joiner}digest={digest}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        _expect(done, 201, f"upload a blob to {repository}")
        return digest

    def _manifest(
        self, repository: str, platform: str, created: str | None, annotate: bool
    ) -> bytes:
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
        return json.dumps(manifest, sort_keys=True).encode()

    def _put(self, repository: str, reference: str, body: bytes, media: str) -> str:
        with self.client() as http:
            answer = http.put(
                f"/v2/{repository}/manifests/{reference}",
                content=body,
                headers={"Content-Type": media},
            )
        _expect(answer, 201, f"put manifest {repository}:{reference}")
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
        body = self._manifest(repository, platform, created, annotate)
        return self._put(repository, tag, body, OCI_MANIFEST)

    def push_index(
        self, repository: str, tag: str, platforms: list[str], created: str | None = None
    ) -> tuple[str, dict[str, str]]:
        """A multi-platform index under `tag`: (index digest, digest per platform)."""
        digests: dict[str, str] = {}
        entries = []
        for platform in platforms:
            body = self._manifest(repository, platform, created, False)
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
        _expect(answer, 202, f"delete {repository}@{digest}")

    def log_tail(self, lines: int = 30) -> str:
        return procs.log_tail(self.log_path, lines)


def _expect(answer: httpx.Response, status: int, what: str) -> None:
    if answer.status_code != status:
        raise LocalRegistryError(
            f"the registry refused to {what}: {answer.status_code} {answer.text[:300]}"
        )


def start_registry(
    root: Path,
    *,
    user: str,
    password: str,
    port: int | None = None,
    auth: str | None = None,
    notifications: str = "",
    bcrypt_rounds: int | None = None,
) -> LocalRegistry:
    """Start a registry under `root` (reusing its storage and certificates when there);
    `auth`: the config's `auth:` line (htpasswd for `user` by default, hashed with
    `bcrypt_rounds`, see `htpasswd_line`); `notifications`: the config's
    `notifications:` section (none by default)."""
    binary = registry_binary()
    if binary is None:
        raise LocalRegistryError(
            f"the OCI registry was not found at {REGISTRY_BIN}: install Debian's package with "
            "`apt-get install docker-registry` (scripts/ensure-system-deps.sh does it as "
            "root), or point SHIPLANE_REGISTRY_BIN at a registry binary"
        )
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "ca.pem").exists():
        make_ca(root)
    (root / "htpasswd").write_text(htpasswd_line(user, password, bcrypt_rounds))
    port = port or procs.free_port()
    config = root / CONFIG_FILE
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
        "http:\n"
        f"  addr: 127.0.0.1:{port}\n"
        f"  tls: {{certificate: {root / 'server.pem'}, key: {root / 'server.key'}}}\n"
        + (auth or f"auth: {{htpasswd: {{realm: shiplane-local, path: {root / 'htpasswd'}}}}}\n")
        + notifications
    )
    pid = procs.start_process([binary, "serve", str(config)], root / "registry.log")
    (root / PID_FILE).write_text(f"{pid}\n")
    registry = LocalRegistry(f"127.0.0.1:{port}", root, pid, user, password)
    waited = procs.wait_ready(pid, lambda: _answers(registry), timeout=READY_TIMEOUT)
    if waited == "exited":
        raise LocalRegistryError(f"the registry exited:\n{registry.log_tail()}")
    if waited == "timed out":
        stop_registry(registry)
        raise LocalRegistryError(
            f"the registry on {registry.host} did not answer within {READY_TIMEOUT:.0f}s:\n"
            f"{registry.log_tail()}"
        )
    return registry


def _answers(registry: LocalRegistry) -> bool:
    try:
        answer = httpx.get(f"{registry.url}/v2/", verify=str(registry.ca_file), timeout=2)
    except httpx.HTTPError:
        return False
    return answer.status_code in (200, 401)


def stop_registry(registry: LocalRegistry) -> None:
    """Stop it by its PID (SIGTERM, then SIGKILL)."""
    procs.stop_process(registry.pid, must_contain=str(registry.root / CONFIG_FILE))


def stop_registry_in(root: Path) -> bool:
    """Stop the registry started under `root` by the PID it recorded; False when none
    runs there (no PID file, or the PID now runs something else)."""
    return procs.stop_recorded(root / PID_FILE, must_contain=str(root / CONFIG_FILE))


__all__ = [
    "OCI_INDEX",
    "OCI_MANIFEST",
    "LocalRegistry",
    "LocalRegistryError",
    "make_ca",
    "registry_binary",
    "start_registry",
    "stop_registry",
    "stop_registry_in",
]
