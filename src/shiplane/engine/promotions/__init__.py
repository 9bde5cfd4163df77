"""Promotions: a persisted state machine per promotion, reconciled level-triggered.

Every promotion is a row; every move is a transition of the domain state machine
written in one transaction with its step, audit event and notification
(`transitions.py`). The package has one module per job:

    runtime.py      store access, fenced writes, clock, leases, metrics, notify, ports
    model.py        the typed bookkeeping on a promotion (`data`), Actor
    transitions.py  the one write path of a state change
    create.py       creating promotions (requests, retries, rollbacks, auto-promotion)
    requests.py     approve/reject, abort, retry, rollback, resolve a check
    controls.py     holds and freezes
    explain.py      why a promotion waits or failed
    start.py gates.py deploy.py verify.py rollback.py   one handler per state
    outcome.py      how a promotion ends (verified, failed, rolled back)
    auto.py         auto-promotion (in the cause's transaction, and a level-triggered sweep)
    releases.py     a new release with its audit event and root auto-promotions
    loop.py         the reconcile loop and its {state: handler} table
    timing.py       how often the loop looks again
    controller.py   the controller the engine and the API hold

Each step is safe to repeat after a crash: the commit is recognised by its
Shiplane-Promotion trailer, apply is server-side apply, checks resume from their
persisted state.
"""

from shiplane.engine.promotions.controller import PromotionController
from shiplane.engine.promotions.model import Actor, PromotionData

__all__ = ["Actor", "PromotionController", "PromotionData"]
