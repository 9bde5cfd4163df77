"""Queueing rules: which promotion may start, which are superseded, which are held.

One active promotion per (environment, app). Later ones queue in creation order. A newer
auto-promotion supersedes queued older auto-promotions of the same apps (deploying a
release that is already outdated is wasted work), while manual promotions keep their
order because a person asked for each one. Auto-promotion never touches a held
(environment, app). A rollback never queues behind a promotion held at its gates (an
approval, a soak, a window): it starts at once, and the held promotion waits until the
rollback is done (a broken environment must not wait for a person or a clock to get
back to a working release). Pure functions over lists of `Promotion` values.
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


def yields_to_rollbacks(promotion: Promotion) -> bool:
    """Whether `promotion`, while active, gives its slots to a rollback that asks for them:
    a normal promotion still at its gates (Waiting) has changed nothing yet."""
    return promotion.kind == "normal" and promotion.state == PromotionState.WAITING


def rollbacks_first(queue: Iterable[Promotion], promotion: Promotion) -> list[Promotion]:
    """The open rollbacks that `promotion` (Waiting at its gates) must let go first.

    While any is listed, the promotion's gates must not let it deploy; it is evaluated
    again once they are done.
    """
    if not yields_to_rollbacks(promotion):
        return []
    mine = slots(promotion)
    return [
        q
        for q in queue_order(queue)
        if q.id != promotion.id
        and q.kind == "rollback"
        and (q.state == PromotionState.PENDING or q.is_active)
        and slots(q) & mine
    ]


def next_to_start(queue: Iterable[Promotion], holds: Sequence[Hold] = ()) -> list[Promotion]:
    """Pending promotions that may start now, in the order to start them.

    A pending promotion starts when none of its (environment, app) slots is taken by an
    active promotion or by an older pending one still waiting its turn: first come,
    first served per slot, and a release train waits until all its slots are free.
    Rollbacks go first: a pending rollback starts even while a promotion holds its slots
    at the gates (that one waits for it, see `rollbacks_first`), and no normal promotion
    starts in a slot a rollback asks for. Held auto-promotions never start and do not
    block others (see held_auto_promotions).
    """
    ordered = queue_order(queue)
    busy: set[SlotKey] = set()  # active, and will not give way
    at_gates: set[SlotKey] = set()  # active, but give way to rollbacks
    for p in ordered:
        if p.is_active:
            (at_gates if yields_to_rollbacks(p) else busy).update(slots(p))
    rollbacks_asking = {
        slot for p in ordered if p.state == PromotionState.PENDING and p.kind == "rollback"
        for slot in slots(p)
    }  # fmt: skip
    starting: list[Promotion] = []
    turn: set[SlotKey] = set()  # claimed by older pending promotions
    rollback_turn: set[SlotKey] = set()  # claimed by older pending rollbacks
    for p in ordered:
        if p.state != PromotionState.PENDING:
            continue
        if p.trigger == "auto" and held_slots(p, holds):
            continue
        mine = slots(p)
        if p.kind == "rollback":
            blocked = mine & (busy | rollback_turn)
            rollback_turn |= mine
        else:
            blocked = mine & (busy | at_gates | turn | rollbacks_asking)
        if not blocked:
            starting.append(p)
        turn |= mine
    return starting
