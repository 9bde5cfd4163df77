"""Async tests (`@pytest.mark.anyio`) run on asyncio only: Shiplane's engine is asyncio,
and anyio's default would also run them on every other installed backend."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
