"""The upstream components Shiplane builds from Go modules, pinned by version.

Each component has a wrapper Go module shipped in `gomods/<name>/` (go.mod + go.sum are
committed, so builds are reproducible); only sources come from the Go module proxy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
HELM_VERSION = "v3.22.0"
KUSTOMIZE_VERSION = "v5.8.2"

GOMODS_DIR = Path(__file__).parent / "gomods"


@dataclass(frozen=True)
class Binary:
    """One executable produced by a component build."""

    name: str
    package: str


@dataclass(frozen=True)
class Component:
    """A pinned upstream component built from its wrapper module."""

    name: str
    version: str
    binaries: tuple[Binary, ...]
    ldflags: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # Files copied out of a module's source tree after the build (module, path in module).
    module_files: tuple[tuple[str, str], ...] = field(default=())

    @property
    def key(self) -> str:
        """Cache key: component name and version, e.g. `kubernetes-v1.36.3`."""
        return f"{self.name}-{self.version}"

    @property
    def gomod_dir(self) -> Path:
        return GOMODS_DIR / self.name


def _kubernetes_version_ldflags(version: str) -> tuple[str, ...]:
    # Without these, /version reports v0.0.0-master and clients that parse it break
    # (hack/lib/version.sh sets the same variables for both packages).
    major, minor = version.lstrip("v").split(".")[:2]
    flags: list[str] = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.gitCommit=module-{version}",
            f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
        ]
    return tuple(flags)


KWOK_STAGE_FILES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)

COMPONENTS: tuple[Component, ...] = (
    Component(
        name="kubernetes",
        version=KUBERNETES_VERSION,
        binaries=tuple(
            Binary(b, f"k8s.io/kubernetes/cmd/{b}")
            for b in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
        ),
        ldflags=_kubernetes_version_ldflags(KUBERNETES_VERSION),
        tags=("selinux", "notest"),
    ),
    Component(
        name="etcd",
        version=ETCD_VERSION,
        binaries=(Binary("etcd", "go.etcd.io/etcd/server/v3"),),
    ),
    Component(
        name="kwok",
        version=KWOK_VERSION,
        binaries=(Binary("kwok", "sigs.k8s.io/kwok/cmd/kwok"),),
        module_files=tuple(("sigs.k8s.io/kwok", f) for f in KWOK_STAGE_FILES),
    ),
    Component(
        name="helm",
        version=HELM_VERSION,
        binaries=(Binary("helm", "helm.sh/helm/v3/cmd/helm"),),
        ldflags=(f"-X helm.sh/helm/v3/internal/version.version={HELM_VERSION}",),
    ),
    Component(
        name="kustomize",
        version=KUSTOMIZE_VERSION,
        binaries=(Binary("kustomize", "sigs.k8s.io/kustomize/kustomize/v5"),),
        ldflags=(f"-X sigs.k8s.io/kustomize/api/provenance.version={KUSTOMIZE_VERSION}",),
    ),
)


def component(name: str) -> Component:
    """Look up a component by name; raises KeyError naming the known ones."""
    for c in COMPONENTS:
        if c.name == name:
            return c
    known = ", ".join(c.name for c in COMPONENTS)
    raise KeyError(f"unknown component {name!r}; known: {known}")
