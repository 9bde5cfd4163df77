"""KeyedLocks: one key at a time, different keys in parallel, no deadlock on overlaps."""

from __future__ import annotations

import anyio
import anyio.lowlevel

from shiplane.engine.locks import KeyedLocks


def test_one_key_serialises_and_other_keys_run_alongside() -> None:
    locks: KeyedLocks[tuple[str, str]] = KeyedLocks()
    order: list[str] = []

    async def work(key: tuple[str, str], name: str, gate: anyio.Event) -> None:
        async with locks.hold(key):
            order.append(f"{name} in")
            await gate.wait()
            order.append(f"{name} out")

    async def main() -> None:
        first, second, other = anyio.Event(), anyio.Event(), anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(work, ("qa", "web"), "a", first)
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(work, ("qa", "web"), "b", second)
            tg.start_soon(work, ("qa", "api"), "c", other)
            await anyio.wait_all_tasks_blocked()
            assert order == ["a in", "c in"]  # b waits for a; c has its own key
            assert locks.locked(("qa", "web")) and not locks.locked(("prod", "web"))
            first.set()
            other.set()
            second.set()
        assert order.index("a out") < order.index("b in")

    anyio.run(main)
    assert locks.lock(("qa", "web")) is locks.lock(("qa", "web"))


def test_overlapping_sets_of_keys_do_not_deadlock() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    held: list[tuple[str, ...]] = []

    async def work(*keys: str) -> None:
        async with locks.hold(*keys):
            held.append(keys)
            await anyio.lowlevel.checkpoint()

    async def main() -> None:
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(work, "web", "api", "web")
                    tg.start_soon(work, "api", "web")

    anyio.run(main)
    assert len(held) == 40
