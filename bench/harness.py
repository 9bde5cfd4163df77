"""What the benchmarks share: git, a local cluster that is always stopped, kubectl, and
the printing of figures. Imported by the bench scripts (run from the repository root)."""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@contextlib.contextmanager
def local_cluster(home: Path, nodes: int, name: str) -> Iterator[Any]:
    """A local cluster under a private SHIPLANE_HOME, stopped (by PID) whatever happens."""
    os.environ["SHIPLANE_HOME"] = str(home)
    from shiplane.localcluster import cluster as lc

    def terminate(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through the `finally` below

    previous = signal.signal(signal.SIGTERM, terminate)
    quiet = lambda _line: None  # noqa: E731
    try:
        started = time.perf_counter()
        state = lc.up(name, nodes=nodes, progress=quiet)
        say(f"cluster up with {nodes} fake nodes in {time.perf_counter() - started:.1f}s")
        yield state
    finally:
        lc.down(name, progress=quiet)
        signal.signal(signal.SIGTERM, previous)
        say("cluster stopped")


def kubectl_path() -> str:
    from shiplane.localcluster.build import binary_path

    return str(binary_path("kubernetes", "kubectl"))


@dataclass
class Kubectl:
    kubeconfig: Path
    cache_dir: Path

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [
                kubectl_path(),
                f"--kubeconfig={self.kubeconfig}",
                f"--cache-dir={self.cache_dir}",
                *args,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def apply(self, path: Path) -> None:
        self.run("apply", "--server-side", "-f", str(path))


def three_object_app(name: str, tag: str = "0.0.0") -> str:
    """A Deployment, a headless Service and a ConfigMap: the app every benchmark deploys."""
    # Headless Service: the local cluster's service range is a /24.
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, labels: {{app: {name}}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: app
        image: registry.example/bench/{name}:{tag}
        ports: [{{containerPort: 8080}}]
        envFrom: [{{configMapRef: {{name: {name}}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  clusterIP: None
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: {name}}}
data: {{greeting: hello, LOG_LEVEL: info}}
"""


# --- figures ------------------------------------------------------------------------------


@dataclass
class Report:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, case: str, figure: str, baseline: str = "", goal: str = "") -> None:
        self.rows.append((case, figure, baseline, goal))
        say(f"{case}: {figure}" + (f"  [{baseline}]" if baseline else ""))

    def print(self) -> None:
        header = ("case", "figure", "vs baseline", "goal")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(4)]
        print()
        for row in [header, *self.rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def say(line: str) -> None:
    print(f"  {line}", flush=True)


def quantile(samples: list[float], q: int) -> float:
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def p50_p95(samples: list[float]) -> str:
    return f"p50 {quantile(samples, 50):.0f} ms, p95 {quantile(samples, 95):.0f} ms"


# --- PostgreSQL (a throwaway server, as tests/support/postgres.py starts one) ---------------


def _pg_bin(name: str) -> str:
    import glob
    import shutil

    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install PostgreSQL (apt-get install postgresql)")
    return found


def _as_postgres_user(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: run its binaries as the `postgres` user then.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def postgres_server(explicit: str | None = None, keep_log: Path | None = None) -> Iterator[str]:
    """The URL of a PostgreSQL server whose user may CREATE DATABASE: `explicit`, else
    $SHIPLANE_TEST_POSTGRES_URL, else a throwaway one (initdb + pg_ctl in a temporary
    directory, 127.0.0.1 on a free port, test settings: fsync off), stopped at the end
    (its log copied to `keep_log` first, when given)."""
    import pwd
    import shutil
    import tempfile

    import psycopg

    url = explicit or os.environ.get("SHIPLANE_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="shiplane-bench-pg-"))
    data, sockets, log = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        for path in (root, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = _free_port()
    started = False
    try:
        subprocess.run(
            _as_postgres_user(
                [initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                 "--locale=C.UTF-8", "--no-sync"]
            ),
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off "
            f"-c unix_socket_directories={sockets} -c max_connections=200"
        )
        start = [pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-W", "start"]
        subprocess.run(_as_postgres_user(start), check=True, capture_output=True, timeout=120)
        started = True
        deadline = time.monotonic() + 60
        while True:
            try:
                conninfo = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
                with psycopg.connect(conninfo, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start; see {log}") from None
                time.sleep(0.1)
        say(f"PostgreSQL on 127.0.0.1:{port} (fsync off, as in the tests)")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                _as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
                capture_output=True,
                timeout=60,
                check=False,
            )
        if keep_log is not None and log.exists():
            shutil.copyfile(log, keep_log)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def postgres_database(server_url: str, prefix: str = "bench") -> Iterator[str]:
    """A new, empty database on the server at `server_url`; dropped afterwards."""
    import secrets

    import psycopg
    from psycopg import sql

    from shiplane.store.db import normalize_url

    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = normalize_url(server_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield normalize_url(server_url).set(database=name).render_as_string(False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# --- `shiplane serve` processes -------------------------------------------------------------


@dataclass
class Replica:
    """A `shiplane serve` process started by a benchmark; stopped by its PID."""

    name: str
    process: subprocess.Popen[bytes]
    workdir: Path
    url: str = ""

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cpu_seconds(self) -> float:
        """User + system CPU of the process so far (0 once it has exited)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_replicas(
    names: list[str],
    root: Path,
    database_url: str,
    token: str,
    args: list[str],
    timeout: float = 90,
) -> list[Replica]:
    """Start `shiplane serve --listen 127.0.0.1:0 --db URL --data-dir ... ARGS` once per
    name (each with its own work and data directory, the same bootstrap token), all at
    once, then wait until each prints its port and answers /readyz with 200. On failure
    the ones started are stopped."""
    import re
    import sys

    import httpx

    shiplane = str(Path(sys.executable).with_name("shiplane"))
    replicas: list[Replica] = []
    try:
        for name in names:
            workdir = root / name
            workdir.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, "SHIPLANE_BOOTSTRAP_TOKEN": token, "SHIPLANE_HOME": str(workdir)}
            env.pop("SHIPLANE_DATABASE_URL", None)
            argv = [shiplane, "serve", "--listen", "127.0.0.1:0", "--db", database_url]
            argv += ["--data-dir", str(workdir / "data"), "--replica-id", name, *args]
            with (workdir / "server.log").open("wb") as out:
                process = subprocess.Popen(
                    argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
                )
            replicas.append(Replica(name, process, workdir))
        deadline = time.monotonic() + timeout
        for replica in replicas:
            while not replica.url:
                if replica.process.poll() is not None:
                    raise RuntimeError(
                        f"replica {replica.name} exited with {replica.process.returncode}:\n"
                        + replica.logs()[-3000:]
                    )
                found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", replica.logs())
                if found:
                    replica.url = found.group(1)
                elif time.monotonic() > deadline:
                    raise RuntimeError(f"replica {replica.name} did not listen in {timeout}s")
                else:
                    time.sleep(0.1)
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(replica.url + "/readyz", timeout=5).status_code == 200:
                        break
                if replica.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"replica {replica.name} not ready:\n" + replica.logs()[-3000:]
                    )
                time.sleep(0.1)
    except BaseException:
        stop_replicas(replicas)
        raise
    return replicas


def stop_replicas(replicas: list[Replica], deadline: float = 20) -> dict[str, int | None]:
    """SIGTERM each replica by PID, wait up to `deadline` seconds for all, then SIGKILL
    the ones still running. Returns the exit codes (None: had to be killed)."""
    for replica in replicas:
        if replica.process.poll() is None:
            os.kill(replica.process.pid, signal.SIGTERM)
    codes: dict[str, int | None] = {}
    end = time.monotonic() + deadline
    for replica in replicas:
        try:
            codes[replica.name] = replica.process.wait(timeout=max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.kill(replica.process.pid, signal.SIGKILL)
            replica.process.wait(timeout=deadline)
            codes[replica.name] = None
    return codes


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs from /proc/stat: the busy share between two
    readings is the machine's load, whoever caused it."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return float(sum(values) - idle), float(sum(values))
