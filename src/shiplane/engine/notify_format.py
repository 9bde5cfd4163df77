"""Notification payloads: the event schema, webhook signatures and Slack messages.

Pure functions (no I/O); `shiplane.engine.notify` stores and delivers what they build.
The wire format is documented in docs/notifications.md; change it only compatibly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shiplane.config import NOTIFICATION_EVENTS, NotificationEventName
from shiplane.domain.audit import as_utc

# The signature itself (sign, verify) is shared with the incoming `generic` receiver:
# one implementation, in domain/webhook_signature.py.
from shiplane.domain.webhook_signature import (
    HEADER_DELIVERY,
    HEADER_EVENT,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
)

SCHEMA_VERSION: Literal[1] = 1
SHORT_RELEASE = 10  # "rel-" + 6 hex, as in commit messages: "(rel-3f9c2a)"

EVENT_TYPES: tuple[str, ...] = NOTIFICATION_EVENTS


class Approvals(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    received: int = Field(ge=0)
    required: int = Field(ge=0)


class PromotionSummary(BaseModel):
    """What the engine says about the promotion an event is about (`promotion` in the
    payload). Unknown fields are refused, so the schema only changes on purpose."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    release: str
    """Release id (`rel-...`)."""
    alias: str | None = None
    """The release's readable alias."""
    version: str | None = None
    """A version label for people, e.g. the image tag `1.4.2`."""
    environment: str
    apps: list[str]
    state: str
    reason: str | None = None
    """Why: the failure, the freeze's reason, the rollback's cause."""
    requested_by: str | None = None
    kind: str = "normal"
    """normal | rollback, as the API's promotion `kind`."""
    trigger: str = "manual"
    """manual | auto, as the API's promotion `trigger`."""
    approvals: Approvals | None = None
    """For `promotion.waiting_for_approval`: approvals received and required."""

    @field_validator("apps")
    @classmethod
    def _some_apps(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("a promotion is about at least one app")
        return value


class Links(BaseModel):
    model_config = ConfigDict(frozen=True)

    api: str | None
    """The promotion in the API, when the server's public URL is known."""
    cli: str
    """The command that shows the promotion."""


class NotificationEvent(BaseModel):
    """The JSON body of a webhook delivery (docs/notifications.md, "Payload")."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    event: NotificationEventName
    time: datetime
    project: str
    promotion: PromotionSummary
    links: Links

    def to_payload(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["time"] = as_utc(self.time).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return data


def build_event(
    project: str,
    event_type: str,
    promotion: PromotionSummary | Mapping[str, Any],
    *,
    now: datetime,
    base_url: str | None = None,
) -> NotificationEvent:
    """Validate the engine's input into an event (ValueError on a bad type or field)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(
            f"unknown notification event {event_type!r}; known: {', '.join(EVENT_TYPES)}"
        )
    summary = (
        promotion
        if isinstance(promotion, PromotionSummary)
        else PromotionSummary.model_validate(dict(promotion))
    )
    api = f"{base_url.rstrip('/')}/api/v1/promotions/{summary.id}" if base_url else None
    return NotificationEvent(
        event=event_type,
        time=as_utc(now),
        project=project,
        promotion=summary,
        links=Links(api=api, cli=f"shiplane promotion show {summary.id}"),
    )


# --- webhook --------------------------------------------------------------------------------


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): compact JSON, keys sorted, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def webhook_headers(
    *, event: str, delivery_id: str, timestamp: int, signature: str
) -> dict[str, str]:
    return {
        HEADER_EVENT: event,
        HEADER_DELIVERY: delivery_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature,
    }


# --- slack ----------------------------------------------------------------------------------

_EMOJI = {
    "promotion.waiting_for_approval": ":hourglass_flowing_sand:",
    "promotion.succeeded": ":white_check_mark:",
    "promotion.failed": ":x:",
    "promotion.rolled_back": ":rewind:",
    "promotion.frozen": ":snowflake:",
    "promotion.strategy_step": ":bar_chart:",
}


def _subject(promotion: Mapping[str, Any]) -> str:
    """`checkout 1.4.2 (rel-3f9c2a)`, as in the promotion's commit message."""
    apps = ", ".join(str(a) for a in promotion.get("apps") or [])
    label = promotion.get("version") or promotion.get("alias")
    release = str(promotion.get("release") or "")[:SHORT_RELEASE]
    return " ".join(part for part in (apps, label, f"({release})") if part)


def summary_text(payload: Mapping[str, Any]) -> str:
    """One readable line about the event, e.g. `checkout 1.4.2 (rel-3f9c2a) is waiting
    for approval in prod — 1 of 2 approvals`."""
    promotion: Mapping[str, Any] = payload.get("promotion") or {}
    subject = _subject(promotion)
    env = promotion.get("environment", "?")
    reason = promotion.get("reason")
    event = payload.get("event")
    if event == "promotion.waiting_for_approval":
        text = f"{subject} is waiting for approval in {env}"
        approvals = promotion.get("approvals")
        if isinstance(approvals, Mapping):
            text += f" — {approvals.get('received', 0)} of {approvals.get('required', 0)} approvals"
        return text
    if event == "promotion.succeeded":
        text = f"{subject} was promoted to {env}"
    elif event == "promotion.failed":
        text = f"{subject} failed in {env}"
    elif event == "promotion.rolled_back":
        text = f"{subject} was rolled back in {env}"
    elif event == "promotion.frozen":
        text = f"{subject} is blocked by a freeze of {env}"
    elif event == "promotion.strategy_step":
        text = f"{subject} took a canary step in {env}"
    else:
        text = f"{subject}: {event} in {env}"
    return f"{text}: {reason}" if reason else text


def _escape(text: str) -> str:
    # Slack mrkdwn control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook body: `text` (the notification line and fallback) and
    `blocks` (the same line plus context)."""
    text = summary_text(payload)
    promotion: Mapping[str, Any] = payload.get("promotion") or {}
    emoji = _EMOJI.get(str(payload.get("event")), ":information_source:")
    context = [
        f"project *{_escape(str(payload.get('project', '')))}*",
        f"promotion `{_escape(str(promotion.get('id', '')))}`",
    ]
    if promotion.get("requested_by"):
        context.append(f"requested by {_escape(str(promotion['requested_by']))}")
    if promotion.get("kind") and promotion.get("kind") != "normal":
        context.append(f"kind {_escape(str(promotion['kind']))}")
    if promotion.get("trigger") == "auto":
        context.append("automatic")
    links: Mapping[str, Any] = payload.get("links") or {}
    if links.get("api"):
        context.append(f"<{links['api']}|details>")
    elif links.get("cli"):
        context.append(f"`{_escape(str(links['cli']))}`")
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} {_escape(text)}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]},
        ],
    }
