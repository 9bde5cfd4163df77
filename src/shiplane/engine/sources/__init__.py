"""The artifact-source service: polls each source on its interval (jittered), refreshes
on request (webhook receivers, the API), records what it found, and assembles releases
(engine/sources/service.py). It implements `engine.sources_port.SourceRefresher`."""

from shiplane.engine.sources.service import SourceService

__all__ = ["SourceService"]
