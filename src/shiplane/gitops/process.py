"""Running a tool (git, helm, kustomize) as an asyncio subprocess with a deadline.

A worker must never hang on a stuck remote or a runaway template, so every run has a
timeout. Each child gets its own process group: on timeout or cancellation the whole
group is killed (git spawns helpers such as remote-https and pack-objects) and reaped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ProcessResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes
    timed_out: bool

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", errors="replace")

    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")


class ProcessStartError(OSError):
    """The executable could not be started (missing, not executable)."""


_REAP_SECONDS = 5.0


async def _read_all(stream: asyncio.StreamReader | None) -> bytes:
    return await stream.read() if stream is not None else b""


async def _feed(pipe: asyncio.StreamWriter, data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        pipe.write(data)
        await pipe.drain()
    pipe.close()


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path | None,
    env: Mapping[str, str],
    timeout: float,  # noqa: ASYNC109 (on expiry the process group is killed, output kept)
    stdin: bytes | None = None,
) -> ProcessResult:
    """Run `argv` to completion or until `timeout` seconds have passed.

    On timeout the result has `timed_out=True` and returncode -9; the caller turns that
    into its own error type with the command and output it wants to show.
    """
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise ProcessStartError(exc.errno, f"cannot run {argv[0]}: {exc.strerror}") from exc
    # Read both pipes in tasks of our own so that on timeout the output so far (git's
    # last words on stderr) is still available for the error message.
    out_task = asyncio.create_task(_read_all(proc.stdout))
    err_task = asyncio.create_task(_read_all(proc.stderr))
    timed_out = False

    async def complete() -> None:
        if stdin is not None and proc.stdin is not None:
            await _feed(proc.stdin, stdin)
        await proc.wait()

    try:
        await asyncio.wait_for(complete(), timeout)
    except TimeoutError:
        timed_out = True
        _kill_group(proc)
        # asyncio's wait() also waits for the pipes to close: bound it (see below).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), _REAP_SECONDS)
    except BaseException:
        # Cancelled (or interrupted): do not leave the child running behind us.
        _kill_group(proc)
        out_task.cancel()
        err_task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.shield(proc.wait())
        raise
    # The pipes close when the group is gone; bound the wait in case a grandchild left
    # the group and still holds them.
    done, pending = await asyncio.wait({out_task, err_task}, timeout=_REAP_SECONDS)
    for task in pending:
        task.cancel()
    stdout = out_task.result() if out_task in done else b""
    stderr = err_task.result() if err_task in done else b""
    returncode = proc.returncode if proc.returncode is not None else -9
    return ProcessResult(tuple(argv), -9 if timed_out else returncode, stdout, stderr, timed_out)


def run_process_sync(
    argv: Sequence[str], *, cwd: Path | None, env: Mapping[str, str], timeout: float
) -> ProcessResult:
    """`run_process` for a worker thread (background work that must not be an asyncio
    task: one cancelled while starting its child can hang the loop's shutdown)."""
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise ProcessStartError(exc.errno, f"cannot run {argv[0]}: {exc.strerror}") from exc
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        return ProcessResult(tuple(argv), -9, stdout, stderr, True)
    return ProcessResult(tuple(argv), proc.returncode, stdout, stderr, False)
