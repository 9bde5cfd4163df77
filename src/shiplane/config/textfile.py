"""Bytes of a configuration file to text, with a located problem for what is not text.

A file saved by the wrong editor (UTF-16, Latin-1), or a binary file given by mistake,
must get `file:line:col: message` like every other problem, never a traceback. A UTF-8
byte-order mark is allowed (YAML allows it) and dropped, so positions stay right.
"""

from __future__ import annotations

import codecs

from shiplane.config.problems import ConfigProblem

_UTF8_BOM = codecs.BOM_UTF8
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_SAVE_AS = "save it as UTF-8"


def _position(data: bytes, index: int) -> tuple[int, int]:
    """1-based line and column (in characters of the valid text before it) of byte `index`."""
    line = data.count(b"\n", 0, index) + 1
    start = data.rfind(b"\n", 0, index) + 1
    column = len(data[start:index].decode("utf-8", errors="replace")) + 1
    return line, column


def decode_text(data: bytes, filename: str) -> tuple[str | None, list[ConfigProblem]]:
    """The text of `data`, or None with the problems that make it not a text file."""
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            message = (
                f"the file is {name} text (it starts with a {name} byte-order mark); {_SAVE_AS}"
            )
            return None, [ConfigProblem(filename, 1, 1, "", message)]
    body = data[len(_UTF8_BOM) :] if data.startswith(_UTF8_BOM) else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _position(body, exc.start)
        message = f"not UTF-8 text: byte 0x{body[exc.start]:02x} cannot be decoded; {_SAVE_AS}"
        return None, [ConfigProblem(filename, line, column, "", message)]
    nul = text.find("\0")
    if nul >= 0:
        line, column = _position(body, len(text[:nul].encode("utf-8")))
        message = "a NUL byte: this looks like a binary file, not YAML text"
        return None, [ConfigProblem(filename, line, column, "", message)]
    return text, []
