from __future__ import annotations

from shiplane.config.graph import find_cycles, topological_order
from shiplane.config.references import check_references


def test_topological_order_ties_keep_declaration_order() -> None:
    nodes = ["prod-us", "dev", "prod-eu", "staging"]
    before = {"prod-us": ["staging"], "prod-eu": ["staging"], "staging": ["dev"]}
    assert topological_order(nodes, before) == ["dev", "staging", "prod-us", "prod-eu"]


def test_topological_order_ignores_unknown_names_and_drops_cycles() -> None:
    assert topological_order(["a", "b"], {"a": ["ghost"]}) == ["a", "b"]
    assert topological_order(["a", "b", "c"], {"a": ["b"], "b": ["a"]}) == ["c"]


def test_cycles_start_at_the_first_declared_node_and_are_not_repeated() -> None:
    nodes = ["x", "c", "a", "b"]
    edges = {"a": ["b"], "b": ["c"], "c": ["a"], "x": ["x"]}
    assert find_cycles(nodes, edges) == [["x"], ["c", "a", "b"]]


def test_no_cycles_in_a_diamond() -> None:
    edges = {"dev": ["a", "b"], "a": ["prod"], "b": ["prod"]}
    assert find_cycles(["dev", "a", "b", "prod"], edges) == []


def test_references_tolerate_malformed_sections() -> None:
    data = {
        "environments": {"dev": None, "qa": {"after": "dev", "verify": "x", "cluster": 3}},
        "apps": ["not", "a", "mapping"],
        "conditions": {"c": {"environments": [1, "ghost"]}},
    }
    problems = check_references(data)
    assert [(p.path, p.message) for p in problems] == [
        (
            ("conditions", "c", "environments", 1),
            "environment 'ghost' in conditions.c.environments is not defined; "
            "defined environments: dev, qa",
        )
    ]


def test_reference_with_no_definitions_says_so() -> None:
    data = {"environments": {"dev": {"cluster": "k8s"}}}
    [problem] = check_references(data)
    assert problem.message == (
        "cluster 'k8s' in environments.dev.cluster is not defined; no clusters are defined"
    )


def test_references_into_a_malformed_section_are_not_reported() -> None:
    # The model reports "expected a mapping" for `clusters`; "not defined" on top of
    # that would only be noise.
    data = {"clusters": ["nonprod"], "environments": {"dev": {"cluster": "nonprod"}}}
    assert check_references(data) == []
