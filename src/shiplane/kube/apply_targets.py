"""The objects of a dry-run or apply as targets: cleaned and marked as Shiplane's, checked
for identity, duplicates and scope, and resolved to their API resource by discovery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shiplane.kube import ordering
from shiplane.kube.apply_objects import clean, mark_owned, missing_identity, set_namespace
from shiplane.kube.apply_results import ApplyProblem
from shiplane.kube.discovery import Discovery, ResourceInfo
from shiplane.kube.refs import ObjRef


@dataclass
class Target:
    obj: dict[str, Any]
    ref: ObjRef
    info: ResourceInfo | None = None

    @property
    def path(self) -> str:
        assert self.info is not None
        return self.info.path(self.ref.name, self.ref.namespace)


def targets_of(
    objects: Sequence[dict[str, Any]], owner: tuple[str, str] | None
) -> tuple[list[Target], list[ApplyProblem]]:
    targets: list[Target] = []
    problems: list[ApplyProblem] = []
    for index, raw in enumerate(objects):
        missing = missing_identity(raw)
        if missing:
            ref = ObjRef.of(raw)
            problems.append(
                ApplyProblem(
                    ref,
                    f"object #{index + 1} has no {', '.join(missing)}",
                    reason="Malformed",
                )
            )
            continue
        obj = clean(raw)
        if owner is not None:
            mark_owned(obj, *owner)
        targets.append(Target(obj, ObjRef.of(obj)))
    return targets, problems


def duplicate_problems(targets: Sequence[Target]) -> list[ApplyProblem]:
    """Objects rendered twice (by identity: group/kind/namespace/name, any version)."""
    seen: dict[tuple[str, str, str, str], ObjRef] = {}
    problems = []
    for target in targets:
        key = ordering.identity(target.ref)
        if key in seen:
            problems.append(
                ApplyProblem(
                    target.ref,
                    f"rendered twice (also as {seen[key].api_version} {seen[key]})",
                    reason="Duplicate",
                )
            )
        seen[key] = target.ref
    return problems


async def resolve_targets(discovery: Discovery, targets: Sequence[Target]) -> list[Target]:
    """Attach discovery info and normalise scope; return the targets still unknown."""
    infos = await discovery.resolve_many((t.ref.api_version, t.ref.kind) for t in targets)
    unknown = []
    for target in targets:
        info = infos[(target.ref.api_version, target.ref.kind)]
        if info is None:
            unknown.append(target)
            continue
        target.info = info
        set_namespace(target.obj, info.namespaced)
        target.ref = ObjRef.of(target.obj)
    return unknown


def scope_problems(targets: Sequence[Target]) -> list[ApplyProblem]:
    return [
        ApplyProblem(
            t.ref,
            f"{t.ref.kind} is namespaced but the object has no metadata.namespace",
            reason="NoNamespace",
        )
        for t in targets
        if t.info is not None and t.info.namespaced and not t.ref.namespace
    ]


def crds_in(targets: Sequence[Target]) -> dict[tuple[str, str], str]:
    """(group, kind) -> CRD name, for CRDs of the batch."""
    out = {}
    for t in targets:
        if (t.ref.group, t.ref.kind) == ordering.CRD:
            spec = t.obj.get("spec") or {}
            kind = str((spec.get("names") or {}).get("kind", ""))
            out[(str(spec.get("group", "")), kind)] = t.ref.name
    return out


def unknown_problems(
    unknown: Sequence[Target], crds: dict[tuple[str, str], str]
) -> list[ApplyProblem]:
    problems = []
    for t in unknown:
        crd = crds.get((t.ref.group, t.ref.kind))
        if crd:
            problems.append(
                ApplyProblem(
                    t.ref,
                    f"deferred: needs CRD {crd} (in this batch, not yet established)",
                    reason="Deferred",
                    deferred=True,
                )
            )
        else:
            problems.append(
                ApplyProblem(
                    t.ref,
                    f"the cluster serves no {t.ref.kind} in {t.ref.api_version} "
                    "(is its CRD installed, or the apiVersion misspelt?)",
                    reason="UnknownKind",
                )
            )
    return problems
