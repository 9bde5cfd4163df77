"""The demo's registry: CI pushes to a local OCI registry and makes no Shiplane API call.

Debian's `docker-registry` (`localcluster/registry.py`) on 127.0.0.1 with TLS (a
throwaway CA) and htpasswd auth; its `notifications` endpoint calls Shiplane's receiver
`POST /api/v1/hooks/registry` with a secret only the server and the registry know. The
demo project's apps take their images from it, and an image source watches it: a push
is a release in dev within seconds (docs/sources.md).
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from shiplane.localcluster.procs import free_port
from shiplane.localcluster.registry import (
    LocalRegistry,
    make_ca,
    start_registry,
    stop_registry_in,
)

UPSTREAM = "ghcr.io/stefanprodan/podinfo"  # the scaffold's image repository
REPOSITORY = "shop/podinfo"
SOURCE = "podinfo"
RECEIVER = "registry"
HOOK_ENV = "SHIPLANE_DEMO_REGISTRY_HOOK"  # the receiver's secret, in the server's env
PUSHER = "ci"


@dataclass(frozen=True)
class DemoRegistry:
    """Where the registry will listen and its secrets, chosen before the server starts
    (shiplane.yaml names the registry; the registry's config names the server)."""

    root: Path
    port: int
    password: str  # CI's push credentials; Shiplane reads them from `credentials_file`
    hook_secret: str

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def image(self) -> str:
        return f"{self.host}/{REPOSITORY}"

    @property
    def ca_file(self) -> Path:
        return self.root / "ca.pem"

    @property
    def credentials_file(self) -> Path:
        return self.root / "pull-credentials"


def plan_registry(root: Path) -> DemoRegistry:
    """A port, a CA and credentials for the registry under `root` (not started yet)."""
    root.mkdir(parents=True, exist_ok=True)
    make_ca(root)
    registry = DemoRegistry(
        root, free_port(), secrets.token_urlsafe(18), "hook-" + secrets.token_urlsafe(24)
    )
    registry.credentials_file.write_text(f"{PUSHER}:{registry.password}\n")
    registry.credentials_file.chmod(0o600)
    return registry


def source_config(registry: DemoRegistry) -> str:
    """What the demo adds to the scaffold's shiplane.yaml."""
    return f"""
# Added by `shiplane demo`: the apps' images come from a local OCI registry. An image
# source watches it (semver tags), and the registry's notifications call the receiver
# below, so a pushed tag becomes a release within seconds; polling is only the floor.
sources:
  {SOURCE}:
    image:
      repository: {registry.image}
      credentials: {{file: {registry.credentials_file}}}
      caFile: {registry.ca_file}
    apps: [web, api]
    interval: 5m
receivers:
  {RECEIVER}:                    # POST /api/v1/hooks/{RECEIVER}
    type: distribution
    secretEnv: {HOOK_ENV}
"""


def point_project_at(project: Path, registry: DemoRegistry) -> None:
    """Rewrite the scaffold's images to the local registry, add the source and the
    receiver to shiplane.yaml, and commit."""
    for path in sorted(project.rglob("*.yaml")):
        if ".git" in path.parts:
            continue
        text = path.read_text()
        if UPSTREAM in text:
            path.write_text(text.replace(UPSTREAM, registry.image))
    config = project / "shiplane.yaml"
    config.write_text(config.read_text() + source_config(registry))
    for args in (["add", "-A"], ["commit", "-q", "-m", "Images from the local registry"]):
        subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True)


def start(registry: DemoRegistry, server_url: str) -> LocalRegistry:
    """Start the registry, its notifications calling the server's receiver."""
    notifications = f"""notifications:
  endpoints:
    - name: shiplane
      url: {server_url}/api/v1/hooks/{RECEIVER}
      headers: {{Authorization: [Bearer {registry.hook_secret}]}}
      timeout: 2s
      threshold: 3
      backoff: 1s
"""
    return start_registry(
        registry.root,
        user=PUSHER,
        password=registry.password,
        port=registry.port,
        notifications=notifications,
        # bcrypt cost 4: the registry checks the password on every request, and a
        # throwaway password on loopback needs no cost 12 (~250 ms a request).
        bcrypt_rounds=16,
    )


def stop(root: Path) -> bool:
    """Stop the registry started under `root` by its PID; False when none runs."""
    return stop_registry_in(root)


__all__ = [
    "HOOK_ENV",
    "RECEIVER",
    "SOURCE",
    "DemoRegistry",
    "plan_registry",
    "point_project_at",
    "source_config",
    "start",
    "stop",
]
