"""`shiplane serve` start-up behaviour: bootstrap token, config errors, clean stop."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import httpx

from tests.support.serverproc import SHIPLANE, running_server
from tests.support.wait import wait_for


def _serve_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "SHIPLANE_HOME": str(home)}
    for name in ("SHIPLANE_BOOTSTRAP_TOKEN", "SHIPLANE_DATABASE_URL"):
        env.pop(name, None)
    return env


def _start_and_stop(home: Path, out: Path) -> str:
    """Start `shiplane serve` with defaults, wait until ready, SIGTERM it; return stdout."""
    with out.open("wb") as handle:
        process = subprocess.Popen(
            [SHIPLANE, "serve", "--listen", "127.0.0.1:0"],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=_serve_env(home),
        )
    try:
        url = wait_for(
            lambda: (m := re.search(r"http://127\.0\.0\.1:\d+", out.read_text())) and m[0],
            timeout=60,
            what="the listening line",
        )
        wait_for(lambda: httpx.get(url + "/readyz").status_code == 200, timeout=60)
        return out.read_text()
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0, "SIGTERM is a clean shutdown"


def test_first_start_prints_a_working_admin_token_once(tmp_path: Path) -> None:
    """Default data dir from $SHIPLANE_HOME, SQLite there, token printed on first start."""
    home = tmp_path / "home"
    printed = [_start_and_stop(home, tmp_path / f"out{n}.log") for n in range(2)]
    assert (home / "shiplane.db").exists()
    tokens = re.findall(r"shp_[A-Za-z0-9_-]{20,}", printed[0])
    assert len(tokens) == 1, printed[0]
    assert "shown only this once" in printed[0]
    assert not re.findall(r"shp_[A-Za-z0-9_-]{20,}", printed[1]), "not printed again"
    # The printed token works against the same data on the second start.
    home_db = f"sqlite:///{home / 'shiplane.db'}"
    with running_server(tmp_path / "again", home_db, admin_token=tokens[0] + "x") as server:
        response = httpx.get(
            server.url + "/api/v1/whoami", headers={"Authorization": f"Bearer {tokens[0]}"}
        )
        assert response.json()["role"] == "admin"


def test_a_start_that_cannot_listen_does_not_consume_the_first_token(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        failed = subprocess.run(
            [SHIPLANE, "serve", "--listen", f"127.0.0.1:{port}"],
            capture_output=True, text=True, env=_serve_env(home), timeout=60,
        )  # fmt: skip
    assert failed.returncode == 1
    assert "cannot listen" in failed.stderr
    assert not re.findall(r"shp_[A-Za-z0-9_-]{20,}", failed.stdout + failed.stderr)
    printed = _start_and_stop(home, tmp_path / "out.log")
    assert len(re.findall(r"shp_[A-Za-z0-9_-]{20,}", printed)) == 1, printed
    assert printed.index("admin token") < printed.index("listening on"), printed


def test_bad_config_fails_start_with_located_errors(tmp_path: Path) -> None:
    config = tmp_path / "shiplane.yaml"
    config.write_text(
        "apiVersion: shiplane/v1alpha1\nproject: shop\nenvironments:\n"
        "  dev: {cluster: nowhere, namespace: dev}\n"
    )
    result = subprocess.run(
        [SHIPLANE, "serve", "--listen", "127.0.0.1:0", "--config", str(config)],
        capture_output=True,
        text=True,
        env=_serve_env(tmp_path / "home"),
        timeout=60,
    )
    assert result.returncode == 1
    assert "shiplane.yaml:4" in result.stderr, result.stderr
    assert "nowhere" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_listen_address_and_short_bootstrap_token(tmp_path: Path) -> None:
    env = _serve_env(tmp_path / "home")
    bad_listen = subprocess.run(
        [SHIPLANE, "serve", "--listen", "127.0.0.1:http"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert bad_listen.returncode == 1
    assert "invalid listen address" in bad_listen.stderr
    short = subprocess.run(
        [SHIPLANE, "serve", "--listen", "127.0.0.1:0"],
        capture_output=True, text=True, timeout=60,
        env={**env, "SHIPLANE_BOOTSTRAP_TOKEN": "short"},
    )  # fmt: skip
    assert short.returncode == 1
    assert "bootstrap token too short" in short.stderr
    assert "short\n" not in short.stdout


def test_a_second_server_on_the_same_sqlite_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with running_server(tmp_path / "one", url) as first:
        result = subprocess.run(
            [SHIPLANE, "serve", "--listen", "127.0.0.1:0", "--db", url],
            capture_output=True,
            text=True,
            env=_serve_env(tmp_path / "two"),
            timeout=60,
        )
        assert result.returncode == 1
        assert f"another `shiplane serve` (pid {first.process.pid})" in result.stderr
        assert "PostgreSQL" in result.stderr and "Traceback" not in result.stderr
        # The first server is unaffected.
        assert httpx.get(first.url + "/readyz", timeout=5).status_code == 200


def test_bad_lease_settings_fail_start_and_change_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = _serve_env(home)
    cases = [
        (["--lease-ttl", "0.5"], {}, "--lease-ttl=0.5: a lease TTL must be 1 to 3600 seconds"),
        ([], {"SHIPLANE_LEASE_TTL": "soon"}, "SHIPLANE_LEASE_TTL='soon' is not a number"),
        (["--replica-id", "a b"], {}, "replica id 'a b' is not valid"),
    ]
    for args, extra, message in cases:
        result = subprocess.run(
            [SHIPLANE, "serve", "--listen", "127.0.0.1:0", *args],
            capture_output=True, text=True, timeout=60, env={**env, **extra},
        )  # fmt: skip
        assert result.returncode == 1, (args, extra)
        assert message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert not (home / "shiplane.db").exists()  # refused before touching the database


def test_replicas_endpoint_on_a_server_without_engine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with running_server(tmp_path / "one", url) as server, server.admin() as c:
        body = c.get("/api/v1/replicas").json()
        assert body == {"self": None, "replicas": [], "leases": []}
        assert server.client().get("/api/v1/replicas").status_code == 401
