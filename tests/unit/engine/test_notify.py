"""Pure parts of notifications: configuration, event schema, signatures, Slack lines,
backoff."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from shiplane.config import NOTIFICATION_EVENTS, ProjectConfig, SecretNotSetError
from shiplane.domain.webhook_signature import sign, verify_signature
from shiplane.engine.notify import RetryPolicy, channels_for
from shiplane.engine.notify_format import (
    build_event,
    encode_body,
    slack_message,
    summary_text,
)

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
PROMOTION: dict[str, Any] = {
    "id": "prm-1",
    "release": "rel-3f9c2a41d0e5",
    "version": "1.4.2",
    "environment": "prod",
    "apps": ["checkout"],
    "state": "Waiting",
}


def _project(notifications: Any) -> ProjectConfig:
    return ProjectConfig.model_validate(
        {
            "apiVersion": "shiplane/v1alpha1",
            "project": "shop",
            "clusters": {"c": {"inCluster": True}},
            "environments": {"prod": {"cluster": "c", "namespace": "shop"}},
            "apps": {},
            "notifications": notifications,
        }
    )


def test_config_defaults_and_subscriptions() -> None:
    project = _project(
        {
            "all": {"webhook": {"url": "https://h.example/x", "secretEnv": "HOOK_SECRET"}},
            "some": {"slack": {"urlEnv": "SLACK", "events": ["promotion.failed"]}},
        }
    )
    hook = project.notifications["all"]
    assert hook.kind == "webhook" and hook.events == NOTIFICATION_EVENTS and hook.timeout == 10
    assert channels_for(project, "promotion.failed") == {"all": "webhook", "some": "slack"}
    assert channels_for(project, "promotion.succeeded") == {"all": "webhook"}
    assert _project({}).notifications == {}
    assert hook.webhook is not None
    assert hook.webhook.secret_value({"HOOK_SECRET": "x" * 20}) == "x" * 20
    with pytest.raises(SecretNotSetError, match="HOOK_SECRET"):
        hook.webhook.secret_value({})
    slack = project.notifications["some"].slack
    assert slack is not None
    with pytest.raises(SecretNotSetError) as caught:
        slack.url_value({"SLACK": "not-a-url-but-secret"})
    assert "not-a-url-but-secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        ({"webhook": {"url": "https://h.example"}}, "exactly one of 'secretEnv'"),
        ({"webhook": {"url": "https://h", "secret": "s" * 16, "secretEnv": "A"}}, "exactly one"),
        ({"webhook": {"url": "https://h", "secret": "short"}}, "at least 16"),
        ({"webhook": {"url": "https://h", "secretEnv": "1BAD"}}, "environment variable name"),
        ({"slack": {}}, "exactly one of 'urlEnv'"),
        ({"slack": {"urlEnv": "S", "events": ["promotion.exploded"]}}, "promotion.succeeded"),
        ({}, "exactly one of: webhook, slack"),
        ({"webhook": {"url": "https://h", "secretEnv": "A"}, "slack": {"urlEnv": "S"}}, "one"),
    ],
)
def test_config_rejects(channel: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _project({"x": channel})


def test_event_payload_schema() -> None:
    event = build_event("shop", "promotion.succeeded", PROMOTION, now=NOW,
                        base_url="https://s.example/")  # fmt: skip
    payload = event.to_payload()
    assert payload == {
        "schema_version": 1,
        "event": "promotion.succeeded",
        "time": "2026-11-27T09:30:00.000000Z",
        "project": "shop",
        "promotion": {**PROMOTION, "alias": None, "reason": None, "requested_by": None,
                      "kind": "normal", "trigger": "manual", "approvals": None},
        "links": {"api": "https://s.example/api/v1/promotions/prm-1",
                  "cli": "shiplane promotion show prm-1"},
    }  # fmt: skip
    with pytest.raises(ValueError, match="unknown notification event"):
        build_event("shop", "promotion.nope", PROMOTION, now=NOW)
    with pytest.raises(ValidationError, match="secret"):
        build_event("shop", "promotion.failed", {**PROMOTION, "secret": "x"}, now=NOW)
    with pytest.raises(ValidationError, match="at least one app"):
        build_event("shop", "promotion.failed", {**PROMOTION, "apps": []}, now=NOW)


def test_signature_round_trip_and_replay_window() -> None:
    body = encode_body({"b": 1, "a": "é"})
    assert body == '{"a":"é","b":1}'.encode()
    ts = int(time.time())
    signature = sign("topsecret", ts, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    ok = {"timestamp": str(ts), "signature": signature, "body": body}
    assert verify_signature("topsecret", now=time.time(), **ok)  # type: ignore[arg-type]
    assert not verify_signature("other", now=time.time(), **ok)  # type: ignore[arg-type]
    assert not verify_signature("topsecret", timestamp=str(ts), signature=signature,
                                body=body + b" ", now=time.time())  # fmt: skip
    assert not verify_signature("topsecret", now=ts + 301, **ok)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("event", "extra", "line"),
    [
        ("promotion.waiting_for_approval", {"approvals": {"received": 1, "required": 2}},
         "checkout 1.4.2 (rel-3f9c2a) is waiting for approval in prod — 1 of 2 approvals"),
        ("promotion.succeeded", {}, "checkout 1.4.2 (rel-3f9c2a) was promoted to prod"),
        ("promotion.failed", {"reason": "error rate 3%"},
         "checkout 1.4.2 (rel-3f9c2a) failed in prod: error rate 3%"),
        ("promotion.rolled_back", {"reason": "verification failed"},
         "checkout 1.4.2 (rel-3f9c2a) was rolled back in prod: verification failed"),
        ("promotion.frozen", {"reason": "year-end"},
         "checkout 1.4.2 (rel-3f9c2a) is blocked by a freeze of prod: year-end"),
    ],
)  # fmt: skip
def test_slack_lines(event: str, extra: dict[str, Any], line: str) -> None:
    payload = build_event("shop", event, {**PROMOTION, **extra}, now=NOW).to_payload()
    assert summary_text(payload) == line
    message = slack_message(payload)
    assert message["text"] == line
    assert [b["type"] for b in message["blocks"]] == ["section", "context"]


def test_slack_escapes_markup_and_uses_alias_without_version() -> None:
    promotion = {**PROMOTION, "version": None, "alias": "swift-otter", "reason": "<b>&"}
    payload = build_event("shop", "promotion.failed", promotion, now=NOW).to_payload()
    message = slack_message(payload)
    assert message["text"] == "checkout swift-otter (rel-3f9c2a) failed in prod: <b>&"
    assert "&lt;b&gt;&amp;" in message["blocks"][0]["text"]["text"]


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy()
    rng = random.Random(7)
    delays = [policy.delay(n, rng) for n in range(1, policy.max_attempts + 1)]
    for n, delay in enumerate(delays, start=1):
        nominal = min(7200.0, 10.0 * 2 ** (n - 1))
        assert nominal / 2 <= delay.total_seconds() <= nominal
    assert max(delays) <= timedelta(hours=2)
    total = sum((d for d in delays[:-1]), timedelta())  # 23 waits between 24 attempts
    assert timedelta(hours=12) < total < timedelta(hours=36)


EXAMPLE = """\
apiVersion: shiplane/v1alpha1
project: shop
clusters:
  c: {inCluster: true}
environments:
  prod: {cluster: c, namespace: shop}
apps: {}
notifications:
  deploy-bot:
    webhook:
      url: https://hooks.example.com/shiplane
      secretEnv: SHIPLANE_WEBHOOK_SECRET
      events: [promotion.succeeded, promotion.failed, promotion.rolled_back]
      headers: {X-Team: shop}
      timeout: 5s
  releases-channel:
    slack:
      urlEnv: SLACK_RELEASES_WEBHOOK
"""


def test_documented_example_loads_and_matches_the_json_schema() -> None:
    from shiplane.config import project_json_schema
    from shiplane.config.loader import load_project_text
    from shiplane.config.yamlnodes import parse_yaml

    project = load_project_text(EXAMPLE)
    assert project.notifications["deploy-bot"].timeout == 5
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    validator = jsonschema_rs.validator_for(project_json_schema())
    assert [e.message for e in validator.iter_errors(parse_yaml(EXAMPLE).data)] == []
    bad = parse_yaml(EXAMPLE.replace("promotion.failed", "promotion.exploded")).data
    assert list(validator.iter_errors(bad))
