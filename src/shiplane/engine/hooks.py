"""Webhook intake: authenticate, parse, match, remember, audit, then refresh sources.

`HookIntake.accept` is the whole decision for one delivery (the API reads the body with
its size cap first). A receiver only refreshes the sources the source service says watch
the place a delivery names, intersected with the receiver's allow-list; the sources then
ask their own configured registry or remote, so nothing in a payload is fetched.
Every delivery leaves an audit event: `hook.received` (receiver, type, event, what
changed, which sources matched) or `hook.refused` (the reason). Refused deliveries
change nothing else.

Replays: an accepted delivery is remembered (store/hook_deliveries.py) under its
sender's delivery id and its content fingerprint for the receiver's `replayWindow`, in
the database every replica shares, in the same transaction as its audit event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from shiplane.config.models import ProjectConfig, ReceiverConfig, SecretNotSetError
from shiplane.engine.git_push import PushPlan, PushTarget
from shiplane.engine.pull_request_hooks import PullRequestFollower
from shiplane.engine.sources_port import HOOK_REASON, SourceRefresher
from shiplane.sources.receivers import RECEIVERS, Delivery, DeliveryRefused, Parsed
from shiplane.store import audit
from shiplane.store.db import Database
from shiplane.store.hook_deliveries import delivery_key, remember

log = structlog.get_logger(__name__)

RECEIVED = "hook.received"
REFUSED = "hook.refused"
_NAME_LIMIT = 63
_TEXT_LIMIT = 300
_LIST_LIMIT = 20


def _cut(value: str, limit: int = _TEXT_LIMIT) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."


@dataclass(frozen=True)
class HookOutcome:
    """What an accepted delivery did: the sources it refreshes (maybe none)."""

    receiver: str
    type: str
    event: str
    delivery: str | None
    changes: list[str]
    matched: list[str]
    ignored: str | None = None
    gitops: PushPlan | None = None
    """The sync a push to the GitOps branch triggers (forge receivers only)."""
    woke: list[str] = field(default_factory=list)
    """Promotions waiting for a pull request the delivery names, made due now."""

    @property
    def outcome(self) -> str:
        syncs = self.gitops is not None and self.gitops.syncs
        return "accepted" if self.matched or syncs or self.woke else "ignored"


@dataclass
class HookIntake:
    """The webhook receivers of one server (see the module docstring)."""

    database: Database
    project: Callable[[], ProjectConfig | None]
    sources: Callable[[], SourceRefresher | None]
    # The follower of pushes to the GitOps branch (engine/git_push.py), when the server
    # has a GitOps repository it follows.
    gitops: Callable[[], PushTarget | None] = lambda: None
    # Wakes promotions waiting for a pull request of the GitOps repository
    # (engine/pull_request_hooks.py), when the server follows one.
    pulls: Callable[[], PullRequestFollower | None] = lambda: None
    environ: Mapping[str, str] | None = None
    clock: Callable[[], float] = time.time
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def config(self, name: str) -> ReceiverConfig:
        """The receiver `name`; DeliveryRefused("unknown-receiver") when there is none
        (the message does not list the others: the caller is not authenticated yet)."""
        project = self.project()
        config = project.receivers.get(name) if project is not None else None
        if config is None:
            raise DeliveryRefused("unknown-receiver", f"no receiver named '{_cut(name, 63)}'")
        return config

    def accept(self, name: str, delivery: Delivery) -> HookOutcome:
        """Decide on one delivery; DeliveryRefused (already audited) when it is refused."""
        config: ReceiverConfig | None = None
        try:
            config = self.config(name)
            return self._accept(name, config, delivery)
        except DeliveryRefused as refused:
            self.refuse(name, config.type if config else None, refused)
            raise

    def refuse(self, name: str, receiver_type: str | None, refused: DeliveryRefused) -> None:
        """Audit a refused delivery (bounded, no secrets); nothing else changes."""
        details: dict[str, Any] = {
            "receiver": _cut(name, _NAME_LIMIT),
            "type": receiver_type,
            "reason": refused.reason,
            "detail": _cut(refused.message),
        }
        log.info("webhook delivery refused", receiver=details["receiver"], reason=refused.reason)
        with self.database.session() as s:
            audit.append_event(
                s, actor=_actor(name), action=REFUSED, subject=details["receiver"], details=details
            )

    def _accept(self, name: str, config: ReceiverConfig, delivery: Delivery) -> HookOutcome:
        receiver = RECEIVERS.get(config.type).plugin
        try:
            secret = config.secret_value(self.environ)
        except SecretNotSetError as exc:
            # The server's own set-up is wrong: say so in the log, not to the caller.
            log.error("webhook receiver has no secret", receiver=name, problem=str(exc))
            raise DeliveryRefused(
                "not-configured", f"receiver '{name}' has no secret set on the server"
            ) from None
        receiver.authenticate(delivery, secret, now=self.clock())
        parsed = receiver.parse(delivery, config)
        plan = self._gitops_plan(parsed)
        pulls = self.pulls()
        numbers = [c.number for c in parsed.pulls if pulls is not None and pulls.follows(c.url)]
        refresher = self.sources()
        if refresher is None and plan is None and (pulls is None or not parsed.pulls):
            raise DeliveryRefused(
                "not-configured", "this server runs no artifact sources to refresh"
            )
        watching = _watching(refresher, parsed) if refresher is not None else []
        matched = [n for n in watching if n in config.sources] if config.sources else watching
        delivery_id = receiver.delivery_id(delivery)
        keys = [delivery_key("content", receiver.fingerprint(delivery))]
        if delivery_id:
            keys.append(delivery_key("id", delivery_id))
        outcome = HookOutcome(
            receiver=name,
            type=config.type,
            event=_cut(parsed.event, 100),
            delivery=_cut(delivery_id, 100) if delivery_id else None,
            changes=_changes(parsed),
            matched=matched,
            ignored=_ignored(parsed, matched, plan),
            gitops=plan,
        )
        now = datetime.fromtimestamp(self.clock(), UTC)
        with self.database.session() as s:
            if not remember(s, name, keys, now=now, window=timedelta(seconds=config.replay_window)):
                raise DeliveryRefused(
                    "replayed", "this delivery was already received (same id or same content)"
                )
            if pulls is not None and numbers:
                outcome.woke.extend(pulls.wake(s, numbers))
                if outcome.woke:
                    outcome = replace(outcome, ignored=None)
            audit.append_event(
                s,
                actor=_actor(name),
                action=RECEIVED,
                subject=name,
                details={
                    "receiver": name,
                    "type": config.type,
                    "event": outcome.event,
                    "delivery": outcome.delivery,
                    "changes": outcome.changes,
                    "matched": matched,
                    "not_allowed": [n for n in watching if n not in matched],
                    "ignored": outcome.ignored,
                    "gitops": plan.describe() if plan is not None else None,
                    "woke": outcome.woke,
                },
            )
        return outcome

    def _gitops_plan(self, parsed: Parsed) -> PushPlan | None:
        """What a push to the GitOps branch syncs (None: the delivery names no such push)."""
        follower = self.gitops()
        if follower is None:
            return None
        for commit in parsed.commits:
            if follower.follows(commit.url, commit.ref):
                return follower.plan(commit.after, commit.paths)
        return None

    def refresh_soon(self, outcome: HookOutcome) -> None:
        """Ask for a refresh of the matched sources (and the sync of a GitOps push)
        without waiting for it (the answer goes out now; the source service coalesces a
        flood into one more run per source)."""
        follower = self.gitops()
        if outcome.gitops is not None and follower is not None:
            follower.pushed(outcome.gitops, actor=_actor(outcome.receiver))
        pulls = self.pulls()
        if outcome.woke and pulls is not None:
            pulls.woken()
        refresher = self.sources()
        if not outcome.matched or refresher is None:
            return
        reason = f"{HOOK_REASON} {outcome.receiver} ({outcome.type} {outcome.event})"
        task = asyncio.create_task(self._refresh(refresher, outcome.matched, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self, refresher: SourceRefresher, names: Sequence[str], reason: str) -> None:
        try:
            await refresher.refresh(names, reason=reason)
        except Exception:
            log.exception("source refresh after a webhook failed", sources=list(names))

    async def drain(self) -> None:
        """Wait for the refreshes asked for so far (shutdown, tests)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _ignored(parsed: Parsed, matched: list[str], plan: PushPlan | None) -> str | None:
    """Why a delivery changes nothing, or None when it refreshes or syncs something."""
    if plan is not None:
        if matched or plan.syncs:
            return None
        return "the push to the GitOps branch touched no environment"
    return parsed.ignored or (None if matched else "no configured source watches what changed")


def _actor(name: str) -> str:
    return f"hook:{_cut(name, _NAME_LIMIT)}"


def _watching(refresher: SourceRefresher, parsed: Parsed) -> list[str]:
    """Sources watching what changed, by the source service's own configuration."""
    names: list[str] = []
    for image in parsed.images:
        names.extend(refresher.matching(image.host, image.repository))
    for commit in parsed.commits:
        names.extend(refresher.matching_git(commit.url, commit.ref))
    return sorted(set(names))


def _changes(parsed: Parsed) -> list[str]:
    described = [c.describe() for c in parsed.images] + [c.describe() for c in parsed.commits]
    described += [c.describe() for c in parsed.pulls]
    return [_cut(text) for text in described[:_LIST_LIMIT]]
