"""Credentials over smart HTTP with Basic auth: used, and never visible.

The password must not appear in argv (a wrapper git logs every invocation), in errors,
in log lines, or in the working copy's `.git/config`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

import pytest
from structlog.testing import capture_logs

from shiplane.gitops import GitCredentials, GitError, GitWorkspace, pin_path
from tests.integration.gitops.conftest import HTTP_PASSWORD, HTTP_USER, BareRepoFactory, git
from tests.support.git_http import GitHttpServer


@pytest.fixture
def logging_git(tmp_path: Path) -> tuple[str, Path]:
    """A git that records its argv and environment names, then runs the real git."""
    argv_log = tmp_path / "argv.log"
    wrapper = tmp_path / "git-wrapper"
    wrapper.write_text(
        f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{argv_log}'\nexec /usr/bin/git \"$@\"\n"
    )
    wrapper.chmod(0o755)
    return str(wrapper), argv_log


def config_text(ws: GitWorkspace) -> str:
    return (ws.repo_dir / ".git" / "config").read_text()


def test_credentials_are_used_and_never_visible(
    bare_repo: BareRepoFactory,
    http_server: GitHttpServer,
    logging_git: tuple[str, Path],
    tmp_path: Path,
) -> None:
    bare = bare_repo()
    binary, argv_log = logging_git
    url = http_server.url(bare.name)
    ws = GitWorkspace(
        url,
        tmp_path / "cache",
        credentials=GitCredentials(HTTP_USER, HTTP_PASSWORD),
        git_binary=binary,
    )

    async def scenario() -> str:
        await ws.sync()
        result = await ws.commit_and_push(
            {pin_path("dev", "web"): b"x: 1\n"}, message="pin web", trailers={"Shiplane-X": "1"}
        )
        assert result.created
        return result.sha

    with capture_logs() as logs:
        sha = asyncio.run(scenario())
    assert sha == git("rev-parse", "main", cwd=bare).strip()
    # The server saw authenticated requests, including the push.
    users = {r.user for r in http_server.requests if bare.name in r.path and r.status == 200}
    assert users == {HTTP_USER}
    assert any("git-receive-pack" in r.path for r in http_server.requests)
    # ...and the password appears nowhere on our side.
    for where, text in {
        "argv": argv_log.read_text(),
        "logs": repr(logs),
        ".git/config": config_text(ws),
        "repr": repr(ws),
    }.items():
        assert HTTP_PASSWORD not in text, where
        assert quote(HTTP_PASSWORD, safe="") not in text, where
    assert "http://127.0.0.1" in config_text(ws) and "@" not in config_text(ws)


def test_missing_or_wrong_credentials_fail_cleanly(
    bare_repo: BareRepoFactory,
    http_server: GitHttpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SHIPLANE_GIT_PASSWORD", raising=False)
    bare = bare_repo()
    url = http_server.url(bare.name)

    none = GitWorkspace(url, tmp_path / "none")
    with pytest.raises(GitError, match=r"cloning .* failed") as info:
        asyncio.run(none.sync())
    assert "terminal prompts disabled" in str(info.value) or "Authentication" in str(info.value)

    wrong_password = "not-the-password-123"
    wrong = GitWorkspace(
        url, tmp_path / "wrong", credentials=GitCredentials(HTTP_USER, wrong_password)
    )
    with capture_logs() as logs, pytest.raises(GitError) as info:
        asyncio.run(wrong.sync())
    message = str(info.value)
    assert "Authentication failed" in message
    assert wrong_password not in message and wrong_password not in repr(logs)
    assert wrong_password not in " ".join(info.value.command)


def test_userinfo_in_the_url_is_moved_out_of_it(
    bare_repo: BareRepoFactory, http_server: GitHttpServer, tmp_path: Path
) -> None:
    bare = bare_repo()
    port = http_server.port
    secret = quote(HTTP_PASSWORD, safe="")
    ws = GitWorkspace(f"http://{HTTP_USER}:{secret}@127.0.0.1:{port}/{bare.name}", tmp_path / "c")
    asyncio.run(ws.sync())
    assert HTTP_PASSWORD not in config_text(ws) and secret not in config_text(ws)
    assert secret not in repr(ws) and ws.remote_url == f"http://127.0.0.1:{port}/{bare.name}"

    # A failing URL with credentials: the error shows neither the password nor userinfo.
    bad = GitWorkspace(f"http://{HTTP_USER}:{secret}@127.0.0.1:{port}/missing.git", tmp_path / "d")
    with pytest.raises(GitError) as info:
        asyncio.run(bad.sync())
    assert secret not in str(info.value) and HTTP_PASSWORD not in str(info.value)


def test_credentials_from_environment(
    bare_repo: BareRepoFactory,
    http_server: GitHttpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare = bare_repo()
    monkeypatch.setenv("SHIPLANE_GIT_USERNAME", HTTP_USER)
    monkeypatch.setenv("SHIPLANE_GIT_PASSWORD", HTTP_PASSWORD)
    ws = GitWorkspace(http_server.url(bare.name), tmp_path / "cache")
    assert asyncio.run(ws.sync()) == git("rev-parse", "main", cwd=bare).strip()
    assert HTTP_PASSWORD not in (ws.repo_dir / ".git" / "config").read_text()
