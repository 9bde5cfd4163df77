"""What a deploy may leave unsent: an object in effect exactly as this process sent it."""

from __future__ import annotations

from typing import Any

from shiplane.engine.deploy.known_applied import KnownApplied, sent_digest
from shiplane.kube.refs import ObjRef

CM = ObjRef("v1", "ConfigMap", "dev", "web")
NS = ObjRef("v1", "Namespace", None, "dev")


def live(version: str) -> dict[str, Any]:
    return {"metadata": {"resourceVersion": version}}


def test_an_object_is_in_effect_while_body_and_version_are_those_remembered() -> None:
    known = KnownApplied()
    body = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}}
    digest = sent_digest(body, "dev", "web")
    known.remember("c1", CM, digest, "41")
    assert known.in_effect("c1", CM, digest, live("41"))
    # Someone wrote it since; another body; another cluster; not in the watch cache.
    assert not known.in_effect("c1", CM, digest, live("42"))
    other = sent_digest({**body, "data": {"a": "2"}}, "dev", "web")
    assert not known.in_effect("c1", CM, other, live("41"))
    assert not known.in_effect("c2", CM, digest, live("41"))
    assert not known.in_effect("c1", CM, digest, None)


def test_the_owner_is_part_of_what_was_sent_and_key_order_is_not() -> None:
    a = {"kind": "ConfigMap", "apiVersion": "v1", "data": {"x": "1", "y": "2"}}
    b = {"apiVersion": "v1", "data": {"y": "2", "x": "1"}, "kind": "ConfigMap"}
    assert sent_digest(a, "dev", "web") == sent_digest(b, "dev", "web")
    assert sent_digest(a, "dev", "web") != sent_digest(a, "dev", "api")
    assert sent_digest(a, "dev", "web") != sent_digest(a, "qa", "web")


def test_an_unknown_version_forgets_and_namespaces_are_always_sent() -> None:
    known = KnownApplied()
    known.remember("c1", CM, "d", "7")
    known.remember("c1", CM, "d", None)  # applied, but no version to compare with later
    assert not known.in_effect("c1", CM, "d", live("7"))
    known.remember("c1", NS, "d", "9")
    assert not known.in_effect("c1", NS, "d", live("9"))


def test_memory_is_bounded_oldest_first() -> None:
    known = KnownApplied(limit=2)
    refs = [ObjRef("v1", "ConfigMap", "dev", f"c{i}") for i in range(3)]
    for ref in refs:
        known.remember("c1", ref, "d", "1")
    assert len(known) == 2
    assert not known.in_effect("c1", refs[0], "d", live("1"))
    assert known.in_effect("c1", refs[2], "d", live("1"))
