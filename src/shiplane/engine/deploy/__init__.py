"""Deploying: one module per step (git, render, dry-run, commit, apply, prune, health),
each working on one `DeployRun`; `Deployer` runs the sequence (see deployer.py)."""

from shiplane.engine.deploy.deployer import Deployer, Kind, new_group_id
from shiplane.engine.deploy.errors import (
    DeployError,
    DeployNotFoundError,
    DeployRequestError,
    DeployStepError,
)
from shiplane.engine.deploy.exclusive import deploy_lease
from shiplane.engine.deploy.outcome import AppOutcome, DeployOutcome
from shiplane.engine.deploy.plan import pin_for
from shiplane.engine.deploy.run import AppliedListener, Progress

__all__ = [
    "AppOutcome",
    "AppliedListener",
    "DeployError",
    "DeployNotFoundError",
    "DeployOutcome",
    "DeployRequestError",
    "DeployStepError",
    "Deployer",
    "Kind",
    "Progress",
    "deploy_lease",
    "new_group_id",
    "pin_for",
]
