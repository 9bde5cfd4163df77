"""Apps removed from an environment: which, and whether deleting their objects is safe.

An app is part of an environment while `envs/<env>/<app>/` exists in git and the app is
defined in shiplane.yaml. When either is gone but Shiplane still has objects of it in its
inventory for the environment, the app was *removed*: a sync of the whole environment
deletes those objects (prune enabled), or leaves them and shows the app as *orphaned*
(prune disabled).

The safety rule against an accidentally emptied `envs/<env>/` directory: the objects of
the apps being removed, counted in their inventories, may be at most the environment's
`prune.maxFraction` of all objects in all of the environment's inventories (the removed
apps included). Above it the removal is refused and nothing is deleted; removing every
app at once therefore always needs `maxFraction: 1.0`. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

GONE_FROM_GIT = "removed from git"
UNDEFINED = "no longer defined in shiplane.yaml"


@dataclass(frozen=True, slots=True)
class RemovalPlan:
    """What a sync of the whole environment does about removed apps."""

    environment: str
    delete: tuple[str, ...] = ()
    """Removed apps whose objects are deleted (prune enabled)."""
    orphan: tuple[str, ...] = ()
    """Removed apps newly left in place (prune disabled), shown as orphaned."""
    why: Mapping[str, str] = field(default_factory=dict)
    """app -> why it counts as removed (GONE_FROM_GIT or UNDEFINED)."""
    refusal: str = ""
    """Why the deletion is refused ("" when it may go ahead); nothing is deleted then."""

    @property
    def apps(self) -> tuple[str, ...]:
        return self.delete + self.orphan

    def __bool__(self) -> bool:
        return bool(self.apps)


def removed_apps(
    inventories: Mapping[str, int], in_git: Collection[str], defined: Collection[str]
) -> dict[str, str]:
    """app -> why it is removed, for each app with objects in the inventory (`inventories`:
    app -> object count) that is not defined (`defined`) or has no directory in git
    (`in_git`), in name order."""
    removed: dict[str, str] = {}
    for app in sorted(inventories):
        if inventories[app] <= 0:
            continue
        if app not in defined:
            removed[app] = UNDEFINED
        elif app not in in_git:
            removed[app] = GONE_FROM_GIT
    return removed


def removal_refusal(
    environment: str,
    removing: Mapping[str, int],
    inventories: Mapping[str, int],
    max_fraction: float,
) -> str:
    """Why deleting the objects of `removing` (app -> object count) must not happen, or ""
    when it may: their share of all objects in the environment's `inventories` is above
    `max_fraction`."""
    deleting = sum(removing.values())
    total = sum(n for n in inventories.values() if n > 0)
    if deleting <= 0 or total <= 0:
        return ""
    fraction = deleting / total
    if fraction <= max_fraction:
        return ""
    apps = ", ".join(sorted(removing))
    emptied = (
        f"envs/{environment}/ has no app left with objects: was it emptied by mistake? "
        if deleting >= total
        else ""
    )
    return (
        f"refusing to remove {len(removing)} app(s) from {environment} ({apps}): deleting "
        f"their {deleting} objects is {fraction:.0%} of the environment's {total} managed "
        f"objects, above prune.maxFraction {max_fraction:.0%}; nothing was deleted. "
        f"{emptied}Restore the app directories under envs/{environment}/ in git, or remove "
        f"fewer apps per commit, or raise environments.{environment}.prune.maxFraction "
        f"(1.0 allows removing every app) and sync again."
    )


def plan_removal(
    environment: str,
    inventories: Mapping[str, int],
    *,
    in_git: Collection[str],
    defined: Collection[str],
    orphaned: Collection[str],
    prune_enabled: bool,
    max_fraction: float,
) -> RemovalPlan:
    """The removal part of a sync of the whole `environment`.

    `inventories`: app -> object count of every inventory of the environment; `orphaned`:
    apps already shown as orphaned, which a sync with prune disabled leaves alone (so that
    it records nothing new); with prune enabled they are deleted like any removed app."""
    why = removed_apps(inventories, in_git, defined)
    if not why:
        return RemovalPlan(environment)
    if not prune_enabled:
        fresh = tuple(a for a in why if a not in orphaned)
        return RemovalPlan(environment, orphan=fresh, why={a: why[a] for a in fresh})
    delete = tuple(why)
    refusal = removal_refusal(
        environment, {a: inventories[a] for a in delete}, inventories, max_fraction
    )
    return RemovalPlan(environment, delete=delete, why=why, refusal=refusal)
