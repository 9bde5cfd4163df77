"""The pure parts of pull-request promotions: the branch, the description, the wait."""

from __future__ import annotations

import pytest

from shiplane.domain.pull_request import (
    ArtifactChange,
    ForgeDuties,
    WaitStep,
    branch_name,
    describe_pull_request,
    duties_after,
    next_wait_step,
)


def test_each_promotion_proposes_on_a_branch_of_its_own() -> None:
    assert branch_name("prm-1") == "shiplane/prm-1"
    assert branch_name("prm-1") != branch_name("prm-10")


@pytest.mark.parametrize(
    ("state", "base_moved", "step"),
    [
        ("merged", False, WaitStep.SYNC),
        ("merged", True, WaitStep.SYNC),  # merged is merged, whatever the base did
        ("closed", False, WaitStep.ABORT),
        ("closed", True, WaitStep.ABORT),
        ("open", True, WaitStep.REBASE),
        ("open", False, WaitStep.WAIT),
    ],
)
def test_the_wait_moves_by_what_the_forge_says(
    state: str, base_moved: bool, step: WaitStep
) -> None:
    assert next_wait_step(state, base_moved=base_moved) is step


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown pull request state"):
        next_wait_step("draft", base_moved=False)


def body(**overrides: object) -> str:
    args: dict[str, object] = {
        "promotion_id": "prm-7",
        "environment": "prod",
        "release_id": "rel-abc",
        "release_alias": "1.4.2",
        "requested_by": "alice",
        "changes": [
            ArtifactChange("web", "r.example/web:1.4.1", "r.example/web:1.4.2"),
            ArtifactChange("api", "r.example/api:2.0", "r.example/api:2.0"),
            ArtifactChange("new", None, "r.example/new:1"),
        ],
        "gates": [
            {"gate": "approval", "outcome": "passed", "reason": "approved by bob"},
            {"gate": "window", "outcome": "passed", "reason": ""},
        ],
        "running_releases": ["1.4.1"],
        "link": "https://shiplane.example/ui/promotions/prm-7",
        "manifests": {"web": "Deployment/web, Service/web (2 objects, 1 new)"},
    }
    args.update(overrides)
    return describe_pull_request(**args).body  # type: ignore[arg-type]


def test_the_description_carries_release_diff_gates_and_link() -> None:
    text = body()
    assert "release **1.4.2 (rel-abc)** into **prod**, requested by alice" in text
    assert "| web | `r.example/web:1.4.1` | `r.example/web:1.4.2` |" in text
    assert "| api | `r.example/api:2.0` | `r.example/api:2.0` (unchanged) |" in text
    assert "| new | - | `r.example/new:1` |" in text  # nothing runs there yet
    assert "- approval: **passed** (approved by bob)" in text
    assert "- window: **passed**\n" in text
    assert "[prm-7](https://shiplane.example/ui/promotions/prm-7)" in text
    assert "Running now: release 1.4.1." in text
    assert "### Manifests\n\n- web: Deployment/web, Service/web (2 objects, 1 new)\n" in text


def test_without_a_public_url_the_description_names_the_command() -> None:
    text = body(link=None, gates=[])
    assert "`shiplane promotion explain prm-7`" in text
    assert "- none configured" in text


def test_table_cells_cannot_be_broken_by_names() -> None:
    text = body(changes=[ArtifactChange("w|eb", None, "r/x:1")], requested_by="eve\n# title")
    assert "| w\\|eb |" in text
    assert "\n# title" not in text


def test_the_title_names_apps_release_and_environment() -> None:
    text = describe_pull_request(
        promotion_id="prm-7",
        environment="prod",
        release_id="rel-abc",
        release_alias=None,
        requested_by="alice",
        changes=[ArtifactChange("web", None, "r/web:1")],
        gates=[],
    )
    assert text.title == "Promote web rel-abc to prod"


def test_duties_after_a_transition() -> None:
    merged = {"phase": "merged", "number": 3, "merge_commit": "m" * 40}
    assert duties_after("Verifying", "Succeeded", merged) == ForgeDuties(status="success")
    assert duties_after("Verifying", "Failed", merged) == ForgeDuties(status="failure")
    assert duties_after("Deploying", "Aborted", merged) == ForgeDuties(status="failure")
    # A failed rollback's Failed was reported when the promotion first failed.
    assert duties_after("RollingBack", "Failed", merged) == ForgeDuties()
    assert duties_after("Deploying", "Verifying", merged) == ForgeDuties()
    waiting = {"phase": "open", "number": 3}
    assert duties_after("Deploying", "Aborted", waiting) == ForgeDuties(close=3)
    closed = {"phase": "closed", "number": 3}
    assert duties_after("Deploying", "Aborted", closed) == ForgeDuties()
    assert duties_after("Deploying", "Aborted", None) == ForgeDuties()
