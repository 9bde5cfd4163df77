"""Every deploy target by its name in `deploy.via` (`shiplane`, `flux`, `argocd`), in the
one kind of registry of domain/registry.py, each with its config schema from `config`
(`deploy.<name>` of an environment). A new target is a new module of this package that
registers itself here; targets/__init__.py imports it."""

from __future__ import annotations

from shiplane.domain.registry import Registry
from shiplane.targets.base import DeployTarget

TARGETS: Registry[DeployTarget] = Registry("deploy target")
"""Every deploy target by its name in `deploy.via`."""
