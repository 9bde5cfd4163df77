"""The inventory of each (environment, app): every object Shiplane applied for it, which
the next prune compares with what is rendered then."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shiplane.engine.deploy.recorder import RunRecorder
from shiplane.kube.refs import ObjRef
from shiplane.store import deploys


async def read_inventories(rec: RunRecorder, apps: Sequence[str]) -> dict[str, list[ObjRef]]:
    """The inventories of `apps`, in one transaction: with many apps, a round trip to the
    store per app costs more than the prunes themselves."""

    def fn(s: Any) -> dict[str, list[ObjRef]]:
        return {
            app: [ObjRef.from_json(o) for o in deploys.get_inventory(s, rec.environment, app) or []]
            for app in apps
        }

    return await rec.write(fn)


async def remember_inventories(
    rec: RunRecorder,
    refs_by_app: Mapping[str, Sequence[ObjRef]],
    commit: str | None,
    *,
    merge: bool = False,
) -> None:
    """Save the inventory of each app (with `merge`: added to what it was), in one
    transaction."""
    if not refs_by_app:
        return

    def fn(s: Any) -> None:
        for app, refs in refs_by_app.items():
            merged = list(dict.fromkeys(refs))
            if merge:
                old = [
                    ObjRef.from_json(o)
                    for o in deploys.get_inventory(s, rec.environment, app) or []
                ]
                merged = list(dict.fromkeys([*old, *refs]))
            deploys.save_inventory(
                s,
                rec.environment,
                app,
                [r.to_json() for r in sorted(merged)],
                git_commit=commit,
                now=rec.clock,
            )

    await rec.write(fn)
