"""Diffs a user reads before promoting: git vs the cluster, and environment vs environment.

`diff ENV APP` renders what git says and asks the cluster (server-side dry-run) what each
object would become, so defaulting and admission are the cluster's own, then shows the
live -> predicted change as a unified YAML diff, secrets masked. `diff --envs A B` renders
both environments and compares everything but the versions: config, replicas, env vars,
resources.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from typing import Any

from shiplane.kube.apply import Preview
from shiplane.kube.diff import mask, normalize, to_yaml, unified_diff
from shiplane.kube.ownership import (
    APP_LABEL,
    ENVIRONMENT_LABEL,
    MANAGED_BY_LABEL,
    OWNER_ANNOTATION,
)
from shiplane.kube.refs import ObjRef

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
