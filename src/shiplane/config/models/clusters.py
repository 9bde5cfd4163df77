"""`clusters`: connections to Kubernetes clusters."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import (
    StrictBool,
    StrictStr,
    model_validator,
)

from shiplane.config.models.base import (
    ConfigModel,
)


class ClusterConfig(ConfigModel):
    """A connection to a Kubernetes cluster: a kubeconfig file (and context), or in-cluster."""

    kubeconfig: StrictStr | None = None
    """Path of a kubeconfig file; `~` is expanded, a relative path is relative to shiplane.yaml."""
    context: StrictStr | None = None
    """Context in the kubeconfig; its current context when omitted."""
    in_cluster: StrictBool = False
    """Use the service account of the pod Shiplane runs in."""
    namespaces: list[StrictStr] | None = None
    """The namespaces Shiplane's credentials are limited to (Roles, not ClusterRoles, as
    `shiplane cluster add` grants): drift watches each of them instead of the whole
    cluster, and readiness checks the permissions there. Omitted: cluster-wide access."""

    @model_validator(mode="after")
    def _one_connection(self) -> Self:
        if self.in_cluster and (self.kubeconfig is not None or self.context is not None):
            raise ValueError("use either 'inCluster: true' or 'kubeconfig'/'context', not both")
        if not self.in_cluster and self.kubeconfig is None:
            raise ValueError(
                "a cluster needs 'kubeconfig' (a path, plus an optional 'context') "
                "or 'inCluster: true'"
            )
        if self.namespaces is not None and not self.namespaces:
            raise ValueError("'namespaces' lists at least one namespace (or is omitted)")
        return self

    def kubeconfig_path(self, base_dir: Path) -> Path | None:
        """The kubeconfig file to use, or None for in-cluster configuration."""
        if self.kubeconfig is None:
            return None
        path = Path(self.kubeconfig).expanduser()
        return path if path.is_absolute() else base_dir / path
