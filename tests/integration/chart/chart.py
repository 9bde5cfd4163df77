"""Running the real `helm` on charts/shiplane: render, lint, install, and the example
values under charts/shiplane/ci/ that docs/install.md documents, one file per option."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shiplane.localcluster.build import binary_path

REPO_ROOT = Path(__file__).resolve().parents[3]
CHART = REPO_ROOT / "charts" / "shiplane"
EXAMPLES = CHART / "ci"

# Each documented option's example values (charts/shiplane/ci/<name>-values.yaml); the
# defaults are the scenario `default` (no file).
SCENARIOS = (
    "default",
    *sorted(p.name.removesuffix("-values.yaml") for p in EXAMPLES.glob("*-values.yaml")),
)


def values_file(scenario: str) -> list[str]:
    """`-f FILE` for a scenario, nothing for the defaults."""
    return [] if scenario == "default" else ["-f", str(EXAMPLES / f"{scenario}-values.yaml")]


@dataclass(frozen=True)
class HelmResult:
    returncode: int
    stdout: str
    stderr: str

    def ok(self) -> HelmResult:
        assert self.returncode == 0, f"helm failed ({self.returncode}):\n{self.stderr}{self.stdout}"
        return self


class Helm:
    """The helm binary `shiplane localcluster build` makes, with its own empty homes (no
    user repositories or plugins leak in) and, for cluster commands, one kubeconfig."""

    def __init__(self, home: Path, kubeconfig: Path | None = None) -> None:
        self.binary = Path(os.environ.get("SHIPLANE_HELM") or binary_path("helm", "helm"))
        self.env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }
        if kubeconfig is not None:
            self.env["KUBECONFIG"] = str(kubeconfig)

    def run(self, *args: str, timeout: float = 120.0) -> HelmResult:
        done = subprocess.run(
            [str(self.binary), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return HelmResult(done.returncode, done.stdout, done.stderr)

    def template(
        self,
        scenario: str = "default",
        sets: Sequence[str] = (),
        *,
        release: str = "r",
        namespace: str = "shiplane",
        values: Mapping[str, Any] | None = None,
    ) -> HelmResult:
        args = ["template", release, str(CHART), "--namespace", namespace]
        args += values_file(scenario) + set_args(sets) + self._values_args(values)
        return self.run(*args)

    def render(
        self,
        scenario: str = "default",
        sets: Sequence[str] = (),
        *,
        namespace: str = "shiplane",
        values: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """The rendered objects (must render)."""
        text = self.template(scenario, sets, namespace=namespace, values=values).ok().stdout
        return [doc for doc in yaml.safe_load_all(text) if doc]

    def _values_args(self, values: Mapping[str, Any] | None) -> list[str]:
        if values is None:
            return []
        handle, name = tempfile.mkstemp(suffix=".yaml", dir=self.env["HOME"])
        with os.fdopen(handle, "w") as out:
            yaml.safe_dump(dict(values), out)
        return ["-f", name]


def set_args(sets: Iterable[str]) -> list[str]:
    args: list[str] = []
    for item in sets:
        args += ["--set", item]
    return args


def by_kind(objects: Iterable[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: Iterable[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def container(objects: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The shiplane container of the Deployment."""
    containers = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["shiplane"]
    return dict(containers[0])


def env_of(objects: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The container's environment: name -> value, or ('secret', name, key)."""
    out: dict[str, Any] = {}
    for var in container(objects).get("env", []):
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        out[var["name"]] = ("secret", ref["name"], ref["key"]) if ref else var.get("value")
    return out
