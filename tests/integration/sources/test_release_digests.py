"""Immutable means digests: releases created through the API with a tag are resolved
against a real registry per `releases.digests` (require | prefer | off)."""

from __future__ import annotations

from pathlib import Path

from shiplane.config import load_project_text
from tests.support.oci_registry import OciRegistry, start_registry, stop_registry
from tests.unit.api.apphelpers import api_app


def project(registry: OciRegistry, creds: Path, policy: str, host: str | None = None) -> str:
    host = host or registry.host
    access = f"credentials: {{file: {creds}}}, caFile: {registry.ca_file}"
    return f"""
apiVersion: shiplane/v1alpha1
project: shop
clusters: {{local: {{kubeconfig: ~/.kube/config}}}}
environments: {{dev: {{cluster: local, namespace: shop-dev}}}}
apps:
  web: {{images: [{host}/dig/web], manifests: {{path: apps/web}}}}
releases: {{digests: {policy}}}
sources:
  web: {{image: {{repository: {host}/dig/web, {access}}}, apps: [web]}}
"""


def test_require_prefer_and_off(oci_registry: OciRegistry, tmp_path: Path) -> None:
    creds = tmp_path / "auth"
    creds.write_text(f"{oci_registry.user}:{oci_registry.password}\n")
    first = oci_registry.push_image("dig/web", "1.0.0")
    image = f"{oci_registry.host}/dig/web"

    config = load_project_text(project(oci_registry, creds, "require"))
    with api_app(tmp_path / "require", config) as api:
        promoter = api.token("promoter")
        made = api.client.post("/api/v1/releases", headers=promoter,
                               json={"artifacts": {"web": f"{image}:1.0.0"}})  # fmt: skip
        assert made.status_code == 201, made.text
        [artifact] = made.json()["artifacts"]
        assert artifact["ref"] == f"{image}:1.0.0@{first}"
        assert artifact["digest"] == first and artifact["unresolved"] is False
        # The tag moves: a new release (the digest is part of the contents).
        moved = oci_registry.push_image("dig/web", "1.0.0", created="2026-12-06T00:00:00Z")
        again = api.client.post("/api/v1/releases", headers=promoter,
                                json={"artifacts": {"web": f"{image}:1.0.0"}})  # fmt: skip
        assert again.status_code == 201 and again.json()["artifacts"][0]["digest"] == moved
        missing = api.client.post("/api/v1/releases", headers=promoter,
                                  json={"artifacts": {"web": f"{image}:9.9.9"}})  # fmt: skip
        assert missing.status_code == 422
        assert "does not exist in the registry" in missing.json()["detail"]

    down = start_registry(tmp_path / "down")
    stop_registry(down)
    down_ref = {"artifacts": {"web": f"{down.host}/dig/web:1.0.0"}}
    config = load_project_text(project(oci_registry, creds, "prefer", host=down.host))
    with api_app(tmp_path / "prefer", config) as api:
        made = api.client.post("/api/v1/releases", headers=api.token("promoter"), json=down_ref)
        assert made.status_code == 201, made.text
        [artifact] = made.json()["artifacts"]
        assert artifact["ref"] == f"{down.host}/dig/web:1.0.0"
        assert artifact["unresolved"] is True

    config = load_project_text(project(oci_registry, creds, "require", host=down.host))
    with api_app(tmp_path / "require-down", config) as api:
        refused = api.client.post("/api/v1/releases", headers=api.token("promoter"), json=down_ref)
        assert refused.status_code in (502, 503)
        assert "cannot resolve" in refused.json()["detail"]

    config = load_project_text(project(oci_registry, creds, "off"))
    with api_app(tmp_path / "off", config) as api:
        made = api.client.post("/api/v1/releases", headers=api.token("promoter"),
                               json={"artifacts": {"web": f"{image}:1.0.0"}})  # fmt: skip
        assert made.json()["artifacts"][0]["ref"] == f"{image}:1.0.0"
        assert made.json()["artifacts"][0]["unresolved"] is True
