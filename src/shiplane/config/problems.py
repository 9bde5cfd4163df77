"""Located configuration problems and the exception that carries them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

FieldPath = tuple[str | int, ...]

# Keys made of these characters read well unquoted in a dotted path.
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def format_path(path: FieldPath) -> str:
    """Render a field path the way users read it: `environments.prod-eu.after[0]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


@dataclass(frozen=True, order=True)
class ConfigProblem:
    """One problem in a configuration file.

    `line` and `column` are 1-based; both are 0 when the problem concerns the whole file
    (for example, it cannot be read). `field` is the dotted path, empty for the top level.
    """

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line == 0 else f"{self.file}:{self.line}:{self.column}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ConfigError(Exception):
    """A configuration file is invalid; `.problems` lists every problem found."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems: list[ConfigProblem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
