"""A known promotion history written through the store's own write functions (releases,
promotions, steps, verifications), for tests of insights on a real database: the API,
the CLI and the store queries on SQLite and PostgreSQL see the same figures.

For an app `app` from `base` (UTC):

- release 1 (created at base) verified in staging at +1h10m;
- prod asked at +3h, held by its approval gate until +5h, verified at +5h10m
  (lead time 5h10m; ready in prod 1h50m before anybody asked);
- release 2 (created at +6h) deployed into prod at +7h, failed verification at +7h20m
  and was rolled back automatically: the rollback verified at +7h30m (restored in 10m).

So in prod: 1 deployment, 1 rollback, change failure rate 1/2, lead time p50 5h10m,
time to restore p50 10m, bottleneck `gate:approval` (2h).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from shiplane.domain.promotion import Promotion, PromotionState, Step
from shiplane.domain.promotion_ids import new_promotion_id
from shiplane.store import promotions as store
from shiplane.store import verifications
from shiplane.store.releases import create_release

S = PromotionState
H = timedelta(hours=1)
M = timedelta(minutes=1)

LEAD_TIME = (5 * H + 10 * M).total_seconds()
RESTORE = (10 * M).total_seconds()
APPROVAL_WAIT = (2 * H).total_seconds()


@dataclass(frozen=True)
class Written:
    release_ids: tuple[str, str]
    promotion_ids: tuple[str, ...]


def write_history(s: Session, app: str, base: datetime) -> Written:
    first, _ = create_release(
        s,
        artifacts={app: f"registry.example/shop/{app}:1.0.0"},
        alias=None,
        labels={},
        creator="ci",
        now=lambda: base,
    )
    second, _ = create_release(
        s,
        artifacts={app: f"registry.example/shop/{app}:2.0.0"},
        alias=None,
        labels={},
        creator="ci",
        now=lambda: base + 6 * H,
    )
    straight = [S.WAITING, S.DEPLOYING]
    ids = [
        _promotion(
            s, first.id, "staging", app, base + H,
            [(0 * M, straight), (M, [S.VERIFYING]), (10 * M, [S.SUCCEEDED])],
        ),
        _promotion(
            s, first.id, "prod", app, base + 3 * H,
            [(0 * M, [S.WAITING]), (2 * H, [S.DEPLOYING]), (2 * H + M, [S.VERIFYING]),
             (2 * H + 10 * M, [S.SUCCEEDED])],
            gates=((0 * M, "approval"),),
        ),
    ]  # fmt: skip
    failed = _promotion(
        s, second.id, "prod", app, base + 7 * H,
        [(0 * M, straight), (M, [S.VERIFYING]), (20 * M, [S.FAILED, S.ROLLING_BACK]),
         (30 * M, [S.ROLLED_BACK])],
        commit="c0ffee",
    )  # fmt: skip
    rollback = _promotion(
        s, first.id, "prod", app, base + 7 * H + 20 * M,
        [(0 * M, straight), (M, [S.VERIFYING]), (10 * M, [S.SUCCEEDED])],
        kind="rollback", rollback_of=failed,
    )  # fmt: skip
    return Written((first.id, second.id), (*ids, failed, rollback))


def _promotion(
    s: Session,
    release_id: str,
    environment: str,
    app: str,
    created: datetime,
    moves: list[tuple[timedelta, list[PromotionState]]],
    *,
    gates: tuple[tuple[timedelta, str], ...] = (),
    kind: str = "normal",
    rollback_of: str | None = None,
    commit: str | None = None,
) -> str:
    last = created + moves[-1][0]
    p = Promotion(
        id=new_promotion_id(created),
        release_id=release_id,
        environment=environment,
        apps=(app,),
        requested_by="alice",
        created_at=created,
        kind="rollback" if kind == "rollback" else "normal",
        state=moves[-1][1][-1],
        reason="as written by tests.support.insights_history",
        updated_at=last,
        rollback_of=rollback_of,
    )
    store.insert_promotion(s, p, next_check_at=None)
    store.add_step(s, p.id, Step("requested", created, created, "succeeded", "manual"))
    steps: list[tuple[datetime, Step]] = []
    for offset, states in moves:
        at = created + offset
        steps += [(at, Step(f"-> {state.value}", at, at, "succeeded", "")) for state in states]
    for offset, gate in gates:
        at = created + offset
        results = [{"gate": gate, "outcome": "wait", "reason": f"waiting for {gate}"}]
        steps.append((at, Step("gates", at, at, "succeeded", gate, {"results": results})))
    for _at, step in sorted(steps, key=lambda x: x[0]):
        store.add_step(s, p.id, step)
    if commit is not None:
        store.save_promotion(s, p, git_commit=commit)
    if p.state is S.SUCCEEDED:
        verifications.record_verification(
            s,
            environment=environment,
            apps=[app],
            release_id=release_id,
            promotion_id=p.id,
            at=last,
        )
    return p.id
