"""answers_live: when a dry-run's answer shows that an apply would change nothing."""

from __future__ import annotations

import copy
from typing import Any

from shiplane.kube.watch_objects import answers_live, compact


def live() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "web",
            "namespace": "dev",
            "resourceVersion": "41",
            "labels": {"app.kubernetes.io/managed-by": "shiplane"},
            "managedFields": [
                {
                    "manager": "shiplane",
                    "operation": "Apply",
                    "time": "2026-12-06T01:00:00Z",
                    "fieldsV1": {"f:data": {"f:greeting": {}}},
                },
                {
                    "manager": "kubelet",
                    "operation": "Update",
                    "subresource": "status",
                    "fieldsV1": {"f:status": {}},
                },
            ],
        },
        "data": {"greeting": "hello"},
    }


def test_the_live_object_itself_is_unchanged_also_against_the_compact_cache() -> None:
    cached = compact(live())  # as the watch cache keeps it
    assert answers_live(live(), cached)
    assert answers_live(live(), live())


def test_a_different_content_or_version_is_a_change() -> None:
    changed = live()
    changed["data"]["greeting"] = "bye"
    assert not answers_live(changed, compact(live()))
    newer = live()
    newer["metadata"]["resourceVersion"] = "42"
    assert not answers_live(newer, compact(live()))  # the cache lags: send it
    relabelled = live()
    relabelled["metadata"]["labels"]["extra"] = "x"
    assert not answers_live(relabelled, compact(live()))


def test_nothing_cached_or_no_version_means_send_it() -> None:
    assert not answers_live(live(), None)
    unversioned = live()
    del unversioned["metadata"]["resourceVersion"]
    assert not answers_live(unversioned, copy.deepcopy(unversioned))


def test_the_inputs_are_not_changed() -> None:
    answer, cached = live(), live()
    answers_live(answer, cached)
    assert answer == live() and cached == live()
