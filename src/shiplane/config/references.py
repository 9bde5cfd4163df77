"""Cross-reference checks on the raw document: names resolve, graphs are acyclic.

These run on plain parsed values rather than on the validated model so that a broken
reference is reported together with structural problems elsewhere in the file. Parts
that have the wrong shape are skipped here; the model validation reports them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shiplane.config.graph import find_cycles
from shiplane.config.problems import FieldPath, format_path
from shiplane.domain.canary import weight_problems
from shiplane.domain.suggest import did_you_mean


@dataclass(frozen=True)
class ReferenceProblem:
    """`path` is where the offending reference is written."""

    path: FieldPath
    message: str


def _section(data: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """The named section; None when it is present but malformed (not a mapping).

    References into a malformed section are not checked: the model already reports the
    section, and "not defined" for every reference would only bury that problem.
    """
    value = data.get(name, {})
    return value if isinstance(value, dict) else None


def _names(value: Any, path: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    """(path, name) for each string in a list; other shapes are left to the model."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                yield (*path, i), item


def _after_refs(env: Any, path: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    if not isinstance(env, dict) or "after" not in env:
        return
    after = env["after"]
    if isinstance(after, list):
        yield from _names(after, (*path, "after"))
    elif isinstance(after, dict):
        for mode in ("all", "any"):
            yield from _names(after.get(mode), (*path, "after", mode))


def _list_refs(item: Any, path: FieldPath, key: str) -> Iterator[tuple[FieldPath, str]]:
    if isinstance(item, dict):
        yield from _names(item.get(key), (*path, key))


class _Checker:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.problems: list[ReferenceProblem] = []

    def resolve(
        self, refs: Iterator[tuple[FieldPath, str]], defined: dict[str, Any] | None, kind: str
    ) -> None:
        if defined is None:
            return
        seen: set[tuple[FieldPath, str]] = set()
        for path, name in refs:
            # The message names the list, not the index: "in environments.prod.after".
            where_path = path[:-1] if isinstance(path[-1], int) else path
            where = format_path(where_path)
            if (where_path, name) in seen:
                self.problems.append(ReferenceProblem(path, f"{kind} '{name}' is listed twice"))
            seen.add((where_path, name))
            if name not in defined:
                hint = did_you_mean(name, defined, kind)
                message = f"{kind} '{name}' in {where} is not defined{hint}"
                self.problems.append(ReferenceProblem(path, message))

    def run(self) -> list[ReferenceProblem]:
        clusters = _section(self.data, "clusters")
        environments = _section(self.data, "environments")
        apps = _section(self.data, "apps")
        checks = _section(self.data, "checks")
        windows = _section(self.data, "windows")
        conditions = _section(self.data, "conditions")

        for name, env in (environments or {}).items():
            path: FieldPath = ("environments", name)
            if isinstance(env, dict) and isinstance(env.get("cluster"), str):
                self.resolve(iter([((*path, "cluster"), env["cluster"])]), clusters, "cluster")
            self.resolve(_after_refs(env, path), environments, "environment")
            self.resolve(_list_refs(env, path, "windows"), windows, "window")
            self.resolve(_list_refs(env, path, "verify"), checks, "check")
            self.strategy(env, path, checks)
            self.pull_request_mode(env, path)
            self.deploy_target(env, path, apps)
        for name, app in (apps or {}).items():
            self.resolve(_list_refs(app, ("apps", name), "dependsOn"), apps, "app")
            overrides = app.get("strategies") if isinstance(app, dict) else None
            if isinstance(overrides, dict):
                where: FieldPath = ("apps", name, "strategies")
                self.resolve(
                    iter([((*where, env_name), env_name) for env_name in overrides]),
                    environments,
                    "environment",
                )
                for env_name, strategy in overrides.items():
                    self.strategy({"strategy": strategy}, (*where,), checks, key=env_name)
                    env = (environments or {}).get(env_name)
                    self.handoff_strategy(env, strategy, (*where, env_name))
        for name, receiver in (_section(self.data, "receivers") or {}).items():
            # A receiver's allow-list names sources of the `sources` section.
            refs = _list_refs(receiver, ("receivers", name), "sources")
            self.resolve(refs, _section(self.data, "sources"), "source")
        for name, condition in (conditions or {}).items():
            refs = _list_refs(condition, ("conditions", name), "environments")
            self.resolve(refs, environments, "environment")
        for name, source in (_section(self.data, "sources") or {}).items():
            self.resolve(_list_refs(source, ("sources", name), "apps"), apps, "app")
            self.source_images(name, source, apps or {})

        sso = _section(self.data, "sso")
        roles = (sso or {}).get("roles")
        for i, mapping in enumerate(roles if isinstance(roles, list) else []):
            refs = _list_refs(mapping, ("sso", "roles", i), "environments")
            self.resolve(refs, environments, "environment")

        self.environment_cycles(environments or {})
        self.app_cycles(apps or {})
        return self.problems

    def deploy_target(self, env: Any, path: FieldPath, apps: dict[str, Any] | None) -> None:
        """A hand-off target (`deploy.via: flux|argocd`) runs only the rolling strategy
        (the agent applies the whole commit at once), and its `apps` map names apps."""
        if not isinstance(env, dict):
            return
        self.handoff_strategy(env, env.get("strategy"), (*path, "strategy"))
        deploy = env.get("deploy")
        via = deploy.get("via") if isinstance(deploy, dict) else None
        section = deploy.get(via) if isinstance(deploy, dict) and isinstance(via, str) else None
        owners = section.get("apps") if isinstance(section, dict) else None
        if isinstance(owners, dict):
            where: FieldPath = (*path, "deploy", str(via), "apps")
            self.resolve(iter([((*where, app), app) for app in owners]), apps, "app")

    def handoff_strategy(self, env: Any, strategy: Any, path: FieldPath) -> None:
        deploy = env.get("deploy") if isinstance(env, dict) else None
        via = deploy.get("via") if isinstance(deploy, dict) else deploy
        if not isinstance(via, str) or via == "shiplane" or strategy is None:
            return
        kind = strategy if isinstance(strategy, str) else None
        if isinstance(strategy, dict) and len(strategy) == 1:
            kind = next(iter(strategy))
        if kind is not None and kind != "rolling":
            self.problems.append(
                ReferenceProblem(
                    path,
                    f"strategy {kind!r} cannot run with `deploy.via: {via}`: {via} applies "
                    "the whole commit at once; use `rolling` (docs/handoff.md)",
                )
            )

    def pull_request_mode(self, env: Any, path: FieldPath) -> None:
        """`gitops.mode: pull-request` opens pull requests through the project's forge."""
        gitops = env.get("gitops") if isinstance(env, dict) else None
        if not isinstance(gitops, dict) or gitops.get("mode") != "pull-request":
            return
        if self.data.get("forge") is None:
            self.problems.append(
                ReferenceProblem(
                    (*path, "gitops", "mode"),
                    f"{format_path(path)} promotes through pull requests, which needs a "
                    "'forge' section (the Gitea, GitHub or GitLab hosting the GitOps "
                    "repository; docs/forges.md)",
                )
            )

    def strategy(
        self,
        holder: Any,
        path: FieldPath,
        checks: dict[str, Any] | None,
        *,
        key: str = "strategy",
    ) -> None:
        """A canary's analysis steps name defined checks; its weights rise (and stay
        below 100 in replicas mode). The range of each weight is the model's."""
        strategy = holder.get(key) if isinstance(holder, dict) else None
        canary = strategy.get("canary") if isinstance(strategy, dict) else None
        if not isinstance(canary, dict) or not isinstance(canary.get("steps"), list):
            return
        steps_path: FieldPath = (*path, key, "canary", "steps")
        weights: list[tuple[int, int]] = []
        for i, step in enumerate(canary["steps"]):
            if not isinstance(step, dict):
                continue
            self.resolve(_list_refs(step, (*steps_path, i), "analysis"), checks, "check")
            weight = step.get("setWeight")
            if isinstance(weight, int) and not isinstance(weight, bool) and 0 <= weight <= 100:
                weights.append((i, weight))
        for i, message in weight_problems(weights):
            self.problems.append(ReferenceProblem((*steps_path, i, "setWeight"), message))
        if canary.get("traffic", "replicas") == "replicas":
            for i, weight in weights:
                if weight == 100:
                    self.problems.append(
                        ReferenceProblem(
                            (*steps_path, i, "setWeight"),
                            "setWeight 100 cannot run beside the stable version in replicas "
                            "mode (the last step's success moves everything to the new "
                            "version); use a lower weight",
                        )
                    )

    def source_images(self, name: str, source: Any, apps: dict[str, Any]) -> None:
        """An image source feeds only apps that deploy its repository (unless
        `releases.allowImageOverrides`): otherwise its releases would never fit."""
        if not isinstance(source, dict) or not isinstance(source.get("image"), dict):
            return
        releases = self.data.get("releases")
        if isinstance(releases, dict) and releases.get("allowImageOverrides") is True:
            return
        repository = source["image"].get("repository")
        for path, app in _list_refs(source, ("sources", name), "apps"):
            images = apps.get(app, {}).get("images") if isinstance(apps.get(app), dict) else None
            if (
                isinstance(images, list)
                and isinstance(repository, str)
                and repository not in images
            ):
                self.problems.append(
                    ReferenceProblem(
                        path,
                        f"app '{app}' does not deploy {repository} (its images: "
                        f"{', '.join(map(str, images)) or 'none'})",
                    )
                )

    def environment_cycles(self, environments: dict[str, Any]) -> None:
        # Edges follow the promotion flow (upstream -> downstream), the way pipelines are
        # drawn, so the cycle reads like the user's mental picture.
        upstream: dict[str, list[tuple[FieldPath, str]]] = {
            name: list(_after_refs(env, ("environments", name)))
            for name, env in environments.items()
        }
        flow: dict[str, list[str]] = {name: [] for name in environments}
        for name, refs in upstream.items():
            for _, up in refs:
                if up in flow and name not in flow[up]:
                    flow[up].append(name)
        for cycle in find_cycles(list(environments), flow):
            start, closing = cycle[0], cycle[-1]
            path = next(p for p, up in upstream[start] if up == closing)
            text = " -> ".join([*cycle, start])
            self.problems.append(
                ReferenceProblem(path, f"the environment graph has a cycle: {text}")
            )

    def app_cycles(self, apps: dict[str, Any]) -> None:
        depends: dict[str, list[tuple[FieldPath, str]]] = {
            name: list(_list_refs(app, ("apps", name), "dependsOn")) for name, app in apps.items()
        }
        edges = {name: [dep for _, dep in refs] for name, refs in depends.items()}
        for cycle in find_cycles(list(apps), edges):
            start, nxt = cycle[0], cycle[1 % len(cycle)]
            path = next(p for p, dep in depends[start] if dep == nxt)
            text = " -> ".join([*cycle, start])
            self.problems.append(
                ReferenceProblem(path, f"dependsOn has a cycle: {text} (each depends on the next)")
            )


def check_references(data: Mapping[str, Any]) -> list[ReferenceProblem]:
    """Every unresolved reference, duplicate entry and cycle in a parsed document."""
    return _Checker(data).run()
