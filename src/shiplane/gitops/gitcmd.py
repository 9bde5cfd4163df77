"""The one place git is executed: clean environment, fixed config, deadline, scrubbed errors.

Every git process Shiplane starts
- sees no system or global configuration (a user's `credential.helper=store` would
  otherwise write our password to disk) and no terminal (`GIT_TERMINAL_PROMPT=0`),
- gets its identity and safety settings as `-c` options (no signing, no stored
  credentials). Not `core.hooksPath`: `-c` options reach the `receive-pack` of a local
  remote too, and would silently disable the server-side hooks of a path/file:// remote;
  our working copy has no hooks and commits use `--no-verify`,
- may only use the transports Shiplane supports (`GIT_ALLOW_PROTOCOL`; `ext::` runs
  arbitrary commands),
- runs under a deadline, and fails with a `GitError` whose command and stderr have had
  URL userinfo and the password removed.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shiplane.gitops.errors import GitError
from shiplane.gitops.process import (
    ProcessResult,
    ProcessStartError,
    run_process,
    run_process_sync,
)
from shiplane.gitops.redact import scrub, tail

ALLOWED_PROTOCOLS = "file:git:http:https:ssh"

# Every git process this interpreter started, by subcommand. The promotion hot path is
# measured in processes (tests assert how many a deploy runs; benchmarks print it).
STARTED: Counter[str] = Counter()

# Inherited from our own environment: what git needs to find programs, proxies and CA
# bundles. Nothing else leaks in (no GIT_DIR, GIT_ASKPASS or GIT_CONFIG_* of the caller).
_PASSTHROUGH = (
    "PATH",
    "HOME",
    "TMPDIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
    "SSH_AUTH_SOCK",
    "GIT_SSH_COMMAND",
)


def base_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {key: os.environ[key] for key in _PASSTHROUGH if key in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(
        {
            "LANG": "C",  # stable messages: push rejections are recognised by their text
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_ALLOW_PROTOCOL": ALLOWED_PROTOCOLS,
            "GIT_OPTIONAL_LOCKS": "0",
        }
    )
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    if extra:
        env.update(extra)
    return env


def config_options(author_name: str, author_email: str) -> tuple[str, ...]:
    settings = {
        "user.name": author_name,
        "user.email": author_email,
        "core.askPass": "",  # only GIT_ASKPASS, which we control
        "credential.helper": "",  # resets the helper list: never store credentials
        "core.autocrlf": "false",
        "commit.gpgSign": "false",
        "tag.gpgSign": "false",
        "gc.autoDetach": "false",  # no background gc outliving the command
        # No housekeeping process after every commit and fetch: the workspace runs it
        # itself now and then, off the hot path (workspace.MAINTAIN_EVERY).
        "maintenance.auto": "false",
        "advice.detachedHead": "false",
        "init.defaultBranch": "main",
        "rebase.autoStash": "false",
        "rebase.autoSquash": "false",
        "pull.rebase": "false",
    }
    options: list[str] = []
    for key, value in settings.items():
        options += ["-c", f"{key}={value}"]
    return tuple(options)


@dataclass(frozen=True)
class GitRunner:
    binary: str
    env: Mapping[str, str]
    options: tuple[str, ...]
    secrets: tuple[str, ...] = field(default=(), repr=False)
    timeout: float = 120.0

    async def run(
        self,
        *args: str,
        cwd: Path | None,
        timeout: float | None = None,  # noqa: ASYNC109 (kills the child, keeps its stderr)
        stdin: bytes | None = None,
        check: bool = True,
        extra_env: Mapping[str, str] | None = None,
    ) -> ProcessResult:
        argv = (self.binary, *self.options, *args)
        env = dict(self.env)
        if extra_env:
            env.update(extra_env)
        limit = self.timeout if timeout is None else timeout
        STARTED[args[0] if args else ""] += 1
        try:
            result = await run_process(argv, cwd=cwd, env=env, timeout=limit, stdin=stdin)
        except ProcessStartError as exc:
            raise GitError(str(exc), command=self.shown(args)) from None
        if result.timed_out:
            raise GitError(
                f"`{self.describe(args)}` timed out after {limit:.0f}s",
                command=self.shown(args),
                stderr=self.clean(result.stderr_text()),
                returncode=result.returncode,
            )
        if check and result.returncode != 0:
            raise self.error(args, result)
        return result

    def run_sync(
        self,
        *args: str,
        cwd: Path | None,
        check: bool = True,
        extra_env: Mapping[str, str] | None = None,
    ) -> ProcessResult:
        """`run` in a worker thread (background housekeeping, never the hot path)."""
        argv = (self.binary, *self.options, *args)
        env = {**self.env, **(extra_env or {})}
        STARTED[args[0] if args else ""] += 1
        try:
            result = run_process_sync(argv, cwd=cwd, env=env, timeout=self.timeout)
        except ProcessStartError as exc:
            raise GitError(str(exc), command=self.shown(args)) from None
        if result.timed_out or (check and result.returncode != 0):
            raise self.error(args, result)
        return result

    def error(self, args: Sequence[str], result: ProcessResult, what: str = "") -> GitError:
        message = what or f"`{self.describe(args)}` failed (exit {result.returncode})"
        output = result.stderr_text() or result.stdout_text()
        return GitError(
            message,
            command=self.shown(args),
            stderr=self.clean(output),
            returncode=result.returncode,
        )

    def clean(self, text: str) -> str:
        return scrub(tail(text), self.secrets)

    def shown(self, args: Sequence[str]) -> tuple[str, ...]:
        # The -c options are noise in an error; the binary and the arguments are what
        # the reader needs.
        return tuple(scrub(a, self.secrets) for a in ("git", *args))

    def describe(self, args: Sequence[str]) -> str:
        return " ".join(self.shown(args))
