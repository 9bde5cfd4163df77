"""A real Redis (Debian's `redis-server` package) on 127.0.0.1, for Argo CD's cache.

Argo CD's repo server and application controller keep their manifest and app-state
caches in Redis. `start_redis` runs `/usr/bin/redis-server` on a free loopback port with
no persistence (a test cache), in the foreground of its own process, and waits until it
answers PING; `RedisServer.stop` stops it by its PID. Scripts/ensure-system-deps.sh
installs the package (`make test` runs it).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from shiplane.localcluster import procs

REDIS_BIN = os.environ.get("SHIPLANE_REDIS_BIN", "/usr/bin/redis-server")
STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class RedisServer:
    pid: int
    port: int
    root: Path

    @property
    def address(self) -> str:
        """`127.0.0.1:PORT`, as Argo CD's `--redis` flag takes it."""
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root / "redis.log"

    def stop(self) -> None:
        procs.stop_process(self.pid, must_contain=str(self.port), timeout=10.0)


def ping(port: int) -> bool:
    """Whether a Redis answers PING on 127.0.0.1:`port` (the inline protocol)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(root: Path) -> RedisServer:
    """Start redis-server under `root` (its working folder and log); ready when this
    returns. Skips the test when the Debian package is not installed."""
    if not Path(REDIS_BIN).is_file():
        pytest.skip(f"{REDIS_BIN} is missing: run scripts/ensure-system-deps.sh (redis-server)")
    root.mkdir(parents=True, exist_ok=True)
    port = procs.free_port()
    argv = [
        REDIS_BIN, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(root),
        "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no",
    ]  # fmt: skip
    pid = procs.start_process(argv, root / "redis.log")
    server = RedisServer(pid, port, root)
    outcome = procs.wait_ready(pid, lambda: ping(port), timeout=STARTUP_TIMEOUT)
    if outcome != "ready":
        server.stop()
        raise AssertionError(
            f"redis-server {outcome} before answering PING on {server.address}:\n"
            f"{procs.log_tail(server.log_path)}"
        )
    return server
