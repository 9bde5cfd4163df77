"""Files that are not UTF-8 text get a located problem from every reader, never a traceback."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from shiplane.api.server import ServeError, load_project_config
from shiplane.config import ConfigError, load_project, load_project_text

VALID = (Path(__file__).parent / "valid" / "minimal.yaml").read_bytes()
assert b"project: tiny\n" in VALID


def _variant(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "shiplane.yaml"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "line", "column", "words"),
    [
        (VALID.replace(b"project: tiny", b"project: ti\x00ny"), 2, 12, "NUL byte"),
        (VALID.replace(b"project: tiny", b"project: caf\xe9"), 2, 13, "not UTF-8 text: byte 0xe9"),
        (VALID.replace(b"project: tiny", b"project: \xc3\xa9t\xff"), 2, 12, "byte 0xff"),
        (codecs.BOM_UTF16_LE + VALID.decode().encode("utf-16-le"), 1, 1, "UTF-16"),
        (VALID.replace(b"project: tiny", b"project: a\x07b"), 2, 11, "U+0007"),
    ],
)
def test_not_text_is_a_located_problem(
    tmp_path: Path, data: bytes, line: int, column: int, words: str
) -> None:
    path = _variant(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_project(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.column) == (line, column), problem
    assert words in problem.message
    with pytest.raises(ServeError, match=f"{path}:{line}:{column}"):
        load_project_config(path)


def test_a_utf8_byte_order_mark_is_allowed_and_positions_stay_right(tmp_path: Path) -> None:
    assert load_project(_variant(tmp_path, codecs.BOM_UTF8 + VALID)).project == "tiny"
    broken = codecs.BOM_UTF8 + VALID.replace(b"project: tiny", b"project: Tiny!")
    with pytest.raises(ConfigError) as info:
        load_project(_variant(tmp_path, broken))
    assert [(p.line, p.column) for p in info.value.problems] == [(2, 10)]


def test_text_with_a_nul_is_a_problem_not_a_traceback() -> None:
    with pytest.raises(ConfigError, match="NUL byte"):
        load_project_text("apiVersion: shiplane/v1alpha1\nproject: x\0\n")
