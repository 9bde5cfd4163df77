"""A deploy that finishes while the server shuts down must not start a new cluster watch:
one started after the drift controller stopped was never stopped, and the process kept
retrying it instead of exiting (a graceful stop that needed SIGKILL)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from shiplane.config import ProjectConfig
from shiplane.engine.clusters import ClusterHandle
from shiplane.engine.drift import DriftController
from shiplane.store.db import Database


class _UnusableHandle:
    """A cluster handle whose every use fails: after stop() nothing may touch it."""

    name = "nonprod"

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(f"the stopped drift controller used the cluster ({attribute})")


def test_on_applied_after_stop_starts_no_watch() -> None:
    controller = DriftController(cast(Database, None), cast(ProjectConfig, None))

    async def scenario() -> None:
        await controller.stop()
        handle = cast(ClusterHandle, _UnusableHandle())
        await controller.on_applied("dev", "web", handle, [{"kind": "ConfigMap"}], "abc")

    asyncio.run(scenario())
    assert not controller.watching("nonprod")
