"""Pinned charts: the exact chart version a release names, pulled once by the real `helm`
and kept in a content cache.

A release that pins an app's chart (`charts: {app: "1.4.2@sha256:..."}`) is rendered
from that chart version instead of the vendored directory at `manifests.path`. The chart
is pulled with `helm pull` from the app's `chart.repository` (an `http(s)://` repository
with an `index.yaml`, or `oci://`) into `<root>/<key>/`, keyed by (repository, name,
version). A cached chart needs no network; a pull is verified against the digest the
release recorded (the sha256 of the package for an index repository, helm's printed
manifest digest for OCI) and kept only when it matches.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shiplane.domain.errors import ExternalError, InvalidError
from shiplane.gitops.process import ProcessStartError, run_process
from shiplane.gitops.redact import tail

_OCI_DIGEST = re.compile(r"^Digest:\s*(sha256:[0-9a-f]{64})\s*$", re.MULTILINE)
_DIGEST_FILE = "digest"
_CHART_DIR = "chart"


class ChartPullError(ExternalError):
    """`helm pull` failed: the repository is unreachable or has no such version."""


class ChartDigestError(InvalidError):
    """The pulled chart is not the one the release recorded (its digest differs)."""


@dataclass(frozen=True)
class ChartAccess:
    """How helm reaches the chart repository (from a chart source of the same chart)."""

    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    plain_http: bool = False  # an `oci://` registry on loopback without TLS


@dataclass(frozen=True)
class PulledChart:
    directory: Path
    """The unpacked chart (its `Chart.yaml` at the top); shared, read-only."""
    digest: str
    """`sha256:...` of the package (index repository) or of the OCI manifest."""


def cache_key(repository: str, name: str, version: str) -> str:
    text = f"{repository.rstrip('/')}\0{name}\0{version}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class ChartCache:
    """Charts pulled by `helm` (path given, or found on use) into `root`."""

    def __init__(self, root: Path, helm: Path | None = None, *, timeout: float = 120.0) -> None:
        self.root = Path(root)
        self._helm = helm
        self.timeout = timeout
        self.pulls = 0  # helm pulls made (tests assert that a cached chart needs none)

    def helm(self) -> Path:
        from shiplane.gitops.renderers.context import Tools

        return self._helm or Tools.from_environment().helm_path()

    async def fetch(
        self,
        repository: str,
        name: str,
        version: str,
        digest: str | None = None,
        access: ChartAccess | None = None,
    ) -> PulledChart:
        """The unpacked chart `name` at `version` from `repository`: cached, or pulled now
        (ChartPullError). With `digest`, a chart whose digest differs is refused
        (ChartDigestError), cached or not."""
        dest = self.root / cache_key(repository, name, version)
        found = _cached(dest)
        if found is None:
            found = await self._pull(dest, repository, name, version, access or ChartAccess())
        if digest is not None and found.digest != digest:
            raise ChartDigestError(
                f"chart {name} {version} from {repository} has digest {found.digest}, but the "
                f"release recorded {digest}: the repository now serves another package under "
                "that version (republished); refusing to render it"
            )
        return found

    async def _pull(
        self, dest: Path, repository: str, name: str, version: str, access: ChartAccess
    ) -> PulledChart:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name[:8]}.", dir=self.root))
        try:
            package_dir = tmp / "package"
            package_dir.mkdir()
            output = await self._helm_pull(tmp, package_dir, repository, name, version, access)
            oci = repository.startswith("oci://")
            found = await asyncio.to_thread(_publish, tmp, dest, name, version, output, oci)
            self.pulls += 1
            return found
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    async def _helm_pull(
        self,
        home: Path,
        destination: Path,
        repository: str,
        name: str,
        version: str,
        access: ChartAccess,
    ) -> str:
        helm = self.helm()
        argv = [str(helm), "pull", "--version", version, "--destination", str(destination)]
        if repository.startswith("oci://"):
            chart = f"{repository.rstrip('/')}/{name}"
            if access.plain_http:
                argv.append("--plain-http")
        else:
            chart = name
            argv += ["--repo", repository]
        if access.ca_file:
            argv += ["--ca-file", access.ca_file]
        if access.username is not None and repository.startswith("oci://"):
            # OCI: in helm's registry config (a file in the private home), not on argv.
            host = repository.removeprefix("oci://").partition("/")[0]
            await asyncio.to_thread(_write_registry_config, home, host, access)
        elif access.username is not None:
            argv += ["--username", access.username, "--password", access.password or ""]
        argv += ["--", chart]  # a chart name is never read as an option
        try:
            result = await run_process(
                argv, cwd=home, env=_pull_environment(home), timeout=self.timeout
            )
        except ProcessStartError as exc:
            raise ChartPullError(
                f"cannot run helm ({exc}): set SHIPLANE_HELM to its path or put helm on PATH"
            ) from None
        shown = f"helm pull {name} {version} from {repository}"
        if result.timed_out:
            raise ChartPullError(
                f"{shown} did not finish within {self.timeout:.0f}s", retryable=True
            )
        if result.returncode != 0:
            text = result.stderr_text() or result.stdout_text()
            if access.password:
                text = text.replace(access.password, "***")
            raise ChartPullError(
                f"{shown} failed: {tail(text, lines=5, chars=800)}", retryable=True
            )
        return result.stdout_text() + result.stderr_text()


def _publish(tmp: Path, dest: Path, name: str, version: str, output: str, oci: bool) -> PulledChart:
    """Digest, unpack and rename the pull in `tmp` into place (worker thread)."""
    packages = sorted((tmp / "package").glob("*.tgz"))
    if len(packages) != 1:
        raise ChartPullError(f"helm pull of {name} {version} left no chart package")
    if oci:
        match = _OCI_DIGEST.search(output)
        if match is None:
            raise ChartPullError(f"helm pull of {name} {version} printed no digest")
        digest = match.group(1)
    else:  # what `helm repo index` records: the sha256 of the package
        digest = "sha256:" + hashlib.sha256(packages[0].read_bytes()).hexdigest()
    _unpack(packages[0], tmp / _CHART_DIR)
    chart = _chart_root(tmp / _CHART_DIR, name)
    (tmp / _DIGEST_FILE).write_text(digest + "\n")
    for child in tmp.iterdir():  # only the chart and its digest are kept (no helm homes,
        if child.name not in (_CHART_DIR, _DIGEST_FILE):  # no registry credentials)
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    try:
        tmp.rename(dest)
    except OSError:
        if not dest.is_dir():  # not lost to an identical concurrent pull
            raise
    return PulledChart(dest / chart.relative_to(tmp), digest)


def _write_registry_config(home: Path, host: str, access: ChartAccess) -> None:
    pair = f"{access.username}:{access.password or ''}".encode()
    config = {"auths": {host: {"auth": base64.b64encode(pair).decode()}}}
    path = home / "registry.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps(config))


def _cached(dest: Path) -> PulledChart | None:
    with contextlib.suppress(OSError):
        digest = (dest / _DIGEST_FILE).read_text().strip()
        charts = [p.parent for p in (dest / _CHART_DIR).glob("*/Chart.yaml")]
        if digest and len(charts) == 1:
            return PulledChart(charts[0], digest)
    return None


def _pull_environment(home: Path) -> dict[str, str]:
    """helm with its own empty homes (no repositories or plugins of the host user); the
    network is allowed: pulling is the one thing it is run for here."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(home),
        "LANG": "C",
        "LC_ALL": "C",
        "HELM_CACHE_HOME": str(home / "helm-cache"),
        "HELM_CONFIG_HOME": str(home / "helm-config"),
        "HELM_DATA_HOME": str(home / "helm-data"),
        "HELM_PLUGINS": str(home / "helm-plugins"),
        "HELM_REGISTRY_CONFIG": str(home / "registry.json"),
    }
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        if proxy in os.environ:
            env[proxy] = os.environ[proxy]
    return env


def _unpack(package: Path, into: Path) -> None:
    """Unpack a chart package; members that would land outside `into` are refused."""
    into.mkdir()
    try:
        with tarfile.open(package, "r:gz") as archive:
            for member in archive.getmembers():
                target = (into / member.name).resolve()
                if not target.is_relative_to(into.resolve()) or member.issym() or member.islnk():
                    raise ChartPullError(
                        f"chart package {package.name}: unsafe entry {member.name}"
                    )
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    source = archive.extractfile(member)
                    if source is not None:
                        target.write_bytes(source.read())
    except tarfile.TarError as exc:
        raise ChartPullError(f"chart package {package.name} is not a gzip tar: {exc}") from None


def _chart_root(unpacked: Path, name: str) -> Path:
    chart = unpacked / name
    if not (chart / "Chart.yaml").is_file():
        raise ChartPullError(f"the package of chart {name} has no {name}/Chart.yaml")
    return chart
