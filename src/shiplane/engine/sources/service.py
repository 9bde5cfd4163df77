"""The source service: per-source polling with jitter, coalesced refreshes, recorded
state, and release assembly through the promotion controller (so auto-promotion takes
over as for any new release).

Failures stay inside a source: a registry that is down or refuses credentials, a
timeout, even a bug in a plugin make that source unhealthy with the reason and never
stop the loop, the server, or the other sources; and a failed look never assembles.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta

import structlog

from shiplane.config.models import GitSourceConfig, ProjectConfig
from shiplane.domain.assembly import apps_to_assemble, assemble_contents
from shiplane.domain.clock import Clock, SystemClock, ensure_utc
from shiplane.domain.errors import NotFoundError, ShiplaneError
from shiplane.domain.registry import Registry
from shiplane.domain.releases import ReleaseValidationError
from shiplane.engine.leases import LeaseKeeper
from shiplane.engine.project_source import ProjectSource
from shiplane.engine.sources.inputs import app_inputs, feeds
from shiplane.engine.sources.matching import git_sources, image_and_chart_sources
from shiplane.engine.sources_port import HOOK_REASON
from shiplane.sources.plugins import SOURCES, Discover, Found, RegistryClients
from shiplane.store import releases as release_store
from shiplane.store import sources as store
from shiplane.store.db import Database
from shiplane.store.records import ReleaseRecord, SourceStateRecord

log = structlog.get_logger(__name__)

POLL_LEASE = "sources/poll"  # the one replica that polls (PostgreSQL, several replicas)
JITTER = 0.1  # polls are spread by up to ±10% of the interval
LOOK_TIMEOUT = 120.0  # one look at a source, registry back-off included
CREATOR_PREFIX = "source/"
# A digest reused without a HEAD (docs/sources.md, "What a scan requests") is asked of
# the registry again at least this often, so a tag pushed again is found within it.
DIGEST_RECHECK = timedelta(hours=1)

CreateRelease = Callable[..., Awaitable[tuple[ReleaseRecord, bool]]]
# (commit, path, repositories to fetch it from) -> the last commit that changed path.
LastChange = Callable[[str, str, Sequence[str]], Awaitable[str]]


class UnknownSourceError(NotFoundError):
    """No source of that name in shiplane.yaml."""


class SourceService:
    """Implements `engine.sources_port.SourceRefresher`."""

    def __init__(
        self,
        db: Database,
        project: ProjectConfig | ProjectSource,
        create_release: CreateRelease | None,
        *,
        clock: Clock | None = None,
        clients: RegistryClients | None = None,
        rng: random.Random | None = None,
        tick: float = 1.0,
        plugins: Registry[Discover] = SOURCES,
        leases: LeaseKeeper | None = None,
        last_change: LastChange | None = None,
    ) -> None:
        self.db = db
        # A git source's commit is recorded as the last change of each app's manifests
        # (the GitOps workspace answers); without it, as found.
        self.last_change = last_change
        self.source = ProjectSource.of(project)
        self.create_release = create_release
        self.clock = clock or SystemClock()
        self.clients = clients or RegistryClients()
        self.rng = rng or random.Random()
        self.tick = tick
        self.plugins = plugins  # tests of the service's own logic pass stand-ins
        # Several replicas: only the holder of POLL_LEASE polls (refreshes run anywhere).
        self.leases = leases
        self._lease_tried = -1e9
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: dict[str, str] = {}  # name -> reason of a refresh asked during a run
        self._next_poll: dict[str, datetime] = {}
        # name -> (the source's config, the artifact, when the registry last confirmed
        # its digest): what `_last_trusted` may hand a plugin to skip the HEAD.
        self._verified: dict[str, tuple[object, str, datetime]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.runs = 0  # looks made (tests assert coalescing with it)
        self.ticks = 0  # rounds of the poll loop (tests wait for rounds, not for time)

    @property
    def project(self) -> ProjectConfig:
        return self.source.project

    # --- SourceRefresher ------------------------------------------------------------

    def matching(self, host: str, repository: str) -> list[str]:
        return image_and_chart_sources(self.project.sources, host, repository)

    def matching_git(self, url: str, ref: str | None) -> list[str]:
        return git_sources(self.project.sources, url, ref)

    async def refresh(self, names: Sequence[str], *, reason: str) -> None:
        for name in dict.fromkeys(names):
            if name not in self.project.sources:
                continue
            task = self._running.get(name)
            if task is not None and not task.done():
                self._again[name] = reason  # merged into one more run after this one
                continue
            self._running[name] = asyncio.create_task(
                self._run(name, reason), name=f"source-{name}"
            )

    # --- reading ---------------------------------------------------------------------

    def require(self, name: str) -> None:
        if name not in self.project.sources:
            known = ", ".join(sorted(self.project.sources)) or "none"
            raise UnknownSourceError(f"source {name!r} is not defined (defined: {known})")

    def states(self) -> dict[str, SourceStateRecord]:
        with self.db.session(readonly=True) as s:
            return store.list_states(s, self.project.sources)

    async def refresh_and_wait(self, name: str, *, reason: str) -> SourceStateRecord | None:
        """Refresh `name` (merged with a run under way) and wait for it to finish."""
        self.require(name)
        await self.refresh([name], reason=reason)
        while (task := self._running.get(name)) is not None and not task.done():
            await asyncio.shield(task)
        return (await asyncio.to_thread(self.states)).get(name)

    def next_poll(self, name: str) -> datetime | None:
        return self._next_poll.get(name)

    # --- the loop --------------------------------------------------------------------

    def start(self) -> None:
        self._load_schedule()
        self._loop = asyncio.create_task(self._poll_loop(), name="sources")

    def _load_schedule(self) -> None:
        """The next poll times recorded (by this replica before a restart, or by the
        replica that polled before this one took over)."""
        with self.db.session(readonly=True) as s:
            for name, state in store.list_states(s).items():
                if state.next_poll_at is not None:
                    self._next_poll[name] = ensure_utc(state.next_poll_at)

    async def _may_poll(self) -> bool:
        """This replica polls: it is alone (SQLite), or it holds POLL_LEASE (renewed by
        the lease heartbeat; tried again every lease interval while another holds it)."""
        if self.leases is None or self.leases.single_process:
            return True
        held = self.leases.held.get(POLL_LEASE)
        if held is not None and self.leases.valid(held):
            return True
        moment = time.monotonic()
        if moment - self._lease_tried < self.leases.interval:
            return False
        self._lease_tried = moment
        if await self.leases.try_acquire(POLL_LEASE) is None:
            return False
        await asyncio.to_thread(self._load_schedule)  # where the previous poller left off
        log.info("sources.polling", replica=self.leases.replica_id)
        return True

    async def stop(self) -> None:
        tasks = [t for t in [self._loop, *self._running.values()] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop = None
        self._running.clear()

    async def _poll_loop(self) -> None:
        while True:
            self.ticks += 1
            self._wake.clear()  # before the round: a wake during it starts the next one
            try:
                await self._poll_due()
            except Exception:  # the database hiccuped: log, and try again next round
                log.exception("sources.poll_round_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.tick)

    async def _poll_due(self) -> None:
        # No sources: no lease either (a project without sources changes nothing).
        if not self.project.sources or not await self._may_poll():
            return
        now = self.clock.now()
        due = [
            name
            for name in self.project.sources
            if self._next_poll.get(name, now) <= now and name not in self._running
        ]
        if due:
            await self.refresh(due, reason="poll")

    async def _run(self, name: str, reason: str) -> None:
        try:
            while True:
                await self._look(name, reason)
                if name not in self._again:
                    return
                reason = self._again.pop(name)
        except asyncio.CancelledError:
            raise
        except Exception:  # never let one source's bug end the service
            log.exception("sources.run_failed", source=name)
        finally:
            self._running.pop(name, None)

    async def _look(self, name: str, reason: str) -> None:
        project = self.project
        config = project.sources.get(name)
        if config is None:
            return
        self.runs += 1
        now = self.clock.now()
        spread = 1 + self.rng.uniform(-JITTER, JITTER)
        next_poll = now + timedelta(seconds=config.interval * spread)
        self._next_poll[name] = next_poll
        discover = self.plugins.get(config.kind).plugin
        found: Found | None = None
        problem: str | None = None
        last = await self._last_trusted(name, config.spec, reason, now)
        try:
            found = await asyncio.wait_for(
                discover(config.spec, self.clients, last=last), LOOK_TIMEOUT
            )
            if found.verified:
                self._verified[name] = (config.spec, found.artifact, now)
        except ShiplaneError as exc:
            problem = str(exc)
        except TimeoutError:
            problem = f"no answer within {LOOK_TIMEOUT:.0f}s"
        except Exception as exc:  # a plugin bug: the source shows it, the server lives
            log.exception("sources.look_failed", source=name)
            problem = f"internal error: {type(exc).__name__}: {exc}"
        state, changed = await asyncio.to_thread(
            self.db.transact,
            lambda s: store.save_state(
                s,
                name,
                kind=config.kind,
                now=now,
                next_poll_at=next_poll,
                healthy=found is not None,
                reason=problem,
                version=found.version if found else None,
                digest=found.digest if found else None,
                artifact=found.artifact if found else None,
            ),
        )
        log.info(
            "sources.looked",
            source=name,
            reason=reason,
            healthy=state.healthy,
            version=state.version,
            changed=changed,
            problem=problem,
        )
        if changed:  # a new image, chart version or commit: a release for its apps
            await self._assemble(name)

    async def _last_trusted(
        self, name: str, spec: object, reason: str, now: datetime
    ) -> Found | None:
        """What the source recorded, when its digest may be reused without a HEAD: this
        process asked the registry for it less than DIGEST_RECHECK ago, with the same
        config, and the record still holds it (another replica may have moved on). A
        look asked by a webhook always asks the registry: a push notification may be a
        tag pushed again."""
        kept = self._verified.get(name)
        if kept is None or reason.startswith(HOOK_REASON):
            return None
        kept_spec, artifact, verified_at = kept
        if kept_spec != spec or now - verified_at >= DIGEST_RECHECK:
            return None

        def read() -> SourceStateRecord | None:
            with self.db.session(readonly=True) as s:
                return store.get_state(s, name)

        state = await asyncio.to_thread(read)
        if state is None or state.artifact != artifact or state.version is None:
            return None
        return Found(state.version, state.digest, artifact)

    # --- assembly --------------------------------------------------------------------

    async def _assemble(self, changed: str) -> None:
        project = self.project
        apps = apps_to_assemble(changed, feeds(project), project.releases.assemble)
        states = await asyncio.to_thread(self.states)
        previous = await asyncio.to_thread(self._newest_releases, apps)
        commits = await self._config_commits(project, states, apps)
        inputs = app_inputs(project, states, apps, previous, commits)
        result = assemble_contents(apps, inputs, project.releases.criterion)
        if result.reason is not None or self.create_release is None:
            reason = result.reason or "not assembled: no release path (the engine is not running)"
            log.info("sources.not_assembled", source=changed, reason=reason)
            await asyncio.to_thread(
                self.db.transact, lambda s: store.note_assembly(s, changed, reason)
            )
            return
        # Charts and commits only when there are any: the release path of an images-only
        # project is called as it always was.
        contents: dict[str, dict[str, str]] = {}
        if result.charts:
            contents["charts"] = result.charts
        if result.commits:
            contents["commits"] = result.commits
        try:
            record, created = await self.create_release(
                artifacts=result.artifacts,
                alias=None,
                labels={"source": changed},
                creator=CREATOR_PREFIX + changed,
                **contents,
            )
        except (ShiplaneError, ReleaseValidationError) as exc:  # e.g. an odd chart version
            reason = f"not assembled: {exc}"
            await asyncio.to_thread(
                self.db.transact, lambda s: store.note_assembly(s, changed, reason)
            )
            return
        log.info("sources.assembled", source=changed, release=record.id, created=created)
        await asyncio.to_thread(
            self.db.transact, lambda s: store.note_assembly(s, changed, None, release=record.id)
        )

    async def _config_commits(
        self, project: ProjectConfig, states: Mapping[str, SourceStateRecord], apps: Sequence[str]
    ) -> dict[tuple[str, str], str]:
        """(git source, app) -> the last commit that changed the app's manifests at the
        commit the source found, or why not: so Shiplane's own pin commits, and changes
        to other apps, assemble no new release for an app."""
        result: dict[tuple[str, str], str] = {}
        if self.last_change is None:
            return result
        for name, config in project.sources.items():
            spec, state = config.spec, states.get(name)
            if not isinstance(spec, GitSourceConfig) or state is None or not state.digest:
                continue
            for app in config.apps:
                if app not in apps or app not in project.apps:
                    continue
                path = project.apps[app].manifests.path.rstrip("/")
                try:
                    result[(name, app)] = await self.last_change(state.digest, path, [spec.url])
                except Exception as exc:  # a git failure is a reason, never a crash
                    result[(name, app)] = f"cannot read {path} at {state.digest[:12]}: {exc}"
        return result

    def _newest_releases(self, apps: Sequence[str]) -> dict[str, ReleaseRecord]:
        """The newest release containing each app (a config-only change keeps its image)."""
        newest: dict[str, ReleaseRecord] = {}
        with self.db.session(readonly=True) as s:
            for app in apps:
                page = release_store.list_releases(s, app=app, limit=1)
                if page.items:
                    newest[app] = page.items[0]
        return newest
