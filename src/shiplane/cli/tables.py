"""Plain kubectl-style tables: pure formatting, no I/O.

Columns are left-aligned and separated by three spaces, with an upper-case header line
(left out with `--no-headers`), so `awk`, `cut` and `column` read them. Ids are never
cut: a table shows the shortest prefix that is unique among its rows (at least a
minimum length, like `git log --oneline`), and every command accepts such a prefix.
Only free-text columns shrink to fit the width of the terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GAP = "   "
ELLIPSIS = "…"
MIN_FLEX_WIDTH = 8

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Column:
    """One column: `value` turns a row into its cell.

    `wide` columns appear only in `-o wide`; `flex` columns (free text) are shortened
    with an ellipsis when the table would be wider than the terminal.
    """

    header: str
    value: Callable[[Row], str]
    wide: bool = False
    flex: bool = False


def render_table(
    rows: Sequence[Row],
    columns: Sequence[Column],
    *,
    wide: bool = False,
    headers: bool = True,
    width: int | None = None,
) -> str:
    """The table as text, without a trailing newline. `width` None: no limit."""
    shown = [c for c in columns if wide or not c.wide]
    cells = [[_one_line(c.value(row)) for c in shown] for row in rows]
    head = [c.header for c in shown]
    widths = [
        max([len(head[i]) if headers else 0] + [len(r[i]) for r in cells])
        for i in range(len(shown))
    ]
    if width is not None and not wide:
        widths = _fit(widths, [c.flex for c in shown], [len(h) for h in head], width)
    lines = [head] if headers else []
    lines += cells
    return "\n".join(_line(line, widths) for line in lines)


def _one_line(text: str) -> str:
    return " ".join(text.split()) if ("\n" in text or "\t" in text) else text


def _fit(widths: list[int], flex: list[bool], heads: list[int], limit: int) -> list[int]:
    """Shrink flexible columns, widest first, until the line fits `limit` (when it can)."""
    widths = list(widths)
    total = sum(widths) + len(GAP) * (len(widths) - 1)
    while total > limit:
        candidates = [
            i for i, f in enumerate(flex) if f and widths[i] > max(MIN_FLEX_WIDTH, heads[i])
        ]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        floor = max(MIN_FLEX_WIDTH, heads[widest])
        cut = min(total - limit, widths[widest] - floor)
        widths[widest] -= cut
        total -= cut
    return widths


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    parts = []
    for text, size in zip(cells, widths, strict=True):
        if len(text) > size:
            text = text[: max(size - 1, 0)] + ELLIPSIS
        parts.append(text.ljust(size))
    return GAP.join(parts).rstrip()


def short_ids(ids: Sequence[str], *, type_prefix: str, minimum: int) -> dict[str, str]:
    """Each id -> its shortest prefix that no other id in `ids` shares, at least `minimum`
    characters after the type prefix (`rel-`, `prm-`), which is left out as git leaves
    out `commit`: `rel-3f9c2a41d0e5...` shows as `3f9c2a41`."""
    result: dict[str, str] = {}
    unique = sorted(set(ids))
    for index, full in enumerate(unique):
        body_start = len(type_prefix) if full.startswith(type_prefix) else 0
        length = body_start + minimum
        for neighbour in (unique[index - 1] if index else None, _at(unique, index + 1)):
            if neighbour is not None:
                length = max(length, _common(full, neighbour) + 1)
        result[full] = full[body_start : min(length, len(full))]
    return result


def _at(items: Sequence[str], index: int) -> str | None:
    return items[index] if index < len(items) else None


def _common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Each larger unit of AGE: (name, size in the smaller unit, below how many it keeps the
# smaller unit as a remainder, below how many it stands alone; past that, the next unit).
_AGE_UNITS = (("m", 60, 10, 180), ("h", 60, 8, 48), ("d", 24, 8, 730))


def age(value: object, now: datetime) -> str:
    """kubectl's AGE: `45s`, `12m`, `5h`, `3d`, `2y` (two units while that stays short)."""
    moment = parse_time(value)
    if moment is None:
        return "-"
    amount = max(int((now - moment).total_seconds()), 0)
    if amount < 120:
        return f"{amount}s"
    smaller = "s"
    for unit, size, with_rest_below, alone_below in _AGE_UNITS:
        whole, rest = divmod(amount, size)
        if whole < with_rest_below:
            return f"{whole}{unit}{rest}{smaller}" if rest else f"{whole}{unit}"
        if whole < alone_below:
            return f"{whole}{unit}"
        amount, smaller = whole, unit
    return f"{amount // 365}y"


def absolute(value: object) -> str:
    """An absolute UTC time for `-o wide`: `2026-05-01T12:00:00Z`."""
    moment = parse_time(value)
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
