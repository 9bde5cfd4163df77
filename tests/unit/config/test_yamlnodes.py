from __future__ import annotations

from shiplane.config.yamlnodes import Position, parse_yaml


def test_positions_of_keys_and_values_are_one_based() -> None:
    doc = parse_yaml("a:\n  b: [x, y]\n  c: {d: 1}\n")
    assert doc.problems == []
    assert doc.data == {"a": {"b": ["x", "y"], "c": {"d": 1}}}
    assert doc.keys[("a", "b")] == Position(2, 3)
    assert doc.values[("a", "b", 1)] == Position(2, 10)
    assert doc.values[("a", "c", "d")] == Position(3, 10)


def test_scalars_follow_yaml_1_2_core_schema() -> None:
    # YAML 1.1 would give 1020, a date, False and 8 here.
    doc = parse_yaml("t: 17:00\nd: 2026-12-20\nn: no\no: 010\nf: 0.5\nb: true\nz: ~\ni: 42\n")
    assert doc.data == {
        "t": "17:00",
        "d": "2026-12-20",
        "n": "no",
        "o": "010",
        "f": 0.5,
        "b": True,
        "z": None,
        "i": 42,
    }


def test_keys_stay_as_written() -> None:
    assert parse_yaml("1: a\ntrue: b\n").data == {"1": "a", "true": "b"}


def test_duplicate_keys_are_problems_and_the_first_value_wins() -> None:
    doc = parse_yaml("a: 1\nb: 2\na: 3\n")
    assert doc.data == {"a": 1, "b": 2}
    assert [(p.position, p.path, p.message) for p in doc.problems] == [
        (Position(3, 1), ("a",), "duplicate key 'a' (first defined at line 1)")
    ]


def test_aliases_are_expanded_and_self_reference_is_reported() -> None:
    assert parse_yaml("a: &x [1, 2]\nb: *x\n").data == {"a": [1, 2], "b": [1, 2]}
    doc = parse_yaml("a: &x [*x]\n")
    assert doc.problems[0].message == "an alias refers to a value that contains itself"


def test_syntax_errors_report_their_line() -> None:
    doc = parse_yaml("a: 1\nb: [1, 2\nc: 3\n")
    assert doc.data is None
    assert len(doc.problems) == 1
    assert doc.problems[0].position.line == 3
    assert doc.problems[0].message.startswith("invalid YAML: ")
    assert "(while parsing a flow sequence at line 2)" in doc.problems[0].message


def test_empty_and_multi_document_input() -> None:
    assert parse_yaml("").problems[0].message == "the file is empty"
    doc = parse_yaml("a: 1\n---\nb: 2\n")
    assert doc.data is None
    assert doc.problems[0].position.line == 2


def test_unknown_tags_are_problems_at_the_value() -> None:
    doc = parse_yaml("a: !secret x\nb: 2\n")
    assert doc.data == {"a": None, "b": 2}
    assert doc.problems[0].position == Position(1, 4)
    assert "!secret" in doc.problems[0].message


def test_position_falls_back_to_nearest_ancestor() -> None:
    doc = parse_yaml("a:\n  b: 1\n")
    assert doc.position(("a", "b", "missing")) == Position(2, 6)
    assert doc.position(("a", "b", "missing"), prefer_key=True) == Position(2, 3)
    assert doc.position(("nothing",)) == Position(1, 1)
