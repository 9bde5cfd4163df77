"""The Gitea test harness itself: a real forge and OpenID Connect provider on loopback,
set up through its CLI and API, driven with real `git` over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from shiplane.localcluster.components import GITEA_VERSION
from tests.integration.forge.conftest import Receiver, git
from tests.support.gitea import GiteaServer
from tests.support.gitea_api import GiteaApi, unique_name
from tests.support.wait import wait_for

pytestmark = pytest.mark.forge


def test_serves_the_pinned_version_and_openid_configuration(gitea: GiteaServer) -> None:
    version = httpx.get(f"{gitea.url}/api/v1/version", timeout=10).json()["version"]
    assert version == GITEA_VERSION.lstrip("v")

    answer = httpx.get(f"{gitea.url}/.well-known/openid-configuration", timeout=10)
    assert answer.status_code == 200
    config = answer.json()
    assert config["issuer"].rstrip("/") == gitea.url
    assert config["authorization_endpoint"] == f"{gitea.url}/login/oauth/authorize"
    assert config["token_endpoint"] == f"{gitea.url}/login/oauth/access_token"
    assert config["jwks_uri"] == f"{gitea.url}/login/oauth/keys"
    assert "code" in config["response_types_supported"]
    keys = httpx.get(config["jwks_uri"], timeout=10).json()["keys"]
    assert keys and all(key.get("kid") for key in keys)


def _jwt_part(token: str, index: int) -> dict[str, Any]:
    # Only to look at what Gitea issued; validating ID tokens is the product's job, with
    # a maintained library.
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def test_signing_in_to_an_oauth_app_issues_an_id_token_with_team_groups(
    gitea: GiteaServer, forge: GiteaApi
) -> None:
    person = forge.create_user()
    org = forge.create_org()
    forge.create_team(org, "release-managers", [person])
    app = forge.create_oauth_app(forge.create_user(), ["http://127.0.0.1:9/callback"])
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    nonce, state = secrets.token_urlsafe(12), secrets.token_urlsafe(12)

    back = forge.authorize(
        app,
        person,
        {
            "response_type": "code",
            "scope": "openid profile groups",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
        },
    )
    assert str(back).startswith(app.redirect_uris[0]) and back.params["state"] == state

    def exchange(secret: str) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": back.params["code"],
            "redirect_uri": app.redirect_uris[0],
            "client_id": app.client_id,
            "client_secret": secret,
            "code_verifier": verifier,
        }
        return httpx.post(f"{gitea.url}/login/oauth/access_token", data=form, timeout=10)

    wrong = exchange(app.client_secret + "x")
    assert wrong.status_code == 400
    assert wrong.json()["error_description"] == "invalid client secret"
    issued = exchange(app.client_secret)
    assert issued.status_code == 200, issued.text
    id_token = issued.json()["id_token"]
    claims = _jwt_part(id_token, 1)
    assert claims["iss"] == gitea.url and claims["nonce"] == nonce
    assert app.client_id in claims["aud"] and claims["preferred_username"] == person.name
    assert f"{org}:release-managers" in claims["groups"]
    keys = httpx.get(f"{gitea.url}/login/oauth/keys", timeout=10).json()["keys"]
    assert _jwt_part(id_token, 0)["kid"] in {key["kid"] for key in keys}
    assert exchange(app.client_secret).status_code == 400  # a code is good once


def test_push_then_pull_request_opened_by_one_user_merged_by_another(
    gitea: GiteaServer, forge: GiteaApi, tmp_path: Path
) -> None:
    author, reviewer, releaser = (forge.create_user() for _ in range(3))
    org = forge.create_org()
    forge.create_team(org, "developers", [author, reviewer], permission="write")
    forge.create_team(org, "release-managers", [releaser], permission="write")
    repo = forge.create_repo(org)

    token = forge.create_token(author, ["write:repository"])
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", repo.authenticated_url(author.name, token), str(work))
    (work / "app.yaml").write_text("image: web:1.2.0\n")
    git(work, "checkout", "-q", "-b", "bump-web")
    git(work, "add", "app.yaml")
    git(work, "commit", "-q", "-m", "web 1.2.0", author=author.name)
    git(work, "push", "-q", "origin", "bump-web")

    with forge.client(forge.create_token(reviewer)) as http:
        opened = http.post(
            f"/repos/{repo.full_name}/pulls",
            json={"head": "bump-web", "base": "main", "title": "Promote web 1.2.0"},
        )
    assert opened.status_code == 201, opened.text
    pull = opened.json()
    assert pull["user"]["login"] == reviewer.name and not pull["merged"]

    with forge.client(forge.create_token(releaser)) as http:
        merged = http.post(
            f"/repos/{repo.full_name}/pulls/{pull['number']}/merge", json={"Do": "merge"}
        )
        assert merged.status_code == 200, merged.text
        after = http.get(f"/repos/{repo.full_name}/pulls/{pull['number']}").json()
        content = http.get(f"/repos/{repo.full_name}/raw/app.yaml", params={"ref": "main"})
    assert after["merged"] and after["merged_by"]["login"] == releaser.name
    assert content.text == "image: web:1.2.0\n"


def _signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_push_is_delivered_to_a_loopback_webhook_signed(
    forge: GiteaApi, receiver: Receiver, tmp_path: Path
) -> None:
    owner = forge.create_user()
    repo = forge.create_repo(owner, unique_name("gitops"))
    hook = forge.create_webhook(repo, receiver.url, events=["push"])
    token = forge.create_token(owner, ["write:repository"])

    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", repo.authenticated_url(owner.name, token), str(work))
    (work / "drift.txt").write_text("made by hand\n")
    git(work, "add", "drift.txt")
    git(work, "commit", "-q", "-m", "a hand-made change")
    git(work, "push", "-q", "origin", "main")
    head = git(work, "rev-parse", "HEAD").strip()

    def pushed() -> tuple[dict[str, str], bytes] | None:
        for headers, body in receiver.deliveries:
            if headers.get("x-gitea-event") == "push":
                return headers, body
        return None

    headers, body = wait_for(pushed, timeout=30, what="Gitea's push delivery")
    assert hmac.compare_digest(headers["x-gitea-signature"], _signature(hook.secret, body))
    assert headers["x-gitea-signature"] != _signature(hook.secret + "x", body)
    payload = json.loads(body)
    assert payload["ref"] == "refs/heads/main"
    assert payload["after"] == head
    assert payload["repository"]["full_name"] == repo.full_name
    assert [c["message"].strip() for c in payload["commits"]] == ["a hand-made change"]
