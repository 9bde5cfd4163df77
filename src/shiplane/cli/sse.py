"""Server-sent events as the CLI reads them (GET /api/v1/events): pure parsing, no I/O."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

SUCCEEDED = "Succeeded"
FINISHED = frozenset({"Succeeded", "Failed", "Aborted", "Superseded", "RolledBack"})


@dataclass(frozen=True)
class Frame:
    """One dispatched frame: an event (`data` decoded from JSON) or, with `comment`, a
    comment line (the stream's greeting and keep-alives), which proves it is alive."""

    id: str | None = None
    event: str | None = None
    data: dict[str, Any] | None = None
    comment: str | None = None


def frames(lines: Iterable[str]) -> Iterator[Frame]:
    """Frames from the stream's lines: fields until a blank line; `:` starts a comment."""
    fields: dict[str, str] = {}
    data: list[str] = []
    for line in lines:
        if not line:
            if data or fields:
                yield _frame(fields, data)
            fields, data = {}, []
        elif line.startswith(":"):
            yield Frame(comment=line[1:].strip())
        else:
            name, _sep, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            else:
                fields[name] = value
    if data or fields:
        yield _frame(fields, data)


def _frame(fields: dict[str, str], data: list[str]) -> Frame:
    text = "\n".join(data)
    try:
        decoded = json.loads(text) if text else None
    except ValueError:
        decoded = {"text": text}
    return Frame(
        id=fields.get("id"),
        event=fields.get("event"),
        data=decoded if isinstance(decoded, dict) else {"value": decoded},
    )


def exit_code(state: str) -> int:
    """How `promote --wait` and `promotion watch` end: 0 only when it succeeded."""
    return 0 if state == SUCCEEDED else 1
