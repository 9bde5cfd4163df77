"""The OpenID Connect relying party: discovery, the authorization URL (code flow with
PKCE, state and nonce), the code exchange and ID token validation (docs/sso.md).

ID tokens are validated by joserfc, a maintained JOSE library, never by hand: the
signature against the provider's JWKS (fetched again once when a token names a key id
not seen yet, so a key rotation needs no restart), then issuer, audience (this client
id), expiry, issued-at and the nonce of this sign-in. Errors derive from the domain
families: the provider unreachable or misconfigured is an ExternalError with words an
operator can act on; a refused sign-in is a ForbiddenError that says why.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import (
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from shiplane.domain.errors import ExternalError, ForbiddenError

__all__ = [
    "ID_TOKEN_ALGORITHMS",
    "OidcClient",
    "Pkce",
    "ProviderMetadata",
    "SignInRefused",
    "SsoUnavailable",
]

# Asymmetric algorithms only: an HS256 token would be "signed" with the client secret,
# which the provider's JWKS cannot vouch for.
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
# Clocks of the provider and this server may differ a little.
CLOCK_LEEWAY = 60
# An unknown key id fetches the JWKS again at most this often (a token with a made-up
# kid must not make every request hit the provider).
JWKS_REFRESH_INTERVAL = 10.0
HTTP_TIMEOUT = 10.0


class SsoUnavailable(ExternalError):
    """The provider cannot be used now: unreachable, an answer that is not OpenID
    Connect, or it refuses this server's client credentials."""


class SignInRefused(ForbiddenError):
    """A sign-in that is refused: state or nonce mismatch, a used or invalid code, an ID
    token for another audience, expired or badly signed, or no mapped group."""


@dataclass(frozen=True)
class ProviderMetadata:
    """What discovery (`/.well-known/openid-configuration`) says."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True)
class Pkce:
    """One sign-in's secrets: `state` (CSRF of the redirect), `nonce` (binds the ID
    token to it) and the PKCE `verifier` (binds the code to it)."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Pkce:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _json(answer: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SsoUnavailable(f"{what} answered {answer.status_code} without a JSON object")
    return body


class OidcClient:
    """One provider and this server's client at it. Thread-safe; discovery and the key
    set are cached (discovery is read again after a failure)."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: Callable[[], str],
        *,
        transport: httpx.BaseTransport | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self._transport = transport
        self._now = now
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._keys: KeySet | None = None
        self._keys_fetched_at = 0.0

    def _get(self, url: str, what: str) -> dict[str, Any]:
        try:
            with httpx.Client(timeout=HTTP_TIMEOUT, transport=self._transport) as http:
                answer = http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise SsoUnavailable(
                f"the SSO provider {self.issuer} cannot be reached ({what}): "
                f"{type(exc).__name__}: {exc}",
                retryable=True,
            ) from None
        if answer.status_code != 200:
            raise SsoUnavailable(
                f"the SSO provider {self.issuer} answered {answer.status_code} to {url}",
                retryable=answer.status_code >= 500,
            )
        return _json(answer, what)

    def metadata(self) -> ProviderMetadata:
        """Discovery, fetched once; SsoUnavailable when unreachable or inconsistent."""
        with self._lock:
            if self._metadata is not None:
                return self._metadata
        url = f"{self.issuer}/.well-known/openid-configuration"
        found = self._get(url, "discovery")
        issuer = str(found.get("issuer", "")).rstrip("/")
        if issuer != self.issuer:
            raise SsoUnavailable(
                f"the SSO provider's discovery names issuer {found.get('issuer')!r}, not the "
                f"configured {self.issuer!r}: set sso.issuer to exactly what it says"
            )
        try:
            metadata = ProviderMetadata(
                issuer=str(found["issuer"]),
                authorization_endpoint=str(found["authorization_endpoint"]),
                token_endpoint=str(found["token_endpoint"]),
                jwks_uri=str(found["jwks_uri"]),
            )
        except KeyError as exc:
            raise SsoUnavailable(f"the SSO provider's discovery lacks {exc.args[0]}") from None
        with self._lock:
            self._metadata = metadata
        return metadata

    def authorization_url(self, redirect_uri: str, pkce: Pkce, scopes: Sequence[str]) -> str:
        """Where the browser goes to sign in: the code flow with PKCE (S256)."""
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": pkce.state,
            "nonce": pkce.nonce,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.metadata().authorization_endpoint}?{urlencode(query)}"

    def exchange(self, code: str, redirect_uri: str, verifier: str) -> str:
        """The ID token for an authorization code (the client authenticates with its
        secret; the PKCE verifier proves this is the sign-in that asked)."""
        metadata = self.metadata()
        try:
            client_secret = self._client_secret()
        except ValueError as exc:  # the configured variable or file holds no secret
            raise SsoUnavailable(f"the SSO client secret is not available: {exc}") from None
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "client_secret": client_secret,
            "code_verifier": verifier,
        }
        try:
            with httpx.Client(timeout=HTTP_TIMEOUT, transport=self._transport) as http:
                answer = http.post(metadata.token_endpoint, data=form)
        except httpx.HTTPError as exc:
            raise SsoUnavailable(
                f"the SSO provider {self.issuer} cannot be reached (token): "
                f"{type(exc).__name__}: {exc}",
                retryable=True,
            ) from None
        body = _json(answer, "the token endpoint")
        if answer.status_code != 200:
            error = str(body.get("error", ""))
            description = str(body.get("error_description") or error or answer.status_code)
            if error == "invalid_client" or "client secret" in description:
                raise SsoUnavailable(
                    f"the SSO provider refused Shiplane's client credentials ({description}): "
                    "check sso.clientId and the client secret"
                )
            raise SignInRefused(
                f"the SSO provider refused the authorization code ({description}): it is "
                "invalid, expired or was used already; sign in again"
            )
        token = body.get("id_token")
        if not isinstance(token, str) or not token:
            raise SsoUnavailable(
                "the SSO provider issued no ID token: is 'openid' among sso.scopes?"
            )
        return token

    def _key_set(self, refresh: bool) -> KeySet:
        with self._lock:
            keys, fetched_at = self._keys, self._keys_fetched_at
        if keys is not None and not refresh:
            return keys
        if keys is not None and self._now() - fetched_at < JWKS_REFRESH_INTERVAL:
            return keys
        found = self._get(self.metadata().jwks_uri, "keys")
        try:
            keys = KeySet.import_key_set(found)  # type: ignore[arg-type]
        except (JoseError, KeyError, TypeError, ValueError) as exc:
            raise SsoUnavailable(f"the SSO provider's JWKS cannot be read: {exc}") from None
        with self._lock:
            self._keys, self._keys_fetched_at = keys, self._now()
        return keys

    def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of a valid ID token for this client and this sign-in's nonce;
        SignInRefused saying what is wrong otherwise."""
        try:
            try:
                token = jwt.decode(id_token, self._key_set(False), algorithms=ID_TOKEN_ALGORITHMS)
            except InvalidKeyIdError:
                # A key id not seen yet: the provider may have rotated its keys.
                token = jwt.decode(id_token, self._key_set(True), algorithms=ID_TOKEN_ALGORITHMS)
            registry = jwt.JWTClaimsRegistry(
                now=lambda: int(self._now()),
                leeway=CLOCK_LEEWAY,
                iss={"essential": True, "value": self.metadata().issuer},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(token.claims)
        except ExpiredTokenError:
            raise SignInRefused("the ID token has expired; sign in again") from None
        except (InvalidClaimError, MissingClaimError) as exc:
            claim = getattr(exc, "claim", "") or str(exc)
            raise SignInRefused(_claim_refusal(str(claim))) from None
        except InvalidKeyIdError:
            raise SignInRefused(
                "the ID token is signed with a key the provider does not publish"
            ) from None
        except JoseError as exc:
            raise SignInRefused(f"the ID token is not valid: {exc.error or exc}") from None
        claims: dict[str, Any] = dict(token.claims)
        return claims


def _claim_refusal(claim: str) -> str:
    words = {
        "aud": "the ID token was issued for another client (audience)",
        "iss": "the ID token was issued by another provider (issuer)",
        "nonce": "the ID token's nonce does not match this sign-in (replayed or forged)",
        "exp": "the ID token has expired",
        "iat": "the ID token's issue time is missing or invalid",
        "sub": "the ID token names no subject",
    }
    return words.get(claim, f"the ID token's claim {claim!r} is missing or invalid") + (
        "; sign in again"
    )
