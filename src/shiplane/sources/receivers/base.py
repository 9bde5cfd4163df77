"""What every webhook receiver is: authenticate a delivery, then parse it into changes.

A receiver turns a provider's documented payload into *where* something changed: an
image repository (registry host, repository, tag or digest) or a git ref (repository
URL, ref). That is all it is trusted for: the engine refreshes the sources watching that
place, and those ask their own configured registry or remote. A payload's digest or URL
is never fetched. Pure: no I/O (the secret is passed in).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from shiplane.config.models import ReceiverConfig
from shiplane.domain.errors import InvalidError
from shiplane.domain.push_payload import changed_paths
from shiplane.domain.registry import Registry
from shiplane.domain.webhook_signature import body_hmac_matches

RefusalReason = Literal[
    "unknown-receiver",
    "too-large",
    "unauthenticated",
    "bad-signature",
    "stale",
    "replayed",
    "malformed",
    "not-configured",
]


class DeliveryRefused(InvalidError):
    """A delivery that is refused and changes nothing; `reason` says which rule refused
    it (the API maps it to a 4xx status). Messages never quote a secret or a signature."""

    def __init__(self, reason: RefusalReason, message: str) -> None:
        super().__init__(message, details={"reason": reason})
        self.reason: RefusalReason = reason


@dataclass(frozen=True)
class Delivery:
    """One request as received: lower-case header names, the raw body, query values."""

    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body as JSON; DeliveryRefused("malformed") when it is not."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise DeliveryRefused("malformed", "the body is not JSON") from None


@dataclass(frozen=True)
class ImageChange:
    """Something was pushed to `host`/`repository` (tag and digest as the payload says:
    for the record only, never fetched)."""

    host: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def describe(self) -> str:
        suffix = f":{self.tag}" if self.tag else (f"@{self.digest}" if self.digest else "")
        return f"{self.host}/{self.repository}{suffix}"


@dataclass(frozen=True)
class PullChange:
    """Something happened to pull request `number` of the repository at `url`."""

    url: str
    number: int
    action: str

    def describe(self) -> str:
        return f"{self.url} pull request #{self.number} {self.action}"


@dataclass(frozen=True)
class GitChange:
    """Commits were pushed to `ref` (e.g. `refs/heads/main`) of the repository at `url`.
    A forge's push also says the new head (`after`) and the files the commits touched
    (`paths`; None when the payload does not list them all): for the record and to
    choose which GitOps environments to sync, never fetched."""

    url: str
    ref: str | None
    after: str | None = None
    paths: tuple[str, ...] | None = None

    def describe(self) -> str:
        return f"{self.url} {self.ref or '(any ref)'}"


@dataclass(frozen=True)
class Parsed:
    """What a delivery says changed; `ignored` says why nothing is taken from it (an event
    the receiver does not act on, such as a ping or a pull)."""

    event: str
    images: tuple[ImageChange, ...] = ()
    commits: tuple[GitChange, ...] = ()
    ignored: str | None = None
    pulls: tuple[PullChange, ...] = ()
    """Pull (merge) requests that changed (pull-request mode wakes the promotion waiting
    for one; its state is then asked of the forge, never taken from the payload)."""


class Receiver(ABC):
    """One sender type. Register an instance with `register`."""

    type: ClassVar[str]

    @abstractmethod
    def authenticate(self, delivery: Delivery, secret: str, *, now: float) -> None:
        """Return when the delivery proves it knows `secret`; else DeliveryRefused
        ("unauthenticated", "bad-signature" or "stale"). Constant-time comparisons only."""

    @abstractmethod
    def parse(self, delivery: Delivery, config: ReceiverConfig) -> Parsed:
        """The changes the (authenticated) delivery reports; DeliveryRefused("malformed")
        when it does not have the provider's documented shape."""

    def delivery_id(self, delivery: Delivery) -> str | None:
        """The sender's id of this delivery (a header or a field), when it has one."""
        return None

    def fingerprint(self, delivery: Delivery) -> str:
        """What makes this delivery the same as an earlier one even under another id: the
        SHA-256 of its body (a receiver with a signed timestamp adds it)."""
        return hashlib.sha256(delivery.body).hexdigest()


RECEIVERS: Registry[Receiver] = Registry("receiver")
"""All receiver plugins by type name. Modules register themselves on import."""


def register(receiver: Receiver) -> Receiver:
    RECEIVERS.register(
        receiver.type, schema=ReceiverConfig, description=(type(receiver).__doc__ or "").strip()
    )(receiver)
    return receiver


# --- shared checks ------------------------------------------------------------------------


def require_header(delivery: Delivery, name: str) -> str:
    value = delivery.header(name)
    if not value:
        raise DeliveryRefused("unauthenticated", f"the {name} header is missing")
    return value


def same_secret(given: str, secret: str) -> bool:
    """Constant-time equality of a token sent as it is (or as `Bearer <token>`)."""
    text = given.strip()
    if text[:7].lower() == "bearer ":
        text = text[7:].strip()
    return hmac.compare_digest(text.encode(), secret.encode())


def require_token(given: str | None, secret: str, where: str) -> None:
    if not given:
        raise DeliveryRefused("unauthenticated", f"the token is missing ({where})")
    if not same_secret(given, secret):
        raise DeliveryRefused("bad-signature", f"the token does not match ({where})")


def require_body_hmac(delivery: Delivery, header: str, secret: str, *, prefix: str) -> None:
    """`header` carries `prefix` + the hex HMAC-SHA256 of the body under `secret`."""
    given = require_header(delivery, header)
    if not body_hmac_matches(secret, delivery.body, given, prefix=prefix):
        raise DeliveryRefused("bad-signature", f"the {header} signature does not match")


def mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DeliveryRefused("malformed", f"{what} is not an object")
    return value


def text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DeliveryRefused("malformed", f"{what} is missing or not a string")
    return value.strip()


def optional_text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def split_image_url(url: str) -> tuple[str, str, str | None, str | None]:
    """`host/repo[:tag][@digest]` (a scheme is dropped) -> (host, repository, tag, digest)."""
    rest = url.split("://", 1)[-1].strip().strip("/")
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
    host, _, path = rest.partition("/")
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
    if not host or not path:
        raise DeliveryRefused("malformed", "an image reference has no host or repository")
    return host, path, tag or None, digest or None


def pull_changed(payload: dict[str, Any]) -> PullChange:
    """A `pull_request` event as Gitea and GitHub send it: `action`, `number` and
    `repository.clone_url`."""
    repository = mapping(payload.get("repository"), "repository")
    url = text(repository.get("clone_url") or repository.get("html_url"), "repository.clone_url")
    number = payload.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise DeliveryRefused("malformed", "number is missing or not a positive number")
    return PullChange(url, number, str(payload.get("action") or "")[:40])


def pushed(payload: dict[str, Any], url: str) -> GitChange:
    """A forge's push (Gitea, GitHub, GitLab: `ref`, `after`, `commits` with their files)."""
    return GitChange(
        url, text(payload.get("ref"), "ref"), optional_text(payload.get("after")),
        changed_paths(payload),
    )  # fmt: skip
