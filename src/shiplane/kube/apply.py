"""Server-side dry-run, ordered server-side apply and immutable-field handling.

See docs/sync-apply.md. Every request is a JSON call through the cluster's lightkube
AsyncClient (apply_rest), addressed by API discovery, so any kind works, custom resources
included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Literal, TypeVar

from lightkube import AsyncClient

from shiplane.kube import ordering
from shiplane.kube.apply_objects import (
    immutable_fields,
    is_immutable_error,
    join_fields,
)
from shiplane.kube.apply_rest import APPLY_PATCH, KubeApiError, request
from shiplane.kube.apply_results import (
    ApplyError,
    ApplyProblem,
    ApplyResult,
    Preview,
    immutable_problem,
    problem_from_error,
)
from shiplane.kube.apply_targets import (
    Target,
    crds_in,
    duplicate_problems,
    resolve_targets,
    scope_problems,
    targets_of,
    unknown_problems,
)
from shiplane.kube.connection import FIELD_MANAGER
from shiplane.kube.discovery import Discovery, info_from_crd
from shiplane.kube.polling import poll
from shiplane.kube.prune import PruneResult, prune
from shiplane.kube.refs import ObjRef
from shiplane.kube.watch_objects import resource_version_of

ImmutablePolicy = Literal["fail", "recreate"]
T = TypeVar("T")
A = TypeVar("A")

CRD_API = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


class Applier:
    """Dry-run, apply and prune of rendered objects on one cluster."""

    def __init__(
        self,
        client: AsyncClient,
        discovery: Discovery,
        *,
        field_validation: str = "Strict",
        concurrency: int = 8,
        crd_timeout: float = 60.0,
        delete_timeout: float = 120.0,
    ) -> None:
        self.client = client
        self.discovery = discovery
        self.field_validation = field_validation
        self.concurrency = concurrency
        self.crd_timeout = crd_timeout
        self.delete_timeout = delete_timeout

    # ---- requests ------------------------------------------------------------------

    def _apply_params(self, *, dry_run: bool) -> dict[str, str]:
        params = {"fieldManager": FIELD_MANAGER, "force": "true"}
        if self.field_validation:
            params["fieldValidation"] = self.field_validation
        if dry_run:
            params["dryRun"] = "All"
        return params

    async def _patch(self, target: Target, *, dry_run: bool) -> dict[str, Any]:
        result = await request(
            self.client,
            "PATCH",
            target.path,
            params=self._apply_params(dry_run=dry_run),
            body=target.obj,
            content_type=APPLY_PATCH,
        )
        return result if isinstance(result, dict) else {}

    async def _get(self, path: str) -> dict[str, Any] | None:
        try:
            result = await request(self.client, "GET", path)
        except KubeApiError as err:
            if err.not_found:
                return None
            raise
        return result if isinstance(result, dict) else None

    async def _map(self, fn: Callable[[A], Awaitable[T]], items: Sequence[A]) -> list[T]:
        """fn over items, at most `concurrency` at a time, results in input order."""
        sem = asyncio.Semaphore(self.concurrency)

        async def run(item: A) -> T:
            async with sem:
                return await fn(item)

        return list(await asyncio.gather(*(run(i) for i in items)))

    # ---- preview (diff) ------------------------------------------------------------

    async def preview(
        self, objects: Sequence[dict[str, Any]], *, environment: str, app: str
    ) -> list[Preview]:
        """For each object: the live object and what it would be after applying (server-side
        dry-run, so defaulting and admission are the cluster's own). Nothing is written."""
        targets, problems = targets_of(objects, owner=(environment, app))
        unknown = {t.ref for t in await resolve_targets(self.discovery, targets)}
        bad = {p.ref: p.message for p in problems}

        async def one(t: Target) -> Preview:
            if t.ref in unknown:
                return Preview(t.ref, None, None, f"{t.ref.kind} is not served by the cluster")
            if t.ref in bad:
                return Preview(t.ref, None, None, bad[t.ref])
            live = await self._get(t.path)
            try:
                predicted = await self._patch(t, dry_run=True)
            except KubeApiError as err:
                return Preview(t.ref, live, None, str(err))
            return Preview(t.ref, live, predicted, None)

        return await self._map(one, targets)

    # ---- dry-run -------------------------------------------------------------------

    async def dry_run(
        self,
        objects: Sequence[dict[str, Any]],
        *,
        immutable_policy: ImmutablePolicy = "fail",
        live_versions: dict[ObjRef, str | None] | None = None,
        owner: tuple[str, str] | None = None,
        predicted: dict[ObjRef, dict[str, Any]] | None = None,
    ) -> list[ApplyProblem]:
        """Server-side apply of every object with dryRun=All: nothing is written.

        Returns every problem found (empty: all objects would be accepted). Objects whose
        CRD or Namespace is in the batch but not yet in the cluster are reported with
        `deferred=True` ("deferred: needs CRD X") instead of failing; with the "recreate"
        policy an immutable-field rejection is deferred too (apply will re-create).

        `live_versions`, when given, is filled with the current resourceVersion of each
        object that passed (None: it does not exist yet), read from the dry-run's answer,
        which carries the live version (a dry-run create has none). Handing it to `apply`
        right after saves apply's GET per object.

        With `owner` (environment, app), the objects carry the ownership markers apply
        adds, so that `predicted`, when given, is filled with what each object that passed
        would be after that apply (the dry-run's answer)."""
        targets, problems = targets_of(objects, owner=owner)
        unknown = await resolve_targets(self.discovery, targets)
        problems += duplicate_problems(targets)
        problems += unknown_problems(unknown, crds_in(targets))
        problems += scope_problems(targets)
        bad = {p.ref for p in problems}
        ready = [t for t in targets if t.info is not None and t.ref not in bad]

        # Namespaces of the batch that do not exist yet: their contents are deferred.
        batch_namespaces = {
            t.ref.name for t in ready if (t.ref.group, t.ref.kind) == ordering.NAMESPACE
        }
        needed = sorted(batch_namespaces & {t.ref.namespace for t in ready if t.ref.namespace})
        exists = await self._map(lambda ns: self._get(f"/api/v1/namespaces/{ns}"), needed)
        absent = {ns for ns, live in zip(needed, exists, strict=True) if live is None}
        checked = []
        for t in ready:
            if t.ref.namespace in absent:
                problems.append(
                    ApplyProblem(
                        t.ref,
                        f"deferred: needs Namespace {t.ref.namespace} "
                        "(in this batch, not yet created)",
                        reason="Deferred",
                        deferred=True,
                    )
                )
            else:
                checked.append(t)

        async def one(t: Target) -> ApplyProblem | None:
            try:
                answer = await self._patch(t, dry_run=True)
            except KubeApiError as err:
                if is_immutable_error(err):
                    if immutable_policy == "recreate":
                        fields = join_fields(immutable_fields(err))
                        return ApplyProblem(
                            t.ref,
                            f"deferred: {fields} is immutable; apply will delete and re-create it",
                            reason="Immutable",
                            field=", ".join(immutable_fields(err)),
                            deferred=True,
                        )
                    return immutable_problem(t.ref, err)
                return problem_from_error(t.ref, err)
            if live_versions is not None:
                live_versions[t.ref] = resource_version_of(answer)
            if predicted is not None:
                predicted[t.ref] = answer
            return None

        found = await self._map(one, checked)
        problems += [p for p in found if p is not None]
        return sorted(problems, key=lambda p: ordering.apply_key(p.ref))

    # ---- apply ---------------------------------------------------------------------

    async def apply(
        self,
        objects: Sequence[dict[str, Any]],
        *,
        environment: str,
        app: str,
        immutable_policy: ImmutablePolicy = "fail",
        live_versions: Mapping[ObjRef, str | None] | None = None,
        unchanged: Collection[ObjRef] = (),
    ) -> ApplyResult:
        """Mark, order and server-side apply `objects`. Raises ApplyError (with the partial
        result) on the first phase that has a failing object; later phases are not sent.

        `live_versions` (optional, e.g. from a watch cache) gives objects' current
        resourceVersions (None: absent), which saves the GET that otherwise tells changed
        from unchanged; a stale entry only mislabels changed/unchanged.

        `unchanged` names objects the caller knows an apply would not change (a dry-run
        answered exactly the live object): they count as applied and unchanged, and no
        request is sent for them."""
        known = dict(live_versions or {})
        skip = frozenset(unchanged)
        if immutable_policy not in ("fail", "recreate"):
            raise ValueError(
                f"immutable_policy must be 'fail' or 'recreate', not {immutable_policy!r}"
            )
        targets, problems = targets_of(objects, owner=(environment, app))
        unknown = await resolve_targets(self.discovery, targets)
        crds = crds_in(targets)
        problems += duplicate_problems(targets)
        problems += [p for p in unknown_problems(unknown, crds) if not p.deferred]
        problems += scope_problems(targets)
        if problems:
            raise ApplyError(problems)  # nothing written yet

        result = ApplyResult()
        stage0 = sorted(
            (t for t in targets if ordering.is_stage0(t.ref)),
            key=lambda t: ordering.apply_key(t.ref),
        )
        for run in ordering.runs(stage0, key=lambda t: ordering.phase_key(t.ref)):
            await self._apply_run(run, result, immutable_policy, known, skip)
        crd_targets = [t for t in stage0 if (t.ref.group, t.ref.kind) == ordering.CRD]
        if crd_targets:
            await self._await_crds(crd_targets, result)
        if unknown:
            still = await resolve_targets(self.discovery, unknown)
            if still:
                raise ApplyError(unknown_problems(still, {}), result)
            scope = scope_problems(unknown)
            if scope:
                raise ApplyError(scope, result)

        rest = sorted(
            (t for t in targets if not ordering.is_stage0(t.ref)),
            key=lambda t: ordering.apply_key(t.ref),
        )
        for run in ordering.runs(rest, key=lambda t: ordering.phase_key(t.ref)):
            await self._apply_run(run, result, immutable_policy, known, skip)
        return result

    async def _apply_run(
        self,
        run: Sequence[Target],
        result: ApplyResult,
        policy: ImmutablePolicy,
        known: Mapping[ObjRef, str | None],
        skip: frozenset[ObjRef],
    ) -> None:
        outcomes = await self._map(
            lambda t: self._apply_one(t, policy, known, skip, result.versions), run
        )
        problems = []
        for target, outcome in zip(run, outcomes, strict=True):
            if isinstance(outcome, ApplyProblem):
                problems.append(outcome)
                continue
            result.applied.append(target.ref)
            if outcome in ("unchanged", "skipped"):
                result.unchanged.append(target.ref)
                if outcome == "skipped":
                    result.skipped.append(target.ref)
            else:
                result.changed.append(target.ref)
                if outcome == "created":
                    result.created.append(target.ref)
                elif outcome == "recreated":
                    result.recreated.append(target.ref)
        if problems:
            raise ApplyError(problems, result)

    async def _apply_one(
        self,
        target: Target,
        policy: ImmutablePolicy,
        known: Mapping[ObjRef, str | None],
        skip: frozenset[ObjRef],
        versions: dict[ObjRef, str],
    ) -> str | ApplyProblem:
        """ "created" | "changed" | "unchanged" | "recreated" | "skipped" (not sent), or
        the problem. Notes the object's resourceVersion after an apply in `versions`."""
        if target.ref in skip:
            return "skipped"
        try:
            if target.ref in known:
                before_rv = known[target.ref]
            else:
                live = await self._get(target.path)
                before_rv = None if live is None else resource_version_of(live)
            try:
                after = await self._patch(target, dry_run=False)
            except KubeApiError as err:
                if not is_immutable_error(err):
                    return problem_from_error(target.ref, err)
                current = await self._get(target.path) if policy == "recreate" else None
                if current is None:
                    return immutable_problem(target.ref, err)
                return await self._recreate(target, current)
        except KubeApiError as err:
            return problem_from_error(target.ref, err)
        after_rv = resource_version_of(after)
        if after_rv is not None:
            versions[target.ref] = after_rv
        if before_rv is None:
            return "created"
        return "unchanged" if before_rv == after_rv else "changed"

    async def _recreate(self, target: Target, live: dict[str, Any]) -> str | ApplyProblem:
        uid = (live.get("metadata") or {}).get("uid")
        body = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Foreground",
            "preconditions": {"uid": uid},
        }
        try:
            await request(self.client, "DELETE", target.path, body=body)
        except KubeApiError as err:
            if not err.not_found:
                return problem_from_error(target.ref, err, "re-create: delete failed: ")

        async def gone() -> bool | None:
            current = await self._get(target.path)
            if current is None or (current.get("metadata") or {}).get("uid") != uid:
                return True
            return None

        if await poll(gone, seconds=self.delete_timeout) is None:
            current = await self._get(target.path) or {}
            finalizers = (current.get("metadata") or {}).get("finalizers") or []
            return ApplyProblem(
                target.ref,
                f"re-create: still being deleted after {self.delete_timeout:.0f}s"
                + (f" (finalizers: {', '.join(finalizers)})" if finalizers else ""),
                reason="DeleteTimeout",
            )
        await self._patch(target, dry_run=False)
        return "recreated"

    async def _await_crds(self, crds: Sequence[Target], result: ApplyResult) -> None:
        """Wait (with a deadline) until every CRD is Established, then teach discovery."""

        async def established(t: Target) -> ApplyProblem | None:
            last: dict[str, str] = {}

            async def check() -> dict[str, Any] | None:
                live = await self._get(f"{CRD_API}/{t.ref.name}")
                if live is None:
                    return None
                conditions = {
                    c.get("type"): c for c in (live.get("status") or {}).get("conditions") or []
                }
                names = conditions.get("NamesAccepted") or {}
                if names.get("status") == "False":
                    return {"failed": names.get("message", "names not accepted")}
                est = conditions.get("Established") or {}
                last["message"] = str(est.get("message") or names.get("message") or "")
                return live if est.get("status") == "True" else None

            live = await poll(check, seconds=self.crd_timeout)
            if live is None:
                detail = f": {last['message']}" if last.get("message") else ""
                return ApplyProblem(
                    t.ref,
                    f"not Established after {self.crd_timeout:.0f}s{detail}",
                    reason="NotEstablished",
                )
            if "failed" in live:
                return ApplyProblem(
                    t.ref, f"names not accepted: {live['failed']}", reason="NamesNotAccepted"
                )
            self.discovery.add(info_from_crd(live))
            return None

        found = await asyncio.gather(*(established(t) for t in crds))
        problems = [p for p in found if p is not None]
        if problems:
            raise ApplyError(problems, result)

    # ---- prune ---------------------------------------------------------------------

    async def prune(
        self,
        previous: Sequence[ObjRef],
        current: Sequence[ObjRef],
        *,
        max_fraction: float = 0.5,
        environment: str,
        app: str,
    ) -> PruneResult:
        """See shiplane.kube.prune.prune."""
        return await prune(
            self.client,
            self.discovery,
            previous,
            current,
            max_fraction=max_fraction,
            environment=environment,
            app=app,
            concurrency=self.concurrency,
        )
