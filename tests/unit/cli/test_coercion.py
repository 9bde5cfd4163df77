"""The CLI's plain converters give what Typer's pydantic ones give: the same values and
the same error messages, for every kind of parameter the CLI uses; and every parameter of
every command has one (so no call imports pydantic)."""

from __future__ import annotations

import enum
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from typer import _coercion as typer_coercion
from typer._click import Context
from typer._click.exceptions import BadParameter

from shiplane.cli import coercion
from shiplane.cli.main import app, load
from shiplane.cli.registry import COMMANDS


class Colour(enum.Enum):
    red = "red"
    dark_blue = "dark-blue"


def _cli(
    text: str = typer.Option("x", "--text"),
    flag: bool = typer.Option(False, "--flag"),
    switch: bool = typer.Option(True, "--switch/--no-switch"),
    count: int = typer.Option(3, "--count"),
    page: int = typer.Option(50, "--page", min=1, max=500),
    ratio: float = typer.Option(1.5, "--ratio"),
    wait: float = typer.Option(3600, "--wait", min=1),
    colour: Colour = typer.Option(Colour.red, "--colour"),
    loose: Colour = typer.Option(Colour.red, "--loose", case_sensitive=False),
    file: Path = typer.Option(Path("."), "--file"),
    labels: list[str] = typer.Option([], "--label"),
    numbers: list[int] = typer.Option([], "--number"),
    pair: tuple[str, str] = typer.Option(("a", "b"), "--pair"),
) -> None:
    """A command with one parameter of each kind the CLI uses."""


def _command() -> Any:
    single = typer.Typer()
    single.command()(_cli)
    return typer.main.get_command(single)


NUMBERS = [
    "1", " 5 ", "+5", "-3", "0", "-0", "007", "1.0", "1.00", "00.000", "1.5", "1.", ".5",
    "1_000", "1__0", "_1", "1_", "1_0.0", "1.0_0", "1e3", "1E3", "5e-1", "1e", "e3", "0x10",
    "0b1", "1j", "inf", "-inf", "Infinity", "nan", "NaN", "", "  ", "abc", "1 000", "+-1",
    "\u0661\u0662", "\u00a05", "5\u2003", "\t7\n", "999999999999999999999999", "501", "500",
    3600, 50, 2.0, 2.5, True,
]  # fmt: skip
WORDS = [
    "red", "RED", "dark-blue", "Dark-Blue", "dark_blue", "blue", "", "true", "False", "yes",
    "On", "off", "T", "f", "1", "0", "2", "y ", " no", "nope", "  ", "/tmp", "-", "a b",
    "\x1b[31mred", Colour.red, True, False, 1, 0, 2, 1.0, 1.5,
]  # fmt: skip
LISTS: list[Any] = [["a", "b"], ("x",), [], ["1", "2"], ["1", "x"], "single", ["3.0"]]
PAIRS: list[Any] = [("a", "b"), ["a", "b"], ("a",), ("a", "b", "c"), "ab"]
CASES: dict[str, list[Any]] = {
    "text": WORDS + NUMBERS, "flag": WORDS, "switch": WORDS, "count": NUMBERS,
    "page": NUMBERS, "ratio": NUMBERS, "wait": NUMBERS, "colour": WORDS, "loose": WORDS,
    "file": [*WORDS, Path("x"), 3], "labels": LISTS, "numbers": LISTS, "pair": PAIRS,
}  # fmt: skip


def _outcome(runtime: Any, value: Any, param: Any, ctx: Context) -> tuple[str, Any]:
    try:
        result = runtime.coerce(value, param=param, ctx=ctx)
    except BadParameter as exc:
        return "error", exc.message
    if isinstance(result, float) and result != result:
        return "value", "nan"  # NaN is never equal to itself
    return "value", (type(result), result)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_kind_converts_exactly_like_typer(name: str) -> None:
    command = _command()
    param = next(p for p in command.params if p.name == name)
    ctx = Context(command)
    ours = coercion.build_runtime_param(param.type_descriptor)
    theirs = typer_coercion.build_runtime_param(param.type_descriptor)
    assert isinstance(ours, coercion.PlainRuntimeParam), name
    assert not isinstance(theirs, coercion.PlainRuntimeParam)
    for value in [*CASES[name], None]:
        expected = _outcome(theirs, value, param, ctx)
        assert _outcome(ours, value, param, ctx) == expected, (name, value)


def _params(command: Any) -> list[Any]:
    found = list(command.params)
    for sub in (getattr(command, "commands", None) or {}).values():
        found += _params(sub)
    return found


def test_every_parameter_of_every_command_has_a_plain_converter() -> None:
    root = typer.main.get_command(app)
    params = _params(root) + [p for n, s in COMMANDS.items() for p in _params(load(s, n))]
    assert len(params) > 150
    for param in params:
        runtime = coercion.build_runtime_param(param.type_descriptor)
        assert isinstance(runtime, coercion.PlainRuntimeParam), (param.name, param.type_descriptor)


def test_typer_builds_the_plain_converters_once_installed() -> None:
    coercion.install()  # shiplane.cli.main did already; installing twice changes nothing
    coercion.install()
    command = _command()
    page = next(p for p in command.params if p.name == "page")
    assert isinstance(page.get_runtime_param(), coercion.PlainRuntimeParam)
    assert page.process_value(Context(command), "7") == 7


def test_a_type_without_a_plain_converter_is_left_to_typer() -> None:
    def dated(when: datetime = typer.Option(..., "--when")) -> None:
        """A parameter type the CLI does not use."""

    single = typer.Typer()
    single.command()(dated)
    command = typer.main.get_command(single)
    param = command.params[0]
    runtime = coercion.build_runtime_param(param.type_descriptor)
    assert not isinstance(runtime, coercion.PlainRuntimeParam)
    assert runtime.coerce("2026-05-01T12:00:00", param, Context(command)) == datetime(
        2026, 5, 1, 12
    )
