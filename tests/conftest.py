"""Shared pytest set-up: the fixture plugins of tests/support (real clusters, PostgreSQL,
Prometheus, an OCI registry, Gitea, a smart-HTTP git server, Flux, Argo CD; the async
backend), available to every test directory."""

pytest_plugins = [
    "tests.support.anyio_backend",
    "tests.support.wait",
    "tests.support.clusters",
    "tests.support.postgres",
    "tests.support.prometheus",
    "tests.support.oci_registry",
    "tests.support.token_registry",
    "tests.support.gitea",
    "tests.support.git_http",
    "tests.support.flux",
    "tests.support.argocd",
]


def pytest_configure(config: object) -> None:
    """Renderers find helm and kustomize through SHIPLANE_HELM / SHIPLANE_KUSTOMIZE (set
    at the edge); tests use the binaries `shiplane localcluster build` makes (perhaps
    later in the session), also in the servers they start."""
    import os

    from shiplane.gitops.renderers.context import TOOL_VARIABLES
    from shiplane.localcluster.build import binary_path

    for tool, variable in TOOL_VARIABLES.items():
        os.environ.setdefault(variable, str(binary_path(tool, tool)))
