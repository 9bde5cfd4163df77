"""`receivers` in shiplane.yaml: secrets only by reference, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.config import ConfigError, SecretNotSetError, load_project_text
from shiplane.config.models import ReceiverConfig
from tests.support.api_project import PROJECT_YAML


def problems(extra: str) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_project_text(PROJECT_YAML + extra)
    return [f"{p.line}:{p.field}: {p.message}" for p in error.value.problems]


def test_a_receiver_loads_with_its_defaults() -> None:
    project = load_project_text(
        PROJECT_YAML + "receivers:\n  registry: {type: distribution, secretEnv: HOOK_SECRET}\n"
    )
    receiver = project.receivers["registry"]
    assert receiver.type == "distribution"
    assert receiver.replay_window == 3600
    assert receiver.max_body_bytes == 1024 * 1024
    assert receiver.sources == ()


def test_a_secret_written_in_the_file_is_refused_where_it_is() -> None:
    found = problems("receivers:\n  ci:\n    type: generic\n    secret: hunter2hunter2hunter2\n")
    assert len(found) == 1
    ci_line = PROJECT_YAML.count("\n") + 2  # the line of `ci:`, below `receivers:`
    assert found[0].startswith(f"{ci_line}:receivers.ci: ")
    assert "never written in shiplane.yaml" in found[0]
    assert "hunter2" not in found[0]


def test_exactly_one_secret_reference_and_an_absolute_file() -> None:
    neither = problems("receivers:\n  ci: {type: generic}\n")
    assert "exactly one of 'secretEnv'" in neither[0]
    both = problems("receivers:\n  ci: {type: generic, secretEnv: A, secretFile: /run/secrets/a}\n")
    assert "exactly one of 'secretEnv'" in both[0]
    relative = problems("receivers:\n  ci: {type: generic, secretFile: secrets/a}\n")
    assert "absolute path" in relative[0]


def test_an_unknown_type_suggests_the_nearest() -> None:
    found = problems("receivers:\n  ci: {type: githb, secretEnv: A}\n")
    assert "receivers.ci.type" in found[0] and "did you mean 'github'?" in found[0]


def test_the_allow_list_names_defined_sources() -> None:
    found = problems("receivers:\n  ci: {type: generic, secretEnv: A, sources: [web]}\n")
    assert any("receivers.ci.sources[0]: source 'web'" in f and "not defined" in f for f in found)


def test_replay_window_and_body_cap_are_bounded() -> None:
    found = problems(
        "receivers:\n  ci: {type: generic, secretEnv: A, replayWindow: 1m, maxBodyBytes: 10}\n"
    )
    assert any("replayWindow" in f for f in found)
    assert any("maxBodyBytes" in f for f in found)


def test_secret_values_from_env_and_file_never_show_the_secret(tmp_path: Path) -> None:
    by_env = ReceiverConfig(type="generic", secret_env="HOOK_SECRET")
    assert by_env.secret_value({"HOOK_SECRET": "abc"}) == "abc"
    with pytest.raises(SecretNotSetError, match="HOOK_SECRET"):
        by_env.secret_value({})
    secret_file = tmp_path / "secret"
    secret_file.write_text("  from-a-file\n")
    by_file = ReceiverConfig(type="generic", secret_file=str(secret_file))
    assert by_file.secret_value() == "from-a-file"
    secret_file.write_text("\n")
    with pytest.raises(SecretNotSetError, match="empty"):
        by_file.secret_value()
    missing = ReceiverConfig(type="generic", secret_file=str(tmp_path / "absent"))
    with pytest.raises(SecretNotSetError, match="cannot be read"):
        missing.secret_value()
