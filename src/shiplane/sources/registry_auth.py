"""What a registry host said about authentication, remembered between looks.

Each look at a source makes its own `RegistryClient`; without a memory, every look
would start with an anonymous request answered `401`, and a bearer registry would run
the token flow again for every repository of a scan. `AuthMemory` keeps, for one host
and one set of credentials (`RegistryClients` holds one per pair):

- that the host asked for basic auth: clients send it with their first request;
- the host's bearer challenge (realm and service, the realm checked by the host rule
  when it was first seen): a token for a new scope is asked for before the first
  request, not after a `401`;
- bearer tokens per scope, reused until 90% of their lifetime (`expires_in`, 60 s when
  the token service gives none, as the token specification says) has passed.

Tokens live in process memory only, never logged; they are never shared between
credentials (the memory is per credentials), and a token the registry refuses is
dropped and the flow runs again once.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
DEFAULT_TOKEN_LIFETIME = 60.0  # seconds: the token specification's default `expires_in`
TOKEN_REUSE = 0.9  # a token is reused until this share of its lifetime has passed


@dataclass(frozen=True)
class Challenge:
    """A `WWW-Authenticate` answer: `Basic` or `Bearer` with its parameters."""

    kind: str  # "basic", "bearer", or what the registry said, lower case
    params: dict[str, str]

    @classmethod
    def parse(cls, header: str) -> Challenge:
        kind, _, rest = header.strip().partition(" ")
        return cls(kind.lower(), dict(CHALLENGE_PARAM.findall(rest)))


@dataclass(frozen=True)
class BearerRealm:
    """Where a host's tokens come from (its realm passed the host rule)."""

    realm: str
    service: str


class AuthMemory:
    """Authentication facts about one registry host for one set of credentials."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.basic = False  # the host answered `401 Basic`: send basic auth up front
        self.bearer: BearerRealm | None = None  # the host answered `401 Bearer realm=...`
        self._tokens: dict[str, tuple[str, float]] = {}  # scope -> (token, reuse until)
        self._clock = clock

    def token(self, scope: str) -> str | None:
        """A kept token for `scope` that is still fresh, else None."""
        kept = self._tokens.get(scope)
        if kept is None:
            return None
        if self._clock() >= kept[1]:
            del self._tokens[scope]
            return None
        return kept[0]

    def keep(self, scope: str, token: str, expires_in: float | None) -> None:
        now = self._clock()
        lifetime = expires_in if expires_in and expires_in > 0 else DEFAULT_TOKEN_LIFETIME
        # Drop the stale ones first, so a scan of many repositories does not pile up.
        self._tokens = {s: kept for s, kept in self._tokens.items() if kept[1] > now}
        self._tokens[scope] = (token, now + TOKEN_REUSE * lifetime)

    def forget(self, scope: str) -> None:
        self._tokens.pop(scope, None)


def same_site(host: str, other: str) -> bool:
    """`other` is `host` (any port), or (for DNS names of three labels or more) shares
    its parent domain: the rule for token realms. IP addresses and two-label names must
    match exactly (but for the port)."""
    host, other = host.lower(), other.lower()
    if host == other:
        return True
    name, other_name = host.rsplit(":", 1)[0], other.rsplit(":", 1)[0]
    if name == other_name:
        return True  # the same machine on another port (a token service beside it)
    try:
        ipaddress.ip_address(name.strip("[]"))
        return False
    except ValueError:
        pass
    parent = name.split(".")[-2:]
    return len(parent) == 2 and other_name.split(".")[-2:] == parent and name.count(".") >= 2
