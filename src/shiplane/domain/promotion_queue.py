"""Queueing rules: which promotion may start, which are superseded, which are held.

One active promotion per (environment, app). Later ones queue in creation order. A newer
auto-promotion supersedes queued older auto-promotions of the same apps (deploying a
release that is already outdated is wasted work), while manual promotions keep their
order because a person asked for each one. Auto-promotion never touches a held
(environment, app). Pure functions over lists of `Promotion` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.domain.promotion_controls import Hold

SlotKey = tuple[str, str]
"""(environment, app): the unit that runs one promotion at a time."""


def slots(promotion: Promotion) -> set[SlotKey]:
    return {(promotion.environment, app) for app in promotion.apps}


def queue_order(promotions: Iterable[Promotion]) -> list[Promotion]:
    """Creation order; ids break ties (they sort by creation time too)."""
    return sorted(promotions, key=lambda p: (p.created_at, p.id))


def held_slots(promotion: Promotion, holds: Iterable[Hold]) -> list[SlotKey]:
    """The (environment, app) pairs of `promotion` that carry a hold."""
    mine = slots(promotion)
    return sorted({(h.environment, h.app) for h in holds} & mine)


def may_auto_promote(environment: str, apps: Iterable[str], holds: Iterable[Hold]) -> bool:
    """Whether the auto-promoter may create a promotion of `apps` into `environment`."""
    held = {(h.environment, h.app) for h in holds}
    return not any((environment, app) in held for app in apps)


def held_auto_promotions(queue: Iterable[Promotion], holds: Sequence[Hold]) -> list[Promotion]:
    """Queued auto-promotions that a hold now forbids; the engine aborts them.

    Once one is deploying it is left to finish: stopping half-way is worse than either end.
    """
    return [
        p
        for p in queue_order(queue)
        if p.trigger == "auto"
        and p.state in (PromotionState.PENDING, PromotionState.WAITING)
        and held_slots(p, holds)
    ]


def superseded_by(queue: Iterable[Promotion], newer: Promotion) -> list[Promotion]:
    """The promotions that `newer` (an auto-promotion just created) supersedes.

    Only auto-promotions of another release into the same environment that have not
    started deploying, that are older, and whose apps `newer` all covers (it must replace
    them entirely; a partial overlap just queues). Manual promotions and rollbacks are
    never superseded.
    """
    if newer.trigger != "auto" or newer.kind != "normal":
        return []
    newer_key = (newer.created_at, newer.id)
    return [
        p
        for p in queue_order(queue)
        if p.id != newer.id
        and p.trigger == "auto"
        and p.kind == "normal"
        and p.environment == newer.environment
        and p.release_id != newer.release_id
        and p.state in (PromotionState.PENDING, PromotionState.WAITING)
        and (p.created_at, p.id) < newer_key
        and set(p.apps) <= set(newer.apps)
    ]


def next_to_start(queue: Iterable[Promotion], holds: Sequence[Hold] = ()) -> list[Promotion]:
    """Pending promotions that may start now, in the order to start them.

    A pending promotion starts when none of its (environment, app) slots is taken by an
    active promotion or by an older pending one still waiting its turn: first come,
    first served per slot, and a release train waits until all its slots are free.
    Held auto-promotions never start and do not block others (see held_auto_promotions).
    """
    ordered = queue_order(queue)
    taken: set[SlotKey] = set()
    for p in ordered:
        if p.is_active:
            taken |= slots(p)
    starting: list[Promotion] = []
    for p in ordered:
        if p.state != PromotionState.PENDING:
            continue
        if p.trigger == "auto" and held_slots(p, holds):
            continue
        mine = slots(p)
        if not mine & taken:
            starting.append(p)
        taken |= mine
    return starting
