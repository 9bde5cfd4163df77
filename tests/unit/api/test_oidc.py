"""ID token validation (api/oidc.py) against a provider played by an httpx
MockTransport with locally made keys: what the real Gitea cannot be made to do on
demand (an expired token, a key rotation, another issuer, an HS256 token)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from shiplane.api.oidc import OidcClient, SignInRefused, SsoUnavailable

ISSUER = "https://idp.example"
CLIENT = "shiplane"
NONCE = "nonce-123456"


class Provider:
    """Discovery and a JWKS that may change (a rotation); counts JWKS fetches."""

    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "k1"})]
        self.jwks_fetches = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/authorize",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/keys",
                },
            )
        if request.url.path == "/keys":
            self.jwks_fetches += 1
            return httpx.Response(200, json={"keys": [k.as_dict(private=False) for k in self.keys]})
        return httpx.Response(404)


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    found = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "42",
        "exp": now + 300,
        "iat": now,
        "nonce": NONCE,
        "preferred_username": "alice",
    }
    found.update(changes)
    return found


def sign(key: RSAKey, body: dict[str, Any], alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, body, key)


@pytest.fixture
def provider() -> Provider:
    return Provider()


def client(provider: Provider) -> OidcClient:
    return OidcClient(
        ISSUER, CLIENT, lambda: "secret", transport=httpx.MockTransport(provider.handle)
    )


def test_a_valid_token_gives_its_claims(provider: Provider) -> None:
    found = client(provider).verify_id_token(sign(provider.keys[0], claims()), NONCE)
    assert found["preferred_username"] == "alice" and found["sub"] == "42"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"exp": int(time.time()) - 3600}, "has expired"),
        ({"aud": "someone-else"}, r"another client \(audience\)"),
        ({"iss": "https://evil.example"}, r"another provider \(issuer\)"),
        ({"nonce": "other-nonce"}, "nonce does not match"),
        ({"sub": None}, "names no subject"),
    ],
)
def test_a_bad_claim_is_refused_with_why(
    provider: Provider, changes: dict[str, Any], words: str
) -> None:
    body = {k: v for k, v in claims(**changes).items() if v is not None}
    with pytest.raises(SignInRefused, match=words):
        client(provider).verify_id_token(sign(provider.keys[0], body), NONCE)


def test_a_rotated_key_is_fetched_once_and_a_made_up_kid_is_refused(provider: Provider) -> None:
    clock = [time.time()]
    oidc = OidcClient(
        ISSUER, CLIENT, lambda: "s", transport=httpx.MockTransport(provider.handle),
        now=lambda: clock[0],
    )  # fmt: skip
    oidc.verify_id_token(sign(provider.keys[0], claims()), NONCE)
    assert provider.jwks_fetches == 1
    clock[0] += 15  # past the refresh interval
    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    provider.keys = [rotated]
    assert oidc.verify_id_token(sign(rotated, claims()), NONCE)["sub"] == "42"
    assert provider.jwks_fetches == 2
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k3"})
    with pytest.raises(SignInRefused, match="key the provider does not publish"):
        oidc.verify_id_token(sign(stranger, claims()), NONCE)
    # Within the refresh interval an unknown kid does not hit the provider again.
    assert provider.jwks_fetches == 2


def test_a_token_signed_with_another_key_under_a_known_kid_is_refused(
    provider: Provider,
) -> None:
    forged = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    with pytest.raises(SignInRefused, match="not valid"):
        client(provider).verify_id_token(sign(forged, claims()), NONCE)


def test_a_symmetric_token_is_refused(provider: Provider) -> None:
    key = OctKey.generate_key(256, parameters={"kid": "k1"})
    token = jwt.encode({"alg": "HS256", "kid": "k1"}, claims(), key)
    with pytest.raises(SignInRefused):
        client(provider).verify_id_token(token, NONCE)


def test_discovery_naming_another_issuer_is_a_configuration_error() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"issuer": "https://other.example"})

    oidc = OidcClient(ISSUER, CLIENT, lambda: "s", transport=httpx.MockTransport(handle))
    with pytest.raises(SsoUnavailable, match=r"set sso\.issuer to exactly what it says"):
        oidc.metadata()
