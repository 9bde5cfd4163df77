"""The `shiplane` command against a real server, run as a subprocess."""

from __future__ import annotations

import json
import secrets
import stat
from pathlib import Path

import yaml

from tests.e2e.cli.conftest import Shiplane
from tests.support.serverproc import ServerProcess, run_sql, running_server


def _app() -> str:
    return f"app-{secrets.token_hex(4)}"


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr
    return lines[0]


def test_login_checks_the_token_and_writes_a_private_file(
    shiplane: Shiplane, cli_server: ServerProcess, cli_config: Path
) -> None:
    bad = shiplane("login", cli_server.url, "--token", "shp_wrong-token-000000000000000000")
    assert bad.returncode == 1
    assert "(HTTP 401)" in _one_error_line(bad.stderr)
    assert not cli_config.exists(), "a rejected token is not stored"

    good = shiplane("login", cli_server.url, "--token", cli_server.admin_token)
    assert good.returncode == 0, good.stderr
    assert "as bootstrap (role admin" in good.stdout
    assert stat.S_IMODE(cli_config.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli_config.parent.stat().st_mode) == 0o700
    # Stored as a named context (issue 12), by default named after the server.
    name = cli_server.url.split("://", 1)[1]
    assert yaml.safe_load(cli_config.read_text()) == {
        "current-context": name,
        "contexts": {name: {"server": cli_server.url, "token": cli_server.admin_token}},
    }
    assert cli_server.admin_token not in good.stdout + good.stderr


def test_release_create_list_show_as_json(logged_in: Shiplane) -> None:
    app = _app()
    ref = f"registry.example/shop/{app}:1.2.3"
    created = logged_in(
        "release", "create", f"{app}={ref}", "--alias", f"{app}-a", "--label", "branch=main",
        "-o", "json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    release = json.loads(created.stdout)
    assert release["alias"] == f"{app}-a"
    assert release["artifacts"][0]["ref"] == ref

    again = logged_in("release", "create", f"{app}={ref}", "-o", "json")
    assert again.returncode == 0
    assert json.loads(again.stdout)["id"] == release["id"]

    listed = logged_in("release", "list", "--app", app, "--label", "branch=main", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    page = json.loads(listed.stdout)
    assert [r["id"] for r in page["items"]] == [release["id"]]
    assert page["next_cursor"] is None

    shown = logged_in("release", "show", f"{app}-a", "-o", "yaml")
    assert yaml.safe_load(shown.stdout)["id"] == release["id"]

    table = logged_in("release", "list", "--app", app)
    assert table.returncode == 0
    # Tables show a unique id prefix (issue 12); `-o wide` the whole id.
    assert release["id"][4:12] in table.stdout and "ALIAS" in table.stdout
    assert release["id"] in logged_in("release", "list", "--app", app, "-o", "wide").stdout


def test_release_create_with_a_chart_and_a_commit(logged_in: Shiplane) -> None:
    app = _app()
    ref = f"registry.example/shop/{app}:1.2.3"
    sha = "0123456789abcdef0123456789abcdef01234567"
    created = logged_in(
        "release", "create", f"{app}={ref}", "--chart", f"{app}=1.1.0", "--commit",
        f"{app}={sha.upper()}", "-o", "json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    release = json.loads(created.stdout)
    assert release["charts"] == {app: "1.1.0"} and release["commits"] == {app: sha}
    plain = json.loads(logged_in("release", "create", f"{app}={ref}", "-o", "json").stdout)
    assert plain["id"] != release["id"] and plain["charts"] == {}  # contents make the id
    shown = logged_in("release", "show", release["id"])
    assert f"{app}=1.1.0" in shown.stdout and f"{app}={sha}" in shown.stdout
    assert "charts" not in logged_in("release", "show", plain["id"]).stdout
    bad = logged_in("release", "create", f"{app}={ref}", "--commit", f"{app}=abc123")
    assert bad.returncode == 1 and "full commit sha" in bad.stderr


def test_release_list_pages_with_cursor(logged_in: Shiplane) -> None:
    app = _app()
    for n in range(3):
        assert logged_in("release", "create", f"{app}=reg.example/{app}:{n}").returncode == 0
    first = json.loads(
        logged_in("release", "list", "--app", app, "--limit", "2", "-o", "json").stdout
    )
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = json.loads(
        logged_in(
            "release", "list", "--app", app, "--limit", "2", "--cursor", first["next_cursor"],
            "-o", "json",
        ).stdout
    )  # fmt: skip
    assert len(second["items"]) == 1 and second["next_cursor"] is None


def test_usage_errors_exit_2(logged_in: Shiplane) -> None:
    for args in (
        ("release", "create", "no-equals-sign"),
        ("release", "create", "checkout=registry.example/shop/checkout"),  # no tag/digest
        ("release", "create", "Bad_App=registry.example/x:1"),
        ("release", "create", "a=reg.example/a:1", "--label", "nolabel"),
        ("release", "list", "--limit", "0"),
        ("release", "list", "-o", "xml"),
        ("audit", "list", "--since", "last tuesday"),
        ("token", "create", "--role", "superuser"),
        ("release", "frobnicate"),
    ):
        result = logged_in(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr


def test_bad_artifact_message_is_clear(logged_in: Shiplane) -> None:
    result = logged_in("release", "create", "no-equals-sign")
    assert result.returncode == 2
    assert "is not APP=IMAGE" in result.stderr


def test_api_rejections_are_one_line_and_exit_1(
    logged_in: Shiplane, cli_server: ServerProcess
) -> None:
    missing = logged_in("release", "show", "no-such-release")
    assert missing.returncode == 1
    assert _one_error_line(missing.stderr).endswith("(HTTP 404)")

    created = json.loads(logged_in("token", "create", "--role", "viewer", "-o", "json").stdout)
    viewer_env = {"SHIPLANE_SERVER": cli_server.url, "SHIPLANE_TOKEN": created["token"]}
    denied = logged_in("release", "create", "x=reg.example/x:1", env=viewer_env)
    assert denied.returncode == 1
    line = _one_error_line(denied.stderr)
    assert "role 'viewer'" in line and line.endswith("(HTTP 403)")


def test_connection_refused_names_the_server(shiplane: Shiplane) -> None:
    env = {"SHIPLANE_SERVER": "http://127.0.0.1:9", "SHIPLANE_TOKEN": "shp_x" * 8}
    result = shiplane("release", "list", env=env)
    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert "http://127.0.0.1:9" in line
    assert "shiplane serve" in line and "shiplane login" in line


def test_not_logged_in_says_how_to_log_in(shiplane: Shiplane) -> None:
    result = shiplane("status")
    assert result.returncode == 1
    assert "shiplane login" in _one_error_line(result.stderr)


def test_tokens_create_list_revoke(logged_in: Shiplane, cli_server: ServerProcess) -> None:
    created = logged_in("token", "create", "--role", "promoter", "--env", "dev", "--name", "ci-job")
    assert created.returncode == 0, created.stderr
    assert "shown only this once" in created.stdout
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("shp_")

    listing = json.loads(logged_in("token", "list", "--limit", "500", "-o", "json").stdout)
    record = next(t for t in listing["items"] if t["name"] == "ci-job")
    assert record["environments"] == ["dev"] and record["role"] == "promoter"
    assert token not in json.dumps(listing)

    revoked = logged_in("token", "revoke", record["id"][4:12])  # a unique prefix (issue 12)
    assert revoked.returncode == 0, revoked.stderr
    env = {"SHIPLANE_SERVER": cli_server.url, "SHIPLANE_TOKEN": token}
    after = logged_in("release", "list", env=env)
    assert after.returncode == 1 and "(HTTP 401)" in after.stderr


def test_audit_list_export_and_status(logged_in: Shiplane) -> None:
    app = _app()
    logged_in("release", "create", f"{app}=reg.example/{app}:1")
    listed = logged_in("audit", "list", "--app", app, "--action", "release.create", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    events = json.loads(listed.stdout)["items"]
    assert len(events) == 1 and events[0]["actor"] == "bootstrap"

    exported = logged_in("audit", "export")
    assert exported.returncode == 0
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))

    status = logged_in("status", "-o", "json")
    assert status.returncode == 0
    assert json.loads(status.stdout)["cells"] == []
    assert "no apps or environments" in logged_in("status").stdout


def test_audit_verify_exits_1_naming_the_tampered_event(shiplane: Shiplane, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'tamper.db'}"
    with running_server(tmp_path / "server", database_url) as server:
        env = {"SHIPLANE_SERVER": server.url, "SHIPLANE_TOKEN": server.admin_token}
        for n in range(3):
            assert shiplane("release", "create", f"a{n}=reg.example/a:{n}", env=env).returncode == 0
        ok = shiplane("audit", "verify", env=env)
        assert ok.returncode == 0, ok.stderr
        assert "3 events verified" in ok.stdout

        run_sql(database_url, "UPDATE audit_events SET details = %s WHERE seq = %s", ("{}", 2))
        broken = shiplane("audit", "verify", env=env)
        assert broken.returncode == 1
        line = _one_error_line(broken.stderr)
        assert "event 2" in line and "modified" in line
        as_json = shiplane("audit", "verify", "-o", "json", env=env)
        assert as_json.returncode == 1
        assert json.loads(as_json.stdout)["first_bad_seq"] == 2
