"""CLI helpers without a server: argument parsing and the credentials file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import typer

from shiplane.cli.args import check_time, parse_artifact_args, parse_key_values
from shiplane.cli.client import (
    CliFailure,
    Credentials,
    load_credentials,
    normalize_server,
    write_config_file,
)


def test_parse_artifacts() -> None:
    assert parse_artifact_args(
        ["checkout=reg.example/shop/checkout:1.4", "pay=r.io/p@sha256:" + "a" * 64]
    ) == {
        "checkout": "reg.example/shop/checkout:1.4",
        "pay": "r.io/p@sha256:" + "a" * 64,
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("checkout", "is not APP=IMAGE"),
        ("=reg/x:1", "is not APP=IMAGE"),
        ("checkout=", "is not APP=IMAGE"),
        ("checkout=reg.example/x", "needs a tag"),
        ("Check_Out=reg.example/x:1", "invalid app name"),
    ],
)
def test_parse_artifacts_rejects_with_a_clear_usage_error(value: str, message: str) -> None:
    with pytest.raises(typer.BadParameter, match=message):
        parse_artifact_args([value])


def test_duplicate_app_is_a_usage_error() -> None:
    with pytest.raises(typer.BadParameter, match="given twice"):
        parse_artifact_args(["a=r.io/a:1", "a=r.io/a:2"])


def test_key_values_and_times() -> None:
    assert parse_key_values(["branch=main", "empty="], "--label") == {"branch": "main", "empty": ""}
    with pytest.raises(typer.BadParameter):
        parse_key_values(["nope"], "--label")
    assert check_time("2026-05-01T12:00:00Z", "--since") == "2026-05-01T12:00:00Z"
    with pytest.raises(typer.BadParameter, match="ISO 8601"):
        check_time("yesterday", "--since")


def test_normalize_server() -> None:
    assert normalize_server("127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert normalize_server("https://ship.example") == "https://ship.example"


def test_config_file_is_private_and_env_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "new-dir" / "config.yaml"
    monkeypatch.setenv("SHIPLANE_CONFIG", str(path))
    monkeypatch.delenv("SHIPLANE_SERVER", raising=False)
    monkeypatch.delenv("SHIPLANE_TOKEN", raising=False)
    write_config_file(path, Credentials(server="http://a:1", token="shp_file"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_credentials() == Credentials(server="http://a:1", token="shp_file")

    monkeypatch.setenv("SHIPLANE_SERVER", "b:2")
    monkeypatch.setenv("SHIPLANE_TOKEN", "shp_env")
    assert load_credentials() == Credentials(server="http://b:2", token="shp_env")


def test_missing_credentials_explain_how_to_log_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPLANE_CONFIG", str(tmp_path / "none.yaml"))
    monkeypatch.delenv("SHIPLANE_SERVER", raising=False)
    monkeypatch.delenv("SHIPLANE_TOKEN", raising=False)
    with pytest.raises(CliFailure, match="shiplane login"):
        load_credentials()


def test_release_diff_text_shows_a_chart_or_commit_only_when_pinned() -> None:
    from shiplane.cli.cmd_views import release_diff_text

    artifact = {"ref": "r.example/api:1@sha256:" + "a" * 64, "digest": "sha256:" + "a" * 64}
    data = {
        "a": "one",
        "b": "two",
        "artifacts": [
            {"app": "api", "change": "changed", "a": artifact, "b": artifact,
             "chart": {"a": "1.0.0", "b": "1.1.0"}, "commit": {"a": None, "b": None}},
        ],
    }  # fmt: skip
    text = release_diff_text(data)
    assert "    chart: 1.0.0 -> 1.1.0" in text and "commit" not in text
