"""Starting and stopping the control-plane processes, by PID, safely."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that are free right now (all held open
    while choosing, so no two are the same). Another process may still take one before
    its server binds it: callers retry on "address already in use"."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def start_process(
    argv: Sequence[str], log_path: Path, *, env: Mapping[str, str] | None = None
) -> int:
    """Start a detached process (own session, so it outlives the CLI); return its PID."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
            close_fds=True,
        )
    return proc.pid


def _reap(pid: int) -> None:
    # Children of this process must be reaped, or they linger as zombies that look alive.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def is_alive(pid: int) -> bool:
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie that is not our child still answers kill(0); read its state.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def stop_process(pid: int, *, must_contain: str, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `timeout`. Only a PID whose command line still contains
    `must_contain` (the cluster directory) is signalled, so a recycled PID is never hit."""
    if not is_alive(pid) or must_contain not in cmdline(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5.0
    while is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def stop_recorded(pid_file: Path, *, must_contain: str) -> bool:
    """Stop the process whose PID `pid_file` records, when that PID still runs a command
    line containing `must_contain`; False when none does (no file, or a recycled PID)."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    if not is_alive(pid) or must_contain not in cmdline(pid):
        return False
    stop_process(pid, must_contain=must_contain)
    return True


def wait_ready(
    pid: int, ready: Callable[[], bool], *, timeout: float, interval: float = 0.1
) -> Literal["ready", "exited", "timed out"]:
    """Poll `ready` until it is true, the process `pid` exits, or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not ready():
        if not is_alive(pid):
            return "exited"
        if time.monotonic() > deadline:
            return "timed out"
        time.sleep(interval)
    return "ready"


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log written)"
    return "\n".join(text.strip().splitlines()[-lines:])
