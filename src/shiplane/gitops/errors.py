"""Errors of the gitops layer. Messages never carry credentials (see `redact`)."""

from __future__ import annotations

from collections.abc import Sequence


class GitError(RuntimeError):
    """A git command failed, timed out or could not be started.

    `command` is the argv with secrets scrubbed; `stderr` is the tail of git's stderr
    (also scrubbed), so the message says what git itself printed.
    """

    def __init__(
        self,
        message: str,
        *,
        command: Sequence[str] = (),
        stderr: str = "",
        returncode: int | None = None,
    ) -> None:
        self.command = tuple(command)
        self.stderr = stderr
        self.returncode = returncode
        text = message
        if stderr:
            text = f"{message}: {stderr}"
        super().__init__(text)


class GitConflictError(GitError):
    """Rebasing our commit onto the remote branch conflicted; nothing was pushed.

    The working copy was reset to the remote branch, so it is clean.
    """

    def __init__(self, message: str, *, files: Sequence[str], stderr: str = "") -> None:
        self.files = tuple(files)
        super().__init__(message, stderr=stderr)


class PinError(ValueError):
    """A pin file that cannot be read; the message names the field and the problem."""


class RenderError(RuntimeError):
    """Rendering an app's manifests failed.

    Names the app, the environment, the file at fault (relative to the repository root
    when known) and what the tool printed (trimmed).
    """

    def __init__(self, *, app: str, environment: str, file: str, detail: str) -> None:
        self.app = app
        self.environment = environment
        self.file = file
        self.detail = detail
        super().__init__(
            f"rendering app {app!r} for environment {environment!r} failed in {file}: {detail}"
        )
