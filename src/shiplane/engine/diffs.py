"""Diffs a user reads before promoting: git vs the cluster, and environment vs environment.

`diff ENV APP` renders what git says and asks the cluster (server-side dry-run) what each
object would become, so defaulting and admission are the cluster's own, then shows the
live -> predicted change as a unified YAML diff, secrets masked. `diff --envs A B` renders
both environments and compares everything but the versions: config, replicas, env vars,
resources.

`Diffs` is what the API calls: it reads git, renders through the deployer and asks the
environment's cluster.
"""

from __future__ import annotations

import asyncio
import copy
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shiplane.config.models import ProjectConfig
from shiplane.engine.clusters import ClusterPool
from shiplane.engine.deploy import Deployer, DeployRequestError
from shiplane.engine.deploy.plan import check_environment, release_plans
from shiplane.engine.deploy.render import render_plan
from shiplane.engine.project_source import ProjectSource
from shiplane.gitops.pins import load_pin, pin_path
from shiplane.gitops.workspace import GitWorkspace
from shiplane.kube.apply_results import Preview
from shiplane.kube.diff import normalize, to_yaml, unified_diff
from shiplane.kube.health_wait import get_live
from shiplane.kube.masking import mask
from shiplane.kube.ownership import (
    APP_LABEL,
    ENVIRONMENT_LABEL,
    MANAGED_BY_LABEL,
    OWNER_ANNOTATION,
)
from shiplane.kube.refs import ObjRef
from shiplane.store import deploys
from shiplane.store.db import Database
from shiplane.store.records import ReleaseRecord

PINNED_IMAGE = "<pinned by release>"


@dataclass
class ObjectDiff:
    ref: str
    change: str  # create | update | delete | unchanged | error
    diff: str = ""
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "object": self.ref,
            "change": self.change,
            "diff": self.diff,
            "problem": self.problem,
        }


@dataclass
class AppDiff:
    environment: str
    app: str
    git_commit: str
    objects: list[ObjectDiff] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(o.change != "unchanged" for o in self.objects)

    @property
    def text(self) -> str:
        return "".join(o.diff for o in self.objects)

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "app": self.app,
            "git_commit": self.git_commit,
            "changed": self.changed,
            "objects": [o.to_json() for o in self.objects],
            "diff": self.text,
        }


@dataclass
class EnvDiff:
    a: str
    b: str
    apps: dict[str, list[ObjectDiff]]

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "apps": {app: [o.to_json() for o in objs] for app, objs in self.apps.items()},
            "changed": any(o.diff for objs in self.apps.values() for o in objs),
        }


class Diffs:
    """The diffs the API serves, from git (through the deployer's render) and the cluster."""

    def __init__(
        self,
        db: Database,
        project: ProjectConfig | ProjectSource,
        workspace: GitWorkspace,
        clusters: ClusterPool,
        deployer: Deployer,
    ) -> None:
        self.db = db
        self.source = ProjectSource.of(project)
        self.workspace = workspace
        self.clusters = clusters
        self.deployer = deployer

    @property
    def project(self) -> ProjectConfig:
        return self.source.project

    async def git_vs_live(self, environment: str, app: str) -> AppDiff:
        """What a sync of `app` would change in `environment`, and what it would prune."""
        head = await self.workspace.sync()
        objects = await self.deployer.render(environment, app, head)
        return await self._against_live(environment, app, head, objects)

    async def release_vs_live(self, release: ReleaseRecord, environment: str) -> list[AppDiff]:
        """What promoting `release` into `environment` would change, per app of the
        release: its pins rendered over git's HEAD (as the deploy's render step does before
        its commit), dry-run on the cluster and compared with live. Nothing is committed."""
        project = self.project
        check_environment(project, environment)
        plans = release_plans(project, release, None)
        head = await self.workspace.sync()
        tree = await self.workspace.read_tree(head)
        handle = self.clusters.for_environment(environment)
        env = project.environments[environment]
        result = []
        for plan in plans:
            objects = await render_plan(
                handle, environment, env, plan, tree, self.deployer.contents
            )
            result.append(await self._against_live(environment, plan.app, head, objects))
        return result

    async def between_releases(
        self, a: ReleaseRecord, b: ReleaseRecord, environment: str
    ) -> dict[str, list[ObjectDiff]]:
        """How the manifests of release `b` differ from those of `a` in `environment`,
        per app of either (both rendered over git's HEAD with their own pins; images
        shown, not masked: they are what differs)."""
        project = self.project
        check_environment(project, environment)
        head = await self.workspace.sync()
        tree = await self.workspace.read_tree(head)
        handle = self.clusters.for_environment(environment)
        env = project.environments[environment]
        rendered: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for release in (a, b):
            for plan in release_plans(project, release, None):
                objects = await render_plan(
                    handle, environment, env, plan, tree, self.deployer.contents
                )
                rendered.setdefault(plan.app, {})[release.id] = objects
        names = [app for app in project.app_order() if app in rendered]
        return {
            app: env_object_diffs(
                a.alias or a.id,
                rendered[app].get(a.id, []),
                b.alias or b.id,
                rendered[app].get(b.id, []),
                set(),
            )
            for app in names
        }

    async def _against_live(
        self, environment: str, app: str, head: str, objects: list[dict[str, Any]]
    ) -> AppDiff:
        """`objects` (rendered for `app`) dry-run and compared with live, plus the
        inventory objects they no longer include (a sync would prune them)."""
        handle = self.clusters.for_environment(environment)
        previews = await handle.applier.preview(objects, environment=environment, app=app)
        current = {ObjRef.of(o) for o in objects}
        inventory = await asyncio.to_thread(self._inventory, environment, app)
        stale_refs = [
            r
            for r in inventory
            if r not in current
            and (r.group, r.kind, r.namespace, r.name)
            not in {(c.group, c.kind, c.namespace, c.name) for c in current}
        ]
        stale: list[tuple[ObjRef, dict[str, Any] | None]] = []
        for ref in stale_refs:
            info = await handle.discovery.resource(ref.api_version, ref.kind)
            live = None if info is None else await get_live(handle.client, ref)
            stale.append((ref, live))
        return app_diff(environment, app, head, previews, stale)

    async def between(self, a: str, b: str, apps: Sequence[str] | None = None) -> EnvDiff:
        """How environments `a` and `b` differ besides versions, per app in both."""
        for env in (a, b):
            check_environment(self.project, env)
        head = await self.workspace.sync()
        tree = await self.workspace.read_tree(head)
        names = list(apps) if apps else self.project.app_order()
        result: dict[str, list[ObjectDiff]] = {}
        for app in names:
            have = [env for env in (a, b) if (tree / pin_path(env, app)).parent.is_dir()]
            if len(have) < 2:
                if apps:
                    missing = [e for e in (a, b) if e not in have]
                    raise DeployRequestError(f"{app!r} is not in {', '.join(missing)}")
                continue
            a_objs = await self.deployer.render(a, app, head)
            b_objs = await self.deployer.render(b, app, head)
            repos = set(self.project.apps[app].images)
            for env in (a, b):
                pin_file = tree / pin_path(env, app)
                if pin_file.is_file():
                    repos.update(i.repository for i in load_pin(pin_file.read_bytes()).images)
            result[app] = env_object_diffs(a, a_objs, b, b_objs, repos)
        return EnvDiff(a, b, result)

    def _inventory(self, environment: str, app: str) -> list[ObjRef]:
        with self.db.session(readonly=True) as s:
            return [ObjRef.from_json(o) for o in deploys.get_inventory(s, environment, app) or []]


def app_diff(
    environment: str,
    app: str,
    commit: str,
    previews: list[Preview],
    stale: list[tuple[ObjRef, dict[str, Any] | None]],
) -> AppDiff:
    """`previews` from Applier.preview; `stale` are inventory objects git no longer has
    (they would be pruned), with their live state."""
    result = AppDiff(environment, app, commit)
    for p in previews:
        ref = str(p.ref)
        if p.problem is not None:
            result.objects.append(ObjectDiff(ref, "error", problem=p.problem))
            continue
        text = unified_diff(
            p.predicted, p.live, desired_label=f"git {ref}", live_label=f"live {ref}"
        )
        change = "create" if p.live is None else "update" if text else "unchanged"
        result.objects.append(ObjectDiff(ref, change, text))
    for stale_ref, live in stale:
        if live is None:
            continue
        name = str(stale_ref)
        text = unified_diff(
            None, live, desired_label=f"git {name} (pruned)", live_label=f"live {name}"
        )
        result.objects.append(ObjectDiff(name, "delete", text))
    return result


def strip_environment(obj: dict[str, Any], pinned_repositories: set[str]) -> dict[str, Any]:
    """What is left of an object once the environment's identity and the release's
    versions are taken out, so two environments can be compared."""
    plain = normalize(copy.deepcopy(obj))
    meta = plain.get("metadata") or {}
    meta.pop("namespace", None)
    for key in (MANAGED_BY_LABEL, ENVIRONMENT_LABEL, APP_LABEL):
        (meta.get("labels") or {}).pop(key, None)
    (meta.get("annotations") or {}).pop(OWNER_ANNOTATION, None)
    for key in ("labels", "annotations"):
        if key in meta and not meta[key]:
            meta.pop(key)
    _mask_pinned_images(plain, pinned_repositories)
    masked: dict[str, Any] = mask(plain, kind=str(plain.get("kind") or ""))
    return masked


def _mask_pinned_images(node: Any, repositories: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and isinstance(value, str) and _repository(value) in repositories:
                node[key] = PINNED_IMAGE
            else:
                _mask_pinned_images(value, repositories)
    elif isinstance(node, list):
        for item in node:
            _mask_pinned_images(item, repositories)


def _repository(image: str) -> str:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name


def _identity(obj: dict[str, Any]) -> str:
    ref = ObjRef.of(obj)
    return f"{ref.kind}/{ref.name}"


def env_object_diffs(
    a_name: str,
    a_objects: list[dict[str, Any]],
    b_name: str,
    b_objects: list[dict[str, Any]],
    pinned_repositories: set[str],
) -> list[ObjectDiff]:
    """Per object (matched by kind and name): how `b` differs from `a`, versions aside."""
    a_map = {_identity(o): strip_environment(o, pinned_repositories) for o in a_objects}
    b_map = {_identity(o): strip_environment(o, pinned_repositories) for o in b_objects}
    diffs: list[ObjectDiff] = []
    for key in sorted(set(a_map) | set(b_map)):
        a_obj, b_obj = a_map.get(key), b_map.get(key)
        a_lines = to_yaml(a_obj).splitlines(keepends=True) if a_obj is not None else []
        b_lines = to_yaml(b_obj).splitlines(keepends=True) if b_obj is not None else []
        text = "".join(
            difflib.unified_diff(
                a_lines, b_lines, fromfile=f"{a_name} {key}", tofile=f"{b_name} {key}"
            )
        )
        if a_obj is None:
            change = f"only in {b_name}"
        elif b_obj is None:
            change = f"only in {a_name}"
        else:
            change = "differs" if text else "same"
        diffs.append(ObjectDiff(key, change, text))
    return diffs
