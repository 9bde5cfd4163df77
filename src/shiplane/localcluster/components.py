"""The upstream components Shiplane builds from Go modules, pinned by version.

Each component has a wrapper Go module shipped in `gomods/<name>/` (go.mod + go.sum are
committed, so builds are reproducible); only sources come from the Go module proxy. A
component may also (or only) copy files out of a module's source tree, such as kwok's stage
YAMLs or the Gateway API CRDs.

`COMPONENTS` are what local clusters and the renderers run, built by default.
`OPTIONAL_COMPONENTS` are built only when asked (`shiplane localcluster build --with
NAME`): Gitea, a forge and OpenID Connect provider the test suite runs on loopback, and
Flux's source-controller and kustomize-controller (`--with flux` builds both, see
`OPTIONAL_GROUPS`), which the tests of the `flux` deploy target run as local processes,
and Argo CD's repo server and application controller (one multi-call binary), which
the tests of the `argocd` deploy target run against a local cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
HELM_VERSION = "v3.22.0"
KUSTOMIZE_VERSION = "v5.8.2"
GATEWAY_API_VERSION = "v1.6.3"
# `files_digest` of the standard-channel manifests of GATEWAY_API_VERSION: go.sum pins the
# module zip, this pins the exact files taken out of it (update both when bumping).
GATEWAY_API_STANDARD_SHA256 = "edcf54b76eb41008414395399ee259d312a9bb032eff8a3115a1fc8867e0c637"
GITEA_VERSION = "v1.27.3"
# The newest Flux whose go.mod asks for Go 1.26 (v1.10 and later need Go 1.27).
FLUX_VERSION = "v1.9.6"
# v3.5 is the newest Argo CD whose go.mod fits Go 1.26 (v3.6 asks for Go 1.27).
ARGOCD_VERSION = "v3.5.8"
# Argo CD's go.mod replaces its gitops-engine with the in-tree `./gitops-engine`, a nested
# module that Go leaves out of Argo CD's module zip, and requires a pseudo-version the Go
# module proxy does not serve. The proxy serves it as this pseudo-version of the
# release-3.5 line (2026-09-14): the wrapper's `replace` pins it, and the build carries
# that replace into Argo CD's go.mod (build._carry_replacements).
ARGOCD_GITOPS_ENGINE_VERSION = "v0.0.0-20260914071520-c9c369efcc5b"

GOMODS_DIR = Path(__file__).parent / "gomods"


@dataclass(frozen=True)
class Binary:
    """One executable produced by a component build."""

    name: str
    package: str


@dataclass(frozen=True)
class ModuleFiles:
    """Files a build copies out of a module's source tree into the component's cache entry."""

    module: str
    # Paths inside the module; a path may be a glob (`config/crd/standard/*.yaml`).
    paths: tuple[str, ...]
    # Sub-directory of the cache entry that receives them (flat: base names are kept).
    into: str
    # `files_digest` the copied set must have; empty when go.sum alone pins the content.
    sha256: str = ""


@dataclass(frozen=True)
class Component:
    """A pinned upstream component built from its wrapper module."""

    name: str
    version: str
    binaries: tuple[Binary, ...]
    ldflags: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # Files copied out of modules' source trees after the build.
    module_files: tuple[ModuleFiles, ...] = field(default=())
    # Set for a module whose own go.mod has `replace` directives (ignored when it is a
    # dependency, and refused by `go install m@v`): the wrapper only pins and verifies the
    # module's zip through its go.sum; the binaries are built in a writable copy of the
    # module's source, with the module's own go.mod and go.sum. Binary packages are then
    # relative to that source (".").
    source_module: str | None = None
    # Modules the source module's go.mod replaces with a folder of its own repository
    # (`replace example.com/m/api => ./api`): (module, folder). A module zip leaves nested
    # modules out, so the build fetches each at the version the wrapper pins (verified
    # against its go.sum, like the source module) and puts it at that folder.
    nested_modules: tuple[tuple[str, str], ...] = ()
    # Folders of the source module copied beside the binaries (e.g. Gitea's templates).
    source_dirs: tuple[str, ...] = ()
    # cgo on: Gitea's SQLite driver is C (needs a C compiler at build time only).
    cgo: bool = False

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
        module_files=(ModuleFiles("sigs.k8s.io/kwok", KWOK_STAGE_FILES, into="stages"),),
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
    # Nothing to compile: the standard-channel CRDs (and the upstream safe-upgrades admission
    # policy beside them) that `localcluster up --with gateway-api` applies.
    Component(
        name="gateway-api",
        version=GATEWAY_API_VERSION,
        binaries=(),
        module_files=(
            ModuleFiles(
                "sigs.k8s.io/gateway-api",
                ("config/crd/standard/*.yaml",),
                into="crds",
                sha256=GATEWAY_API_STANDARD_SHA256,
            ),
        ),
    ),
)


GITEA_TAGS = ("sqlite", "sqlite_unlock_notify")


def _flux_controller(name: str) -> Component:
    """A Flux controller built as its Dockerfile does (static, no cgo, `main.go`), from
    its own source: its go.mod replaces its `api` module with `./api` and pins kustomize
    and go-digest by `replace`. Its CRDs (config/crd/bases) are copied into `crds/`."""
    module = f"github.com/fluxcd/{name}"
    return Component(
        name=f"flux-{name}",
        version=FLUX_VERSION,
        binaries=(Binary(name, "."),),
        source_module=module,
        nested_modules=((f"{module}/api", "api"),),
        module_files=(ModuleFiles(module, ("config/crd/bases/*.yaml",), into="crds"),),
    )


OPTIONAL_COMPONENTS: tuple[Component, ...] = (
    Component(
        name="gitea",
        version=GITEA_VERSION,
        binaries=(Binary("gitea", "."),),
        # What Gitea's own Makefile sets: `gitea --version` and /api/v1/version report it.
        ldflags=(
            f"-X main.Version={GITEA_VERSION.lstrip('v')}",
            f"-X 'main.Tags={' '.join(GITEA_TAGS)}'",
        ),
        tags=GITEA_TAGS,
        source_module="code.gitea.io/gitea",
        # Without the `bindata` tag Gitea reads these from [server] STATIC_ROOT_PATH.
        source_dirs=("options", "templates", "public"),
        cgo=True,
    ),
    _flux_controller("source-controller"),
    _flux_controller("kustomize-controller"),
    Component(
        name="argocd",
        version=ARGOCD_VERSION,
        # One multi-call binary: it runs the component named by its file name or by
        # ARGOCD_BINARY_NAME (argocd-repo-server, argocd-application-controller, ...).
        binaries=(Binary("argocd", "./cmd"),),
        # What Argo CD's Makefile sets: `argocd version` and the controller's logs report it.
        ldflags=(
            f"-X github.com/argoproj/argo-cd/v3/common.version={ARGOCD_VERSION.lstrip('v')}",
            "-X github.com/argoproj/argo-cd/v3/common.gitTag=" + ARGOCD_VERSION,
            "-X github.com/argoproj/argo-cd/v3/common.gitTreeState=clean",
        ),
        # Its gitops-engine: the wrapper's replace (ARGOCD_GITOPS_ENGINE_VERSION), carried in.
        source_module="github.com/argoproj/argo-cd/v3",
        module_files=(
            # The Application, ApplicationSet and AppProject CRDs the harness applies.
            ModuleFiles("github.com/argoproj/argo-cd/v3", ("manifests/crds/*-crd.yaml",), "crds"),
            # What Argo CD's image puts on PATH beside the binary: the repo server runs
            # git-verify-wrapper.sh on every commit it renders, signed or not.
            ModuleFiles(
                "github.com/argoproj/argo-cd/v3",
                ("hack/git-verify-wrapper.sh", "hack/gpg-wrapper.sh"),
                "scripts",
            ),
        ),
    ),
)


# `--with NAME` for a NAME that is several components built together.
OPTIONAL_GROUPS: dict[str, tuple[str, ...]] = {
    "flux": ("flux-source-controller", "flux-kustomize-controller"),
}

ALL_COMPONENTS: tuple[Component, ...] = COMPONENTS + OPTIONAL_COMPONENTS


def component(name: str) -> Component:
    """Look up a component by name; raises KeyError naming the known ones."""
    for c in ALL_COMPONENTS:
        if c.name == name:
            return c
    known = ", ".join(c.name for c in ALL_COMPONENTS)
    raise KeyError(f"unknown component {name!r}; known: {known}")


def optional_component(name: str) -> Component:
    """An optional component by name; KeyError naming the optional ones otherwise."""
    for c in OPTIONAL_COMPONENTS:
        if c.name == name:
            return c
    known = ", ".join(c.name for c in OPTIONAL_COMPONENTS)
    raise KeyError(f"{name!r} is not an optional component; optional: {known}")


def optional_components(name: str) -> tuple[Component, ...]:
    """What `--with NAME` builds: the components of a group (`flux`), or the one optional
    component of that name; KeyError naming what can be asked for otherwise."""
    if name in OPTIONAL_GROUPS:
        return tuple(optional_component(member) for member in OPTIONAL_GROUPS[name])
    try:
        return (optional_component(name),)
    except KeyError:
        known = ", ".join([*OPTIONAL_GROUPS, *(c.name for c in OPTIONAL_COMPONENTS)])
        raise KeyError(f"{name!r} is not an optional component; optional: {known}") from None
