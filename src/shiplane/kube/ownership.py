"""Labels and annotations by which Shiplane marks, finds and protects what it manages."""

from __future__ import annotations

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "shiplane"
ENVIRONMENT_LABEL = "shiplane.dev/environment"
APP_LABEL = "shiplane.dev/app"
# The full owner in one annotation, because label values cannot hold every app name.
OWNER_ANNOTATION = "shiplane.dev/owner"
# `shiplane.dev/prune: "false"` on an object keeps it when it disappears from git.
PRUNE_ANNOTATION = "shiplane.dev/prune"
# Label selector that finds every object Shiplane manages in a cluster.
MANAGED_SELECTOR = {MANAGED_BY_LABEL: MANAGED_BY_VALUE}


def owner_value(environment: str, app: str) -> str:
    return f"{environment}/{app}"
