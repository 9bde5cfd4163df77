"""Named contexts and the global `--server`/`--token`/`--context` flags, against a real
server."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.e2e.cli.conftest import Shiplane
from tests.support.serverproc import ServerProcess


def test_login_names_contexts_and_context_use_switches(
    shiplane: Shiplane, cli_server: ServerProcess, cli_config: Path
) -> None:
    assert shiplane("login", cli_server.url, "--token", cli_server.admin_token,
                    "--name", "local").returncode == 0  # fmt: skip
    viewer = json.loads(shiplane("token", "create", "--role", "viewer", "-o", "json").stdout)
    second = shiplane("login", cli_server.url, "-t", viewer["token"], "--name", "readonly")
    assert second.returncode == 0, second.stderr
    assert "context 'readonly'" in second.stdout

    listed = shiplane("context", "list")
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["CURRENT", "NAME", "SERVER"]
    assert lines[1].split() == ["local", cli_server.url]
    assert lines[2].split() == ["*", "readonly", cli_server.url]
    assert viewer["token"] not in listed.stdout and cli_server.admin_token not in listed.stdout

    denied = shiplane("release", "create", "x=reg.example/x:1")
    assert denied.returncode == 1 and "role 'viewer'" in denied.stderr
    once = shiplane("--context", "local", "release", "create", "x=reg.example/x:1")
    assert once.returncode == 0, once.stderr

    assert shiplane("context", "use", "local").returncode == 0
    assert yaml.safe_load(cli_config.read_text())["current-context"] == "local"
    assert shiplane("release", "create", "y=reg.example/y:1").returncode == 0

    unknown = shiplane("context", "use", "prod")
    assert unknown.returncode == 1 and "known: local, readonly" in unknown.stderr
    assert shiplane("context", "delete", "readonly").returncode == 0
    assert shiplane("context", "list", "-o", "name").stdout.split() == ["local"]


def test_server_and_token_flags_need_no_login(
    shiplane: Shiplane, cli_server: ServerProcess, cli_config: Path
) -> None:
    flags = ("--server", cli_server.url, "--token", cli_server.admin_token)
    listed = shiplane(*flags, "release", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert "items" in json.loads(listed.stdout)
    assert not cli_config.exists()
    wrong = shiplane("--server", "http://127.0.0.1:9", "--token", "shp_x", "status")
    assert wrong.returncode == 1 and "http://127.0.0.1:9" in wrong.stderr
