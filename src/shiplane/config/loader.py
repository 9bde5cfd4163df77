"""Load `shiplane.yaml`: parse, validate, resolve references, report every problem."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from shiplane.config.errors import translate
from shiplane.config.models import ProjectConfig
from shiplane.config.problems import ConfigError, ConfigProblem, format_path
from shiplane.config.references import check_references
from shiplane.config.textfile import decode_text
from shiplane.config.yamlnodes import parse_yaml
from shiplane.domain.suggest import describe

_TOP_LEVEL = "apiVersion, project, clusters, environments and apps"


def load_project(path: Path | str) -> ProjectConfig:
    """Read and validate a project file; raise ConfigError listing every problem.

    An unreadable file is a ConfigError too (with line 0), so callers handle one
    exception type.
    """
    filename = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(filename, 0, 0, "", "file not found")]) from None
    except OSError as exc:
        message = f"cannot read: {exc.strerror or exc}"
        raise ConfigError([ConfigProblem(filename, 0, 0, "", message)]) from None
    return load_project_bytes(data, filename)


def load_project_bytes(data: bytes, filename: str = "shiplane.yaml") -> ProjectConfig:
    """Validate the bytes of a project file (as read from disk or from git): a byte-order
    mark, NUL bytes or invalid UTF-8 are located problems like any other."""
    text, problems = decode_text(data, filename)
    if text is None:
        raise ConfigError(problems)
    return load_project_text(text, filename)


def load_project_text(text: str, filename: str = "shiplane.yaml") -> ProjectConfig:
    """Validate project text; `filename` is only used in problem locations."""
    doc = parse_yaml(text)
    problems = [
        ConfigProblem(filename, p.position.line, p.position.column, format_path(p.path), p.message)
        for p in doc.problems
    ]
    if doc.data is None:
        if not doc.problems:  # pragma: no cover - parse_yaml always explains a None
            problems.append(ConfigProblem(filename, 1, 1, "", "the file is empty"))
        raise ConfigError(_with_hint(problems))
    if not isinstance(doc.data, dict):
        pos = doc.position(())
        message = f"the top level must be a mapping with {_TOP_LEVEL}, got {describe(doc.data)}"
        raise ConfigError([*problems, ConfigProblem(filename, pos.line, pos.column, "", message)])

    config: ProjectConfig | None = None
    try:
        # The file uses the YAML names only: `auto_promote` is an unknown key there, even
        # though Python callers may build models with field names.
        config = ProjectConfig.model_validate(doc.data, by_alias=True, by_name=False)
    except ValidationError as exc:
        for m in translate(exc.errors(), doc, ProjectConfig):
            problems.append(
                ConfigProblem(
                    filename, m.position.line, m.position.column, format_path(m.path), m.message
                )
            )
    for ref in check_references(doc.data):
        pos = doc.position(ref.path)
        problems.append(
            ConfigProblem(filename, pos.line, pos.column, format_path(ref.path), ref.message)
        )
    if problems or config is None:
        raise ConfigError(sorted(set(problems)))
    return config


def _with_hint(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    # An empty file is the one case where saying what belongs in it helps most.
    return [
        ConfigProblem(p.file, p.line, p.column, p.field, f"{p.message}; expected {_TOP_LEVEL}")
        if p.message == "the file is empty"
        else p
        for p in problems
    ]
