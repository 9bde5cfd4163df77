"""Shared pytest set-up: fixture plugins for real components (clusters, PostgreSQL)."""

pytest_plugins = [
    "tests.support.wait",
    "tests.support.clusters",
    "tests.support.postgres",
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
