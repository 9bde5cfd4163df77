"""Notifications: promotion events into the outbox, and the worker that delivers them.

The engine calls `enqueue_event(session, project, event_type, promotion, now=...)` inside
the transaction that changes the promotion: the delivery exists if and only if the change
committed. `NotificationWorker` runs as its own task and delivers from the outbox at least
once, with exponential backoff and jitter, keeping the order of events per promotion and
channel; a slow or dead receiver never holds up a promotion.

Secrets (webhook secrets, Slack URLs, extra headers) are read from the configuration and
the environment at delivery time: they are never stored and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy.orm import Session

from shiplane import __version__
from shiplane.config import NotificationChannel, ProjectConfig, SecretNotSetError
from shiplane.domain.clock import Clock, SystemClock
from shiplane.domain.webhook_signature import sign
from shiplane.engine.forge_duties import FORGE_KIND, ForgeFactory, project_forge, tell_forge
from shiplane.engine.notify_format import (
    EVENT_TYPES,
    NotificationEvent,
    PromotionSummary,
    build_event,
    encode_body,
    slack_message,
    summary_text,
    webhook_headers,
)
from shiplane.engine.project_source import ProjectSource
from shiplane.store import outbox
from shiplane.store.db import Database
from shiplane.store.outbox import ClaimedDelivery, DeliveryRecord

__all__ = [
    "EVENT_TYPES",
    "NotificationEvent",
    "NotificationWorker",
    "PromotionSummary",
    "RetryPolicy",
    "channels_for",
    "enqueue_event",
    "summary_text",
]

log = structlog.get_logger(__name__)

HttpClientFactory = Callable[[], httpx.AsyncClient]
_ERROR_BODY_CHARS = 200


def channels_for(project: ProjectConfig, event_type: str) -> dict[str, str]:
    """`{channel name: kind}` of the channels subscribed to `event_type`."""
    return {
        name: channel.kind
        for name, channel in project.notifications.items()
        if event_type in channel.events
    }


def enqueue_event(
    s: Session,
    project: ProjectConfig,
    event_type: str,
    promotion_payload: PromotionSummary | Mapping[str, Any],
    now: datetime | None = None,
    *,
    base_url: str | None = None,
) -> list[DeliveryRecord]:
    """Queue `event_type` about a promotion for every channel subscribed to it, in the
    caller's transaction. A no-op (returns []) when no channel wants the event.

    `promotion_payload` is a PromotionSummary or a mapping with its fields (id, release,
    environment, apps, state, and optionally alias, version, reason, requested_by, kind,
    approvals). Raises ValueError for an unknown event type or a malformed payload, so a
    programming error surfaces in tests rather than as a silent missing notification.
    """
    moment = now or datetime.now(UTC)
    event = build_event(
        project.project, event_type, promotion_payload, now=moment, base_url=base_url
    )
    channels = channels_for(project, event_type)
    if not channels:
        return []
    return outbox.enqueue(
        s,
        channels=channels,
        event=event_type,
        promotion_id=event.promotion.id,
        payload=event.to_payload(),
        now=moment,
    )


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits min(cap, base * 2^(n-1)), of
    which the last `jitter` fraction is random. The defaults make 24 attempts over
    roughly a day before a delivery is marked failed."""

    max_attempts: int = 24
    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=2)
    jitter: float = 0.5
    lease_margin: timedelta = timedelta(seconds=30)
    """A claim lasts the channel timeout plus this; then the row is due again."""

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        nominal = min(
            self.cap.total_seconds(), self.base.total_seconds() * 2 ** max(0, attempts - 1)
        )
        seconds = nominal * (1 - self.jitter) + rng.random() * nominal * self.jitter
        return timedelta(seconds=seconds)


@dataclass(frozen=True)
class _Outcome:
    ok: bool
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False


def _default_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False, headers={"User-Agent": f"shiplane/{__version__}"}
    )


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class NotificationWorker:
    """Delivers due notifications from the outbox; safe to run on several replicas.

    `run()` loops until `stop()`; `deliver_due()` makes one pass (claim, send, record)
    and is what tests drive with a manual clock. `wake()` makes a sleeping `run()` look
    at once (call it after committing a transaction that enqueued events).
    """

    def __init__(
        self,
        db: Database,
        project_config: ProjectConfig | ProjectSource,
        *,
        clock: Clock | None = None,
        http_client_factory: HttpClientFactory | None = None,
        policy: RetryPolicy | None = None,
        environ: Mapping[str, str] | None = None,
        batch: int = 20,
        poll_interval: float = 5.0,
        rng: random.Random | None = None,
        forge: ForgeFactory | None = None,
    ) -> None:
        self.db = db
        # Pull-request mode's duties (channel `@forge`, engine/forge_duties.py) go to the
        # project's forge through its driver; a test may give another.
        self._forge = forge or project_forge
        self.source = ProjectSource.of(project_config)
        self.clock: Clock = clock or SystemClock()
        self.policy = policy or RetryPolicy()
        self._http_client_factory = http_client_factory or _default_client
        self._environ = environ
        self.batch = batch
        self.poll_interval = poll_interval
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def project(self) -> ProjectConfig:
        """The project in force (channels follow shiplane.yaml)."""
        return self.source.project

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Run in a background task of the current event loop (what `stop` awaits)."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.create_task(self.run(), name="notification worker")
        return self._task

    async def run(self) -> None:
        self._stopping = False
        log.info("notification worker started", channels=len(self.project.notifications))
        while not self._stopping:
            self._wake.clear()  # before the pass: a wake during it starts the next one
            try:
                attempted = await self.deliver_due()
            except Exception as exc:  # a database hiccup must not end the worker
                log.warning("notification pass failed", error=f"{type(exc).__name__}: {exc}")
                attempted = 0
            if attempted or self._stopping:
                continue
            try:
                delay = await asyncio.to_thread(self._idle_delay)
            except Exception:
                delay = self.poll_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
        log.info("notification worker stopped")

    async def stop(self, *, grace: float = 15.0) -> None:
        """Finish the current pass (up to `grace` seconds), then end `run()`. A delivery
        cut short is sent again by a later pass once its claim expires."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        self._wake.set()

    def _idle_delay(self) -> float:
        with self.db.session(readonly=True) as s:
            due = outbox.next_due_at(s)
        if due is None:
            return self.poll_interval
        wait = (due - self.clock.now()).total_seconds()
        return min(self.poll_interval, max(0.01, wait))

    # --- one pass ----------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Claim what is due now, send it, record the results; returns the number of
        attempts made (0 when nothing was due)."""
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return 0
        async with self._http_client_factory() as client:
            await asyncio.gather(*(self._deliver(client, d) for d in claimed))
        return len(claimed)

    def _lease(self) -> timedelta:
        timeouts = [c.timeout for c in self.project.notifications.values()] or [10]
        if self.project.forge is not None:  # a duty asks the forge, then tells it
            timeouts.append(2 * self.project.forge.access.timeout)
        return timedelta(seconds=max(timeouts)) + self.policy.lease_margin

    def _claim(self) -> list[ClaimedDelivery]:
        with self.db.session() as s:
            return outbox.claim_due(s, now=self.clock.now(), lease=self._lease(), limit=self.batch)

    async def _deliver(self, client: httpx.AsyncClient, delivery: ClaimedDelivery) -> None:
        channel = self.project.notifications.get(delivery.channel)
        secrets: list[str] = []
        if delivery.channel_kind == FORGE_KIND:
            outcome = await self._tell_forge(delivery)
        elif channel is None:
            outcome = _Outcome(
                ok=False,
                error=f"channel {delivery.channel!r} is no longer configured",
                permanent=True,
            )
        else:
            try:
                outcome = await self._send(client, channel, delivery, secrets)
            except SecretNotSetError as exc:
                outcome = _Outcome(ok=False, error=str(exc))
            except Exception as exc:  # never let one delivery break the pass
                outcome = _Outcome(ok=False, error=f"{type(exc).__name__}: {exc}")
        await asyncio.to_thread(self._record, delivery, outcome, secrets)

    async def _send(
        self,
        client: httpx.AsyncClient,
        channel: NotificationChannel,
        delivery: ClaimedDelivery,
        secrets: list[str],
    ) -> _Outcome:
        headers = {"Content-Type": "application/json"}
        if channel.webhook is not None:
            spec = channel.webhook
            url = spec.url
            secret = spec.secret_value(self._environ)
            secrets += [secret, url, *spec.headers.values()]
            body = encode_body(delivery.payload)
            # Real time of sending, whatever the scheduling clock says: receivers compare
            # it with their own clock to refuse replays.
            timestamp = int(time.time())
            headers.update(spec.headers)
            headers.update(
                webhook_headers(
                    event=delivery.event,
                    delivery_id=delivery.id,
                    timestamp=timestamp,
                    signature=sign(secret, timestamp, body),
                )
            )
        else:
            assert channel.slack is not None
            url = channel.slack.url_value(self._environ)
            secrets.append(url)
            body = encode_body(slack_message(delivery.payload))
        try:
            response = await client.post(
                url, content=body, headers=headers, timeout=channel.timeout
            )
        except httpx.TimeoutException as exc:
            return _Outcome(
                ok=False,
                error=f"timed out after {channel.timeout}s ({type(exc).__name__}); "
                "the receiver may have got it, so it may arrive twice",
            )
        except httpx.TransportError as exc:
            return _Outcome(ok=False, error=f"{type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return _Outcome(ok=True)
        snippet = response.text[:_ERROR_BODY_CHARS].strip().replace("\n", " ")
        return _Outcome(
            ok=False,
            error=f"HTTP {response.status_code}" + (f": {snippet}" if snippet else ""),
            retry_after=_retry_after(response),
        )

    async def _tell_forge(self, delivery: ClaimedDelivery) -> _Outcome:
        done = await tell_forge(self.project, self._forge, delivery.event, delivery.payload)
        if done.ok:
            log.info("forge.duty_done", promotion=delivery.promotion_id, done=done.text)
        return _Outcome(ok=done.ok, error=None if done.ok else done.text, permanent=done.permanent)

    def _record(self, delivery: ClaimedDelivery, outcome: _Outcome, secrets: Sequence[str]) -> None:
        now = self.clock.now()
        fields = {
            "delivery": delivery.id,
            "channel": delivery.channel,
            "notification_event": delivery.event,
            "promotion": delivery.promotion_id,
            "sequence": delivery.sequence,
            "attempt": delivery.attempts,
        }
        with self.db.session() as s:
            if outcome.ok:
                current = outbox.record_success(s, delivery.id, delivery.claim, now=now)
                retry_at = None
                error = None
            else:
                error = _redact(outcome.error or "failed", secrets)
                retry_at = self._retry_at(delivery.attempts, outcome, now)
                current = outbox.record_failure(
                    s, delivery.id, delivery.claim, error=error, retry_at=retry_at
                )
        if not current:
            log.warning("notification claim expired before its result was recorded", **fields)
        elif outcome.ok:
            log.info("notification delivered", **fields)
        elif retry_at is None:
            log.warning("notification failed for good", error=error, **fields)
        else:
            log.info(
                "notification attempt failed", error=error, retry_at=retry_at.isoformat(), **fields
            )

    def _retry_at(self, attempts: int, outcome: _Outcome, now: datetime) -> datetime | None:
        if outcome.permanent or attempts >= self.policy.max_attempts:
            return None
        delay = self.policy.delay(attempts, self._rng)
        if outcome.retry_after is not None:
            cap = self.policy.cap.total_seconds()
            delay = max(delay, timedelta(seconds=min(outcome.retry_after, cap)))
        return now + delay
