"""Why a deploy or sync stopped, in the error families of `domain/errors.py`.

Every deploy error names the `step` it stopped at; nothing after that step was done. The
family says what the caller can do about it, and the API maps it to a status once:

| error                  | family        | when                                         |
| ---------------------- | ------------- | -------------------------------------------- |
| DeployNotFoundError    | NotFoundError | an unknown environment or app                |
| DeployRequestError     | InvalidError  | the request cannot be planned (nothing done) |
| DeployStepError        | ExternalError | a step failed: git, render, the cluster…     |

A `DeployStepError` carries the `outcome` so far (what was committed, applied and how
healthy it is); the run rows and audit trail already say the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shiplane.domain.errors import ExternalError, InvalidError, NotFoundError, ShiplaneError

if TYPE_CHECKING:
    from shiplane.engine.deploy.outcome import DeployOutcome

PLAN = "plan"
# Steps whose failure may pass when the same deploy is repeated unchanged (a git remote
# or a cluster that did not answer); a rejected manifest or a refused prune will not.
RETRYABLE_STEPS = frozenset({"git", "commit"})


class DeployError(ShiplaneError):
    """A deploy or sync stopped at `step`; nothing after that step was done."""

    def __init__(self, step: str, message: str, outcome: DeployOutcome | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.outcome = outcome

    def __str__(self) -> str:
        return f"{self.step}: {self.message}"


class DeployNotFoundError(DeployError, NotFoundError):
    """The environment or app to deploy is not defined."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(PLAN, message)
        self.hint = hint

    @classmethod
    def of(cls, error: NotFoundError) -> DeployNotFoundError:
        """The same lookup failure (message and did-you-mean hint), as a deploy error."""
        return cls(error.message, hint=error.hint)


class DeployRequestError(DeployError, InvalidError):
    """The request cannot be planned (an app not in the environment or release, a pin
    that cannot be read, nothing to sync); nothing was recorded or changed."""

    def __init__(self, message: str) -> None:
        super().__init__(PLAN, message)


class DeployStepError(DeployError, ExternalError):
    """A step of a started deploy failed; its run rows are finished as failed."""

    def __init__(self, step: str, message: str, outcome: DeployOutcome | None = None) -> None:
        super().__init__(step, message, outcome)
        self.retryable = step in RETRYABLE_STEPS
