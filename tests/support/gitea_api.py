"""Helpers that set up a test Gitea through its CLI and its REST API (tests/support/gitea.py
starts the server): users, scoped tokens, organisations and teams, repositories, OAuth2
applications and repository webhooks. Each returns what a test needs to use the thing.
`authorize` plays a person signing in to an OAuth2 application through Gitea's web forms
(sign in, consent), for sign-on tests that need no browser.

Names must be unique within the session (the server is shared): take them from
`unique_name`.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "GiteaApi",
    "GiteaRepo",
    "GiteaTeam",
    "GiteaUser",
    "OAuthApp",
    "Webhook",
    "unique_name",
]

# Enough for a test user to push, open and merge pull requests, and read its profile.
DEFAULT_SCOPES = ("write:repository", "write:issue", "read:user")


def unique_name(prefix: str) -> str:
    """`prefix-1a2b3c`: a name no other test of the session uses (Gitea: ≤ 40 chars)."""
    return f"{prefix}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class GiteaUser:
    name: str
    password: str
    email: str


@dataclass(frozen=True)
class GiteaTeam:
    id: int
    org: str
    name: str


@dataclass(frozen=True)
class GiteaRepo:
    owner: str
    name: str
    clone_url: str  # http://127.0.0.1:PORT/OWNER/NAME.git
    default_branch: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def authenticated_url(self, user: str, token: str) -> str:
        """The clone URL with credentials, for `git push` over HTTP with a token."""
        scheme, rest = self.clone_url.split("://", 1)
        return f"{scheme}://{user}:{token}@{rest}"


@dataclass(frozen=True)
class OAuthApp:
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


@dataclass(frozen=True)
class Webhook:
    id: int
    url: str
    secret: str


class GiteaApi:
    """Set-up calls against one Gitea: its CLI for users (as an operator makes them), the
    REST API for the rest (as the site admin, or as the user who owns the thing)."""

    def __init__(self, url: str, admin: GiteaUser, cli: Callable[..., str]) -> None:
        self.url = url
        self.admin = admin
        self._cli = cli

    def client(self, auth: GiteaUser | str | None = None) -> httpx.Client:
        """An API client (`/api/v1`) as a user (basic auth), with a token, or as the admin."""
        who = auth or self.admin
        headers = {} if isinstance(who, GiteaUser) else {"Authorization": f"token {who}"}
        basic = (who.name, who.password) if isinstance(who, GiteaUser) else None
        return httpx.Client(base_url=f"{self.url}/api/v1", auth=basic, headers=headers, timeout=30)

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None,
        auth: GiteaUser | str | None = None, expect: Sequence[int] = (200, 201, 204),
    ) -> Any:  # fmt: skip
        with self.client(auth) as http:
            answer = http.request(method, path, json=body)
        if answer.status_code not in expect:
            raise AssertionError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json() if answer.content else None

    # users and tokens

    def create_user(self, name: str | None = None, *, admin: bool = False) -> GiteaUser:
        """A user made with `gitea admin user create` (a site admin with `admin=True`)."""
        name = name or unique_name("user")
        user = GiteaUser(name, secrets.token_urlsafe(18), f"{name}@example.test")
        args = ["admin", "user", "create", "--username", user.name, "--password",
                user.password, "--email", user.email, "--must-change-password=false"]  # fmt: skip
        self._cli(*args, *(["--admin"] if admin else []))
        return user

    def create_token(
        self, user: GiteaUser, scopes: Sequence[str] = DEFAULT_SCOPES, name: str | None = None
    ) -> str:
        """A personal access token of `user` with `scopes` (e.g. `write:repository`)."""
        body = {"name": name or unique_name("token"), "scopes": list(scopes)}
        made = self._call("POST", f"/users/{user.name}/tokens", body, auth=user)
        return str(made["sha1"])

    # organisations and teams

    def create_org(self, name: str | None = None, owner: GiteaUser | None = None) -> str:
        """An organisation (public), made by `owner` (default: the admin); its name."""
        name = name or unique_name("org")
        self._call("POST", "/orgs", {"username": name, "visibility": "public"}, auth=owner)
        return name

    def create_team(
        self,
        org: str,
        name: str,
        members: Sequence[GiteaUser] = (),
        *,
        permission: str = "write",
    ) -> GiteaTeam:
        """A team with `permission` (read, write, admin) on every repository of `org`."""
        body = {
            "name": name,
            "permission": permission,
            "includes_all_repositories": True,
            "units": ["repo.code", "repo.issues", "repo.pulls", "repo.releases"],
        }
        made = self._call("POST", f"/orgs/{org}/teams", body)
        team = GiteaTeam(int(made["id"]), org, name)
        for member in members:
            self.add_team_member(team, member)
        return team

    def add_team_member(self, team: GiteaTeam, user: GiteaUser) -> None:
        self._call("PUT", f"/teams/{team.id}/members/{user.name}")

    # repositories

    def create_repo(
        self, owner: GiteaUser | str, name: str | None = None, *, private: bool = False
    ) -> GiteaRepo:
        """A repository of a user or of organisation `owner` (a name), initialised with a
        README commit on `main`."""
        body = {
            "name": name or unique_name("repo"),
            "auto_init": True,
            "default_branch": "main",
            "readme": "Default",
            "private": private,
        }
        if isinstance(owner, GiteaUser):
            owner_name, path = owner.name, f"/admin/users/{owner.name}/repos"
        else:
            owner_name, path = owner, f"/orgs/{owner}/repos"
        made = self._call("POST", path, body)
        return GiteaRepo(owner_name, str(made["name"]), str(made["clone_url"]), "main")

    def add_collaborator(self, repo: GiteaRepo, user: GiteaUser, permission: str = "write") -> None:
        body = {"permission": permission}
        self._call("PUT", f"/repos/{repo.full_name}/collaborators/{user.name}", body)

    # OAuth2 / OpenID Connect and webhooks

    def create_oauth_app(
        self, owner: GiteaUser, redirect_uris: Sequence[str], name: str | None = None
    ) -> OAuthApp:
        """A confidential OAuth2 application of `owner` (client id and secret)."""
        body = {
            "name": name or unique_name("app"),
            "redirect_uris": list(redirect_uris),
            "confidential_client": True,
        }
        made = self._call("POST", "/user/applications/oauth2", body, auth=owner)
        return OAuthApp(str(made["client_id"]), str(made["client_secret"]), tuple(redirect_uris))

    def create_webhook(
        self,
        repo: GiteaRepo,
        url: str,
        secret: str | None = None,
        events: Sequence[str] = ("push", "pull_request"),
    ) -> Webhook:
        """A repository webhook sending JSON to `url`, signed with `secret`
        (`X-Gitea-Signature`: hex HMAC-SHA256 of the body)."""
        secret = secret or secrets.token_urlsafe(24)
        body = {
            "type": "gitea",
            "active": True,
            "events": list(events),
            "config": {"url": url, "content_type": "json", "secret": secret},
        }
        made = self._call("POST", f"/repos/{repo.full_name}/hooks", body)
        return Webhook(int(made["id"]), url, secret)

    # a person signing in to an application (no browser: Gitea's forms work without JS)

    def authorize(self, app: OAuthApp, user: GiteaUser, params: Mapping[str, str]) -> httpx.URL:
        """Sign `user` in through Gitea's login form, open the authorization endpoint with
        `params` (response_type, scope, state, nonce, code_challenge, ...; client_id and
        the first redirect URI are filled in), consent if asked, and return where Gitea
        redirects: the application's redirect URI with `code` and `state`, or `error`."""
        query = {"client_id": app.client_id, "redirect_uri": app.redirect_uris[0], **params}
        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=30) as web:
            login = web.post(
                "/user/login", data={"user_name": user.name, "password": user.password}
            )
            if login.status_code != 303:
                raise AssertionError(f"signing in {user.name} failed: {login.status_code}")
            answer = web.get("/login/oauth/authorize", params=query)
            if answer.status_code == 200:  # the consent page (skipped once granted)
                form = re.search(
                    r'<form[^>]*action="/login/oauth/grant".*?</form>', answer.text, re.S
                )
                if form is None:
                    raise AssertionError(
                        f"no consent form in Gitea's answer:\n{answer.text[:2000]}"
                    )
                hidden = r'<input type="hidden" name="([^"]+)" value="([^"]*)"'
                found = re.findall(hidden, form.group(0))
                fields = {name: html.unescape(value) for name, value in found}
                answer = web.post("/login/oauth/grant", data={**fields, "granted": "true"})
            if answer.status_code not in (302, 303):
                raise AssertionError(f"authorization did not redirect: {answer.status_code}")
            return httpx.URL(answer.headers["location"])
