"""The promote drawer's answer in one call: the gates a promotion would meet
(engine/promotions/preview.py) and the manifest diff against live (engine/diffs.py),
without creating or committing anything.

The diff needs git and the cluster; when either fails the gates are still answered and
`diff_error` says what went wrong (a closed window is worth knowing even when the
cluster is unreachable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shiplane.domain.errors import ShiplaneError
from shiplane.engine.diffs import AppDiff, Diffs
from shiplane.engine.promotions import PromotionController
from shiplane.engine.promotions.permissions import Caller
from shiplane.engine.promotions.preview import GatePreview
from shiplane.gitops.errors import GitError, RenderError


@dataclass(frozen=True, slots=True)
class PromotionPreview:
    gates: GatePreview
    diffs: tuple[AppDiff, ...] | None  # None: not asked for, or it failed (diff_error)
    diff_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.gates.to_json(),
            "diff": [d.to_json() for d in self.diffs] if self.diffs is not None else None,
            "diff_error": self.diff_error,
            "changed": any(d.changed for d in self.diffs or ()),
        }


async def preview_promotion(
    promotions: PromotionController,
    diffs: Diffs,
    release_ref: str,
    environment: str,
    caller: Caller,
    *,
    with_diff: bool = True,
) -> PromotionPreview:
    """What promoting `release_ref` into `environment` would meet and change."""
    gates = await promotions.preview(release_ref, environment, caller)
    if not with_diff:
        return PromotionPreview(gates, None)
    try:
        changes = await diffs.release_vs_live(gates.release, environment)
    except ShiplaneError as exc:
        return PromotionPreview(gates, None, diff_error=exc.message)
    except (GitError, RenderError) as exc:  # git or a renderer said no: told, not raised
        return PromotionPreview(gates, None, diff_error=str(exc))
    return PromotionPreview(gates, tuple(changes))


__all__ = ["PromotionPreview", "preview_promotion"]
