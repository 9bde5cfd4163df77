"""Receivers authenticate with their own secret, in constant time: good, bad, missing,
stale; and the generic receiver checks exactly what Shiplane's own webhooks sign."""

from __future__ import annotations

import pytest

from shiplane.domain.webhook_signature import sign, verify_signature
from shiplane.sources.receivers import RECEIVERS, Delivery, DeliveryRefused
from tests.unit.sources import payloads as p

NOW = 1_700_000_000.0


def authenticate(type_: str, delivery: Delivery, secret: str = p.SECRET, now: float = NOW) -> None:
    RECEIVERS.get(type_).plugin.authenticate(delivery, secret, now=now)


def refusal(type_: str, delivery: Delivery, now: float = NOW) -> str:
    with pytest.raises(DeliveryRefused) as refused:
        authenticate(type_, delivery, now=now)
    assert p.SECRET not in str(refused.value)
    return refused.value.reason


GOOD = {
    "distribution": lambda: p.distribution(p.distribution_envelope()),
    "dockerhub": lambda: p.with_query_token(p.dockerhub_payload()),
    "quay": lambda: p.with_query_token(p.quay_payload()),
    "harbor": lambda: p.harbor(p.harbor_payload()),
    "github": lambda: p.github("push", p.github_push()),
    "gitlab": lambda: p.gitlab("Push Hook", p.gitlab_push()),
    "gitea": lambda: p.gitea("push", p.gitea_push()),
    "generic": lambda: p.generic({"images": ["h/r:1"]}, timestamp=int(NOW)),
}


@pytest.mark.parametrize("type_", sorted(GOOD))
def test_the_right_secret_passes_and_another_is_refused(type_: str) -> None:
    delivery = GOOD[type_]()
    authenticate(type_, delivery)
    with pytest.raises(DeliveryRefused) as refused:
        authenticate(type_, delivery, secret="another-secret-of-some-length")
    assert refused.value.reason == "bad-signature"


@pytest.mark.parametrize("type_", sorted(GOOD))
def test_a_tampered_or_unsigned_delivery_is_refused(type_: str) -> None:
    delivery = GOOD[type_]()
    tampered = Delivery(delivery.headers, delivery.body + b" ", delivery.query)
    token_types = {"distribution", "dockerhub", "quay", "harbor", "gitlab"}
    if type_ not in token_types:  # signatures cover the body
        assert refusal(type_, tampered) == "bad-signature"
    bare = Delivery({"content-type": "application/json"}, delivery.body, {})
    assert refusal(type_, bare) == "unauthenticated"


def test_harbor_and_distribution_take_the_bare_secret_or_bearer() -> None:
    authenticate("harbor", p.harbor(p.harbor_payload(), auth=p.SECRET))
    authenticate("harbor", p.harbor(p.harbor_payload(), auth=f"Bearer {p.SECRET}"))
    assert refusal("harbor", p.harbor(p.harbor_payload(), auth="Bearer nope")) == "bad-signature"


def test_generic_refuses_a_stale_timestamp_only_after_the_signature_holds() -> None:
    old = p.generic({"images": ["h/r:1"]}, timestamp=int(NOW) - 301)
    assert refusal("generic", old) == "stale"
    future = p.generic({"images": ["h/r:1"]}, timestamp=int(NOW) + 301)
    assert refusal("generic", future) == "stale"
    forged = p.generic({"images": ["h/r:1"]}, timestamp=int(NOW) - 301, secret="x" * 20)
    assert refusal("generic", forged) == "bad-signature"
    garbled = Delivery({**old.headers, "x-shiplane-timestamp": "yesterday"}, old.body, old.query)
    assert refusal("generic", garbled) == "unauthenticated"


def test_generic_checks_the_signature_of_shiplanes_outgoing_webhooks() -> None:
    """One implementation: what engine/notify signs, the generic receiver accepts."""
    body = b'{"images":["h/r:1"]}'
    signature = sign(p.SECRET, int(NOW), body)
    assert verify_signature(
        p.SECRET, timestamp=str(int(NOW)), signature=signature, body=body, now=NOW
    )
    delivery = Delivery(
        {"x-shiplane-timestamp": str(int(NOW)), "x-shiplane-signature": signature}, body
    )
    authenticate("generic", delivery)


def test_fingerprints_tell_deliveries_apart() -> None:
    generic = RECEIVERS.get("generic").plugin
    one = p.generic({"images": ["h/r:1"]}, timestamp=int(NOW))
    again = p.generic({"images": ["h/r:1"]}, timestamp=int(NOW) + 1)
    assert generic.fingerprint(one) != generic.fingerprint(again)
    github = RECEIVERS.get("github").plugin
    first = p.github("push", p.github_push(), delivery="a")
    resent = p.github("push", p.github_push(), delivery="b")
    assert github.fingerprint(first) == github.fingerprint(resent)
    assert github.delivery_id(first) == "a"
