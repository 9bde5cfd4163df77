"""Single sign-on against the real Gitea (an OpenID Connect provider on loopback): the
web UI's code flow with PKCE, state and nonce, groups mapped to a role per environment,
approvals by the person's identity, and bad input refused with nothing changed.

The browser is played by the in-process app's TestClient and `GiteaApi.authorize`
(Gitea's own sign-in and consent forms); every token exchange and key fetch is real.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from shiplane.api.oidc import OidcClient, Pkce, SignInRefused
from shiplane.api.sso import start_check
from shiplane.config import load_project_text
from shiplane.config.models import ProjectConfig
from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.store import promotion_controls, releases
from shiplane.store import promotions as store
from shiplane.store.models import ApiToken, WebSession
from tests.support.api_project import PROJECT_YAML
from tests.support.gitea import GiteaServer
from tests.support.gitea_api import GiteaApi, GiteaUser, OAuthApp, unique_name
from tests.unit.web.uihelpers import UiUnderTest, attach_engine, csrf_of, ui_app

pytestmark = pytest.mark.forge

CALLBACK = "http://testserver/ui/sso/callback"
SECRET_ENV = "SHIPLANE_TEST_SSO_SECRET"
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Org:
    name: str
    manager: GiteaUser  # in release-managers: approver in prod
    developer: GiteaUser  # in developers: promoter in dev and staging
    outsider: GiteaUser  # in no team of the org, nor the org
    app: OAuthApp
    other_app: OAuthApp  # another client of the same provider


@pytest.fixture(scope="module")
def org(gitea: GiteaServer) -> Org:
    forge = gitea.api()
    manager, developer, outsider = (forge.create_user() for _ in range(3))
    name = forge.create_org()
    forge.create_team(name, "release-managers", [manager])
    forge.create_team(name, "developers", [developer])
    owner = forge.create_user()
    app = forge.create_oauth_app(owner, [CALLBACK])
    other = forge.create_oauth_app(owner, [CALLBACK])
    return Org(name, manager, developer, outsider, app, other)


def sso_project(
    gitea: GiteaServer, org: Org, issuer: str | None = None, extra: str = ""
) -> ProjectConfig:
    # The approval policy names the provider's team as SSO tokens carry it.
    policy = f'{{required: 1, groups: ["{org.name}:release-managers"]}}'
    prod = f"  prod: {{cluster: local, namespace: prod, after: [staging], approvals: {policy}}}\n"
    base = re.sub(r"  prod: .*\n", prod, PROJECT_YAML)
    return load_project_text(
        base
        + f"""sso:
  issuer: {issuer or gitea.url}
  clientId: {org.app.client_id}
  clientSecretEnv: {SECRET_ENV}
  roles:
    - {{group: {org.name}, role: viewer}}
    - {{group: "{org.name}:developers", role: promoter, environments: [dev, staging]}}
    - {{group: "{org.name}:release-managers", role: approver, environments: [prod]}}
"""
        + extra
    )


@pytest.fixture
def ui(
    tmp_path: Path, gitea: GiteaServer, org: Org, monkeypatch: pytest.MonkeyPatch
) -> Iterator[UiUnderTest]:
    monkeypatch.setenv(SECRET_ENV, org.app.client_secret)
    project = sso_project(gitea, org)
    with ui_app(tmp_path, project) as under_test:
        attach_engine(under_test, project, tmp_path)
        yield under_test


def start(ui: UiUnderTest, next_path: str = "/ui/approvals") -> dict[str, str]:
    """Press "Sign in with SSO": the query Shiplane sends the browser to Gitea with."""
    answer = ui.client.get(f"/ui/sso/start?next={next_path}", follow_redirects=False)
    assert answer.status_code == 303, answer.text
    target = httpx.URL(answer.headers["location"])
    return dict(target.params)


def sign_in(ui: UiUnderTest, forge: GiteaApi, org: Org, user: GiteaUser) -> httpx.Response:
    back = forge.authorize(org.app, user, start(ui))
    return ui.client.get(str(back))


def sso_tokens(ui: UiUnderTest) -> list[ApiToken]:
    with ui.database.session() as s:
        return list(s.scalars(select(ApiToken).where(ApiToken.created_by == "sso")))


def session_count(ui: UiUnderTest) -> int:
    with ui.database.session() as s:
        return len(list(s.scalars(select(WebSession))))


def seed_waiting(
    ui: UiUnderTest, environment: str, promotion_id: str, requested_by: str = "ci-bot"
) -> str:
    """A promotion into `environment`, requested by someone else, waiting for approval."""
    with ui.database.session() as s:
        release, _ = releases.create_release(
            s,
            artifacts={"checkout": "registry.example/shop/checkout@sha256:" + "e" * 64},
            alias=unique_name("v"),
            labels={},
            creator="ci",
        )
        p = Promotion(
            id=promotion_id,
            release_id=release.id,
            environment=environment,
            apps=("checkout",),
            requested_by=requested_by,
            created_at=NOW,
            state=PromotionState.WAITING,
            reason="approval: waiting for 1 approval",
            updated_at=NOW,
        )
        store.insert_promotion(s, p, next_check_at=None, data={"gates": []})
    return release.id


def test_the_sign_in_page_offers_sso_and_a_manager_lands_as_themselves(
    ui: UiUnderTest, forge: GiteaApi, org: Org
) -> None:
    page = ui.client.get("/ui/login")
    assert 'href="/ui/sso/start?next=%2Fui%2F"' in page.text and "Sign in with SSO" in page.text

    params = start(ui)
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["client_id"] == org.app.client_id and params["redirect_uri"] == CALLBACK
    assert params["state"] and params["nonce"] and "openid" in params["scope"].split()
    done = ui.client.get(str(forge.authorize(org.app, org.manager, params)))
    assert done.status_code == 200, done.text
    assert 'content="0;url=/ui/approvals"' in done.text

    home = ui.client.get("/ui/approvals")
    assert home.status_code == 200 and org.manager.name in home.text
    [token] = sso_tokens(ui)
    assert token.name == org.manager.name and token.role == "approver"
    assert token.environments == []  # the org maps to viewer everywhere
    assert token.environment_roles == {"*": "viewer", "prod": "approver"}
    assert token.subject == f"{gitea_issuer(ui)}#{token.subject.split('#')[1]}"
    assert f"{org.name}:release-managers" in (token.groups or [])
    assert token.expires_at is not None


def gitea_issuer(ui: UiUnderTest) -> str:
    project = ui.client.app.state.shiplane.current_project  # type: ignore[attr-defined]
    return str(project.sso.issuer)


def test_a_release_manager_approves_in_prod_by_their_identity_and_not_in_staging(
    ui: UiUnderTest, forge: GiteaApi, org: Org
) -> None:
    release_id = seed_waiting(ui, "prod", "prm-sso-prod")
    seed_waiting(ui, "staging", "prm-sso-staging")
    assert sign_in(ui, forge, org, org.manager).status_code == 200
    csrf = csrf_of(ui.client.get("/ui/").text)

    staging = ui.client.post("/ui/promotions/prm-sso-staging/approve", data={"csrf_token": csrf})
    approved = ui.client.post(
        "/ui/promotions/prm-sso-prod/approve",
        data={"csrf_token": csrf, "comment": "via sso"},
        follow_redirects=False,
    )
    assert staging.status_code == 403
    assert f"'{org.manager.name}' has role 'viewer' in staging" in html.unescape(staging.text)
    assert approved.status_code == 303, approved.text
    with ui.database.session() as s:
        approvals = promotion_controls.approvals_for(s, release_id, "prod")
    assert [(a.user, a.decision, a.comment) for a in approvals] == [
        (org.manager.name, "approve", "via sso")
    ]


def test_separation_of_duties_holds_across_sign_in_methods(
    ui: UiUnderTest, forge: GiteaApi, org: Org
) -> None:
    """The manager requested the promotion with an API token named as they are (or
    through `shiplane login --sso`, which names the token the same way); signed in
    through SSO in the browser they are still the requester and cannot approve."""
    release_id = seed_waiting(ui, "prod", "prm-sso-own", requested_by=org.manager.name)
    assert sign_in(ui, forge, org, org.manager).status_code == 200
    page = ui.client.get("/ui/promotions/prm-sso-own")
    csrf = csrf_of(page.text)
    refused = ui.client.post("/ui/promotions/prm-sso-own/approve", data={"csrf_token": csrf})
    assert refused.status_code == 403
    assert f"{org.manager.name} requested this promotion" in html.unescape(refused.text)
    with ui.database.session() as s:
        assert promotion_controls.approvals_for(s, release_id, "prod") == []


def test_a_non_member_is_refused_with_why_and_nothing_is_recorded(
    ui: UiUnderTest, forge: GiteaApi, org: Org
) -> None:
    release_id = seed_waiting(ui, "prod", "prm-sso-dev-refused")
    assert sign_in(ui, forge, org, org.developer).status_code == 200
    csrf = csrf_of(ui.client.get("/ui/").text)
    refused = ui.client.post(
        "/ui/promotions/prm-sso-dev-refused/approve", data={"csrf_token": csrf}
    )
    assert refused.status_code == 403
    assert f"token '{org.developer.name}' has role 'promoter'" in html.unescape(refused.text)
    with ui.database.session() as s:
        assert promotion_controls.approvals_for(s, release_id, "prod") == []


def test_someone_in_no_mapped_group_gets_no_session(
    ui: UiUnderTest, forge: GiteaApi, org: Org
) -> None:
    refused = sign_in(ui, forge, org, org.outsider)
    assert refused.status_code == 403
    assert f"{org.outsider.name} is in none of the groups sso.roles maps" in html.unescape(
        refused.text
    )
    assert sso_tokens(ui) == [] and session_count(ui) == 0


def test_sign_out_ends_the_session_and_its_token_server_side(
    ui: UiUnderTest, forge: GiteaApi, org: Org
) -> None:
    assert sign_in(ui, forge, org, org.manager).status_code == 200
    cookie = ui.client.cookies.get("shiplane_session")
    assert cookie and session_count(ui) == 1
    csrf = csrf_of(ui.client.get("/ui/").text)
    out = ui.client.post("/ui/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert session_count(ui) == 0
    [token] = sso_tokens(ui)
    assert token.revoked_at is not None
    # The old cookie, sent again by hand, opens nothing.
    ui.client.cookies.set("shiplane_session", cookie, path="/ui")
    again = ui.client.get("/ui/", follow_redirects=False)
    assert again.status_code in (302, 303, 307) and "/ui/login" in again.headers["location"]


def test_a_forged_state_is_refused_and_nothing_changes(
    ui: UiUnderTest, forge: GiteaApi, org: Org
) -> None:
    params = {**start(ui), "state": "forged-" + "x" * 20}
    back = forge.authorize(org.app, org.manager, params)
    refused = ui.client.get(str(back))
    assert refused.status_code == 403 and "state does not match" in html.unescape(refused.text)
    assert sso_tokens(ui) == [] and session_count(ui) == 0


def test_a_nonce_mismatch_is_refused_by_the_id_token_check(
    ui: UiUnderTest, forge: GiteaApi, org: Org
) -> None:
    params = {**start(ui), "nonce": "not-the-one-shiplane-made"}
    refused = ui.client.get(str(forge.authorize(org.app, org.manager, params)))
    assert refused.status_code == 403 and "nonce does not match" in html.unescape(refused.text)
    assert sso_tokens(ui) == [] and session_count(ui) == 0


def test_a_replayed_code_is_refused_by_the_provider(
    ui: UiUnderTest, forge: GiteaApi, org: Org
) -> None:
    back = forge.authorize(org.app, org.manager, start(ui))
    started = ui.client.cookies.get("shiplane_sso")
    assert started
    assert ui.client.get(str(back)).status_code == 200
    ui.client.cookies.clear()
    ui.client.cookies.set("shiplane_sso", started, path="/ui/sso")
    replayed = ui.client.get(str(back))
    assert replayed.status_code == 403
    assert "refused the authorization code" in html.unescape(replayed.text)
    assert len(sso_tokens(ui)) == 1 and session_count(ui) == 1


def test_a_code_of_another_client_is_refused(ui: UiUnderTest, forge: GiteaApi, org: Org) -> None:
    params = start(ui)
    del params["client_id"]
    back = forge.authorize(org.other_app, org.manager, params)
    refused = ui.client.get(str(back))
    assert refused.status_code == 403 and "refused the authorization code" in html.unescape(
        refused.text
    )
    assert sso_tokens(ui) == [] and session_count(ui) == 0


def test_an_id_token_for_another_audience_is_refused(
    gitea: GiteaServer, forge: GiteaApi, org: Org
) -> None:
    pkce = Pkce.new()
    params = {
        "response_type": "code",
        "scope": "openid profile groups",
        "state": pkce.state,
        "nonce": pkce.nonce,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    back = forge.authorize(org.other_app, org.manager, params)
    theirs = OidcClient(gitea.url, org.other_app.client_id, lambda: org.other_app.client_secret)
    id_token = theirs.exchange(back.params["code"], CALLBACK, pkce.verifier)
    assert theirs.verify_id_token(id_token, pkce.nonce)["preferred_username"] == org.manager.name
    ours = OidcClient(gitea.url, org.app.client_id, lambda: org.app.client_secret)
    with pytest.raises(SignInRefused, match="issued for another client"):
        ours.verify_id_token(id_token, pkce.nonce)


def test_a_wrong_client_secret_says_so_and_opens_nothing(
    ui: UiUnderTest, forge: GiteaApi, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, org.app.client_secret + "x")
    refused = sign_in(ui, forge, org, org.manager)
    assert refused.status_code == 502
    assert "refused Shiplane's client credentials" in html.unescape(refused.text)
    assert sso_tokens(ui) == [] and session_count(ui) == 0


def test_an_unreachable_issuer_is_a_clear_error_page(
    tmp_path: Path, gitea: GiteaServer, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, org.app.client_secret)
    project = sso_project(gitea, org, issuer="http://127.0.0.1:9")
    with ui_app(tmp_path, project) as under_test:
        answer = under_test.client.get("/ui/sso/start", follow_redirects=False)
    assert answer.status_code == 502
    assert "cannot be reached" in html.unescape(answer.text) and "http://127.0.0.1:9" in answer.text


def test_the_start_check_names_what_keeps_sso_from_working(
    gitea: GiteaServer, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, org.app.client_secret)
    assert start_check(sso_project(gitea, org).sso) is None
    unreachable = start_check(sso_project(gitea, org, issuer="http://127.0.0.1:9").sso)
    assert unreachable is not None and "cannot be reached" in unreachable
    monkeypatch.delenv(SECRET_ENV)
    unset = start_check(sso_project(gitea, org).sso)
    assert unset == f"the environment variable {SECRET_ENV} (sso client secret) is not set"
    assert start_check(None) is None


def test_an_unset_secret_at_sign_in_is_an_error_page_not_a_crash(
    ui: UiUnderTest, forge: GiteaApi, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV)
    refused = sign_in(ui, forge, org, org.manager)
    assert refused.status_code == 502
    assert f"{SECRET_ENV} (sso client secret) is not set" in html.unescape(refused.text)
    assert sso_tokens(ui) == []
