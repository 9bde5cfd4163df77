"""Broken files, each with the exact problems (text, line, column) it must produce.

Every `corpus/<name>.yaml` has a sidecar `corpus/<name>.expected` holding `str(ConfigError)`:
one `file:line:column: field: message` line per problem, sorted by position.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.config import ConfigError, load_project_text

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(CORPUS.glob("*.yaml"))


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 15
    for case in CASES:
        assert case.with_suffix(".expected").is_file(), f"{case.name} has no .expected file"


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_broken_file_reports_exactly_the_expected_problems(case: Path) -> None:
    expected = case.with_suffix(".expected").read_text().splitlines()
    with pytest.raises(ConfigError) as info:
        load_project_text(case.read_text(), case.name)
    assert str(info.value).splitlines() == expected
    # The structured problems carry the same facts as the text.
    assert [str(p) for p in info.value.problems] == expected


def test_every_reference_kind_is_covered_by_the_corpus() -> None:
    text = "\n".join(p.read_text() for p in CORPUS.glob("*.expected"))
    for needle in (
        "cluster 'non-prod' in environments.dev.cluster is not defined; did you mean 'nonprod'?",
        "environment 'prd' in environments.prod-eu.after is not defined; did you mean 'prod'?",
        "in environments.prod-us.after.any is not defined",
        "window 'busines-hours' in environments.prod-eu.windows is not defined",
        "check 'smoke-test' in environments.prod-eu.verify is not defined",
        "app 'paymnts' in apps.web.dependsOn is not defined; did you mean 'payments'?",
        "environment 'prod-ap' in conditions.main-only.environments is not defined",
        "the environment graph has a cycle: a -> b -> c -> a",
        "dependsOn has a cycle: web -> api -> web",
    ):
        assert needle in text


def test_several_problems_are_reported_together() -> None:
    case = CORPUS / "many_errors.yaml"
    with pytest.raises(ConfigError) as info:
        load_project_text(case.read_text(), case.name)
    fields = [p.field for p in info.value.problems]
    assert fields == [
        "environments.qa.soak",
        "environments.prod.after[0]",
        "environments.prod.approvals.allowRequestor",
        "apps.checkout.manifests.render",
        "checks.smoke.http.timeout",
        "windows.office.timezone",
    ]
    lines = [p.line for p in info.value.problems]
    assert lines == sorted(lines)
    assert all(p.file == "many_errors.yaml" and p.column >= 1 for p in info.value.problems)
