"""AsyncSessionStore against DynamoDB Local: every method as an awaitable."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import inspect
import sys
import threading
import time
from typing import Any, Callable

import pytest
from connect_dynamodb import (
    AsyncSessionStore,
    ConflictError,
    InvalidArgumentError,
    ReapReport,
    SessionStore,
    StoredSession,
    _native,
)

UTC = dt.timezone.utc


async def test_get_set_round_trip(async_store: AsyncSessionStore) -> None:
    assert await async_store.get("s") is None
    expires = dt.datetime.now(UTC) + dt.timedelta(minutes=10)
    assert await async_store.set("s", '{"a": [1, 2]}', expires) == "written"
    got = await async_store.get("s")
    assert isinstance(got, StoredSession)
    assert got.data == '{"a": [1, 2]}'
    assert 0 <= (got.expires - expires).total_seconds() < 1


async def test_expired_sessions_are_none(async_store: AsyncSessionStore) -> None:
    await async_store.set("old", "{}", time.time() - 1)
    assert await async_store.get("old") is None


async def test_conditional_writes(async_store: AsyncSessionStore) -> None:
    await async_store.set("s", '{"v": 1}', if_absent=True)
    with pytest.raises(ConflictError):
        await async_store.set("s", '{"v": 2}', if_absent=True)
    with pytest.raises(ConflictError):
        await async_store.set("other", "{}", if_present=True)
    await async_store.set("s", '{"v": 3}', if_present=True, attributes={"user": "ada"})
    got = await async_store.get("s")
    assert got is not None and got.data == '{"v": 3}'


async def test_touch_outcomes(async_store_factory: Callable[..., AsyncSessionStore]) -> None:
    store = async_store_factory(touch_after=dt.timedelta(minutes=10))
    at = time.time() + 3600
    await store.set("s", "{}", at)
    assert await store.touch("s", at + 5) == "throttled"
    assert await store.touch("s", at + 7200) == "updated"
    assert await store.touch("missing") == "not_found"
    got = await store.get("s")
    assert got is not None and 0 <= got.expires.timestamp() - (at + 7200) < 1


async def test_a_throttled_touch_is_decided_at_once_and_sends_nothing(
    async_store_factory: Callable[..., AsyncSessionStore], proxy: Any
) -> None:
    store = async_store_factory(endpoint=proxy.url, touch_after=dt.timedelta(minutes=10))
    at = time.time() + 3600
    await store.set("s", "{}", at)
    proxy.reset()
    future = _native.AsyncSessionStore.touch(store, "s", at + 5)
    assert future.done() and future.result() == "throttled"
    result = await store.touch_result("s", at + 5)
    assert result.outcome == "throttled" and result.expires is not None
    assert proxy.total() == 0
    assert await store.touch("s", at + 7200) == "updated"
    assert proxy.snapshot() == {"UpdateItem": 1}


async def test_destroy_ids_all_length_clear_reap(async_store: AsyncSessionStore) -> None:
    for i in range(4):
        await async_store.set(f"s{i}", f'{{"i": {i}}}')
    await async_store.set("dead", "{}", time.time() - 5)
    await async_store.destroy("s0")
    await async_store.destroy("s0")
    assert sorted(await async_store.ids()) == ["s1", "s2", "s3"]
    everything = await async_store.all()
    assert sorted(everything) == ["s1", "s2", "s3"]
    assert everything["s2"].data == '{"i": 2}'
    assert await async_store.length() == 3
    reaped = await async_store.reap()
    assert isinstance(reaped, ReapReport) and reaped.deleted == 1
    cleared = await async_store.clear()
    assert cleared.deleted == 4  # the three sessions and the tombstone s0's destroy left
    assert await async_store.length() == 0


async def test_table_methods(endpoint: str, table_name: str) -> None:
    async with AsyncSessionStore(table_name, endpoint=endpoint) as store:
        assert await store.table_exists() is False
        assert await store.create_table() is True
        assert await store.create_table() is False
        assert await store.table_exists() is True
        assert await store.verify_table() == []


async def test_create_table_on_first_use(endpoint: str, table_name: str) -> None:
    async with AsyncSessionStore(table_name, endpoint=endpoint, create_table=True) as store:
        await asyncio.gather(*(store.set(f"s{i}", "{}") for i in range(5)))
        assert await store.length() == 5


async def test_many_concurrent_calls(async_store: AsyncSessionStore) -> None:
    n = 100
    await asyncio.gather(*(async_store.set(f"s{i}", f'{{"i": {i}}}') for i in range(n)))
    got = await asyncio.gather(*(async_store.get(f"s{i}") for i in range(n)))
    assert [g.data if g else None for g in got] == [f'{{"i": {i}}}' for i in range(n)]


async def test_the_reaper_methods(async_store: AsyncSessionStore) -> None:
    assert async_store.reaper_running is False
    await async_store.start_reaper(60)
    assert async_store.reaper_running is True
    await async_store.stop_reaper()
    assert async_store.reaper_running is False
    with pytest.raises(InvalidArgumentError):
        await async_store.start_reaper()


async def test_aclose_and_async_with(
    async_store_factory: Callable[..., AsyncSessionStore],
) -> None:
    store = async_store_factory(reap_interval=60)
    assert store.reaper_running is True
    async with store as entered:
        assert entered is store
        await store.set("s", "{}")
    assert store.closed is True
    assert store.reaper_running is False
    with pytest.raises(InvalidArgumentError, match="closed"):
        await store.get("s")
    await store.aclose()
    other = async_store_factory()
    other.close()
    assert other.closed


async def test_one_store_on_several_event_loops_in_threads(
    async_store: AsyncSessionStore,
) -> None:
    def run_in_a_new_loop(i: int) -> Any:
        async def work() -> Any:
            await async_store.set(f"t{i}", f'{{"t": {i}}}')
            return await async_store.get(f"t{i}")

        return asyncio.run(work())

    loop = asyncio.get_running_loop()
    results = await asyncio.wait_for(
        asyncio.gather(*(loop.run_in_executor(None, run_in_a_new_loop, i) for i in range(4))),
        timeout=60,
    )
    assert [r.data for r in results] == [f'{{"t": {i}}}' for i in range(4)]


def test_a_thread_that_runs_one_loop_after_another(async_store: AsyncSessionStore) -> None:
    # Each loop gets its own mailbox: a result never goes to a loop that has ended.
    for i in range(3):

        async def work(i: int = i) -> Any:
            await async_store.set(f"l{i}", f'{{"l": {i}}}')
            return await async_store.get(f"l{i}")

        got = asyncio.run(work())
        assert got is not None and got.data == f'{{"l": {i}}}'


async def test_results_posted_while_the_loop_is_blocked_all_arrive(
    async_store: AsyncSessionStore, store_factory: Callable[..., SessionStore]
) -> None:
    blocking = store_factory()
    await async_store.set("busy", '{"b": 1}')
    calls = [asyncio.ensure_future(async_store.get("busy")) for _ in range(50)]
    await asyncio.sleep(0)
    # The loop's thread makes blocking calls (as a careless view would) while the answers of
    # the awaited ones pile up in its mailbox; one wake-up then delivers them all.
    for _ in range(20):
        assert blocking.get("busy") is not None
    got = await asyncio.wait_for(asyncio.gather(*calls), timeout=30)
    assert [g.data for g in got] == ['{"b": 1}'] * 50


def test_a_closed_loop_is_freed_with_answers_still_on_the_way(
    async_store: AsyncSessionStore,
) -> None:
    # Answers that reach a loop's mailbox after the loop closed keep neither the loop nor the
    # mailbox's socket alive.
    import gc
    import os
    import weakref

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    asyncio.run(async_store.__aenter__())  # the runtime is built
    before = open_fds()
    loop = asyncio.new_event_loop()

    async def start() -> list[Any]:
        # Network-free awaitables no one awaits: their answers arrive after the loop closed.
        return [_native.AsyncSessionStore.__aenter__(async_store) for _ in range(5)]

    pending = loop.run_until_complete(start())
    loop.close()
    freed = weakref.ref(loop)
    del loop, pending
    deadline = time.monotonic() + 10
    while (freed() is not None or open_fds() > before) and time.monotonic() < deadline:
        # A runtime thread that drops a Python object leaves it to the next native call.
        assert async_store.closed is False
        gc.collect()
        threading.Event().wait(0.01)
    assert freed() is None
    assert open_fds() <= before


def test_many_answers_to_many_loops(async_store: AsyncSessionStore) -> None:
    # Network-free awaitables (entering the store's `async with`), as fast as the runtime
    # answers: the race between posting an answer and the loop taking the mailbox's.
    def run_a_loop(_: int) -> int:
        async def work() -> int:
            done = 0
            for _ in range(200):
                entered = await asyncio.gather(
                    *(_native.AsyncSessionStore.__aenter__(async_store) for _ in range(10))
                )
                done += sum(e is async_store for e in entered)
            return done

        return asyncio.run(asyncio.wait_for(work(), timeout=60))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert list(pool.map(run_a_loop, range(4))) == [2000] * 4


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not run on Windows")
def test_calls_on_uvloop(
    endpoint: str,
    table_name: str,
    store_factory: Callable[..., SessionStore],
    silent_server: Any,
) -> None:
    # uvicorn runs Starlette and Litestar apps on uvloop when it is installed.
    import uvloop

    store_factory()  # creates the table

    async def work() -> None:
        store = AsyncSessionStore(table=table_name, endpoint=endpoint)
        try:
            await asyncio.gather(*(store.set(f"u{i}", f'{{"u": {i}}}') for i in range(20)))
            got = await asyncio.gather(*(store.get(f"u{i}") for i in range(20)))
            assert [g.data for g in got] == [f'{{"u": {i}}}' for i in range(20)]
            with pytest.raises(ConflictError):
                await store.set("u0", "{}", if_absent=True)
        finally:
            await store.aclose()
        await cancelling_a_call_abandons_its_request(silent_server)

    uvloop.run(work())


def test_the_methods_are_coroutines(async_store: AsyncSessionStore) -> None:
    for name in (
        "get",
        "set",
        "touch",
        "destroy",
        "user_sessions",
        "end_user_sessions",
        "ids",
        "all",
        "length",
        "clear",
        "reap",
        "table_exists",
        "create_table",
        "verify_table",
        "start_reaper",
        "stop_reaper",
        "aclose",
        "__aenter__",
        "__aexit__",
    ):
        assert inspect.iscoroutinefunction(getattr(AsyncSessionStore, name)), name
    # From plain code, as with any coroutine: nothing runs until a loop runs it.
    pending = async_store.set("plain", '{"p": 1}')
    assert inspect.iscoroutine(pending)
    assert asyncio.run(pending) == "written"
    got = asyncio.run(async_store.get("plain"))
    assert got is not None and got.data == '{"p": 1}'


async def test_tasks_of_the_methods(async_store: AsyncSessionStore) -> None:
    tasks = [asyncio.create_task(async_store.set(f"k{i}", "{}")) for i in range(3)]
    await asyncio.gather(*tasks)
    assert sorted(await asyncio.create_task(async_store.ids())) == ["k0", "k1", "k2"]


def test_the_native_awaitables_need_a_running_loop(async_store: AsyncSessionStore) -> None:
    with pytest.raises(RuntimeError):
        _native.AsyncSessionStore.get(async_store, "s")


async def test_cancelling_a_call_abandons_its_request(silent_server: Any) -> None:
    await cancelling_a_call_abandons_its_request(silent_server)


async def cancelling_a_call_abandons_its_request(silent_server: Any) -> None:
    """The cancellation test's body, run by it on asyncio's loop and by the uvloop test."""
    store = AsyncSessionStore(
        "sessions",
        endpoint=silent_server.url,
        attempt_timeout=30,
        operation_timeout=30,
        max_attempts=1,
    )
    try:
        task = asyncio.create_task(store.get("s"))
        assert await asyncio.to_thread(silent_server.wait_until, accepted=1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Only a dropped request closes its connection: the server never answers and the
        # timeouts are 30 s.
        assert await asyncio.to_thread(silent_server.wait_until, accepted=1, closed=1, timeout=5)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(store.get("t"), timeout=0.5)
        assert await asyncio.to_thread(silent_server.wait_until, accepted=2, closed=2, timeout=5)
    finally:
        store.close()


def test_a_loop_that_ends_with_calls_in_flight_ends_quietly(
    silent_server: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    store = AsyncSessionStore(
        "sessions",
        endpoint=silent_server.url,
        attempt_timeout=30,
        operation_timeout=30,
        max_attempts=1,
        first_use="nothing",
    )

    async def leave_calls_running() -> None:
        for i in range(3):
            asyncio.get_running_loop().create_task(store.set(f"s{i}", "{}"))
        await asyncio.to_thread(silent_server.wait_until, accepted=3)

    try:
        asyncio.run(leave_calls_running())
        # asyncio.run cancelled the tasks; their requests are dropped, nothing is left to
        # complete a future of the closed loop.
        assert silent_server.wait_until(accepted=3, closed=3, timeout=5)
    finally:
        store.close()
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err
    assert "Event loop is closed" not in captured.err


def test_a_program_exiting_right_after_awaiting_a_call_exits_cleanly(
    endpoint: str, table_name: str, store_factory: Callable[..., SessionStore]
) -> None:
    # A program that ends right after its last await must not crash while the interpreter
    # finalizes (a runtime thread that took the GIL to hand a result over once met a fatal
    # error in PyGILState_Release here, now and then): many short programs.
    import subprocess
    import sys

    store_factory().set("a", '{"n": 1}', time.time() + 3600)
    program = (
        "import asyncio\n"
        "from connect_dynamodb import AsyncSessionStore\n"
        "async def main():\n"
        f"    store = AsyncSessionStore(table={table_name!r}, endpoint={endpoint!r})\n"
        "    for _ in range(20):\n"
        "        assert (await store.get('a')).data == '{\"n\": 1}'\n"
        "asyncio.run(main())\n"
    )
    for _ in range(12):
        runs = [
            subprocess.Popen([sys.executable, "-c", program], stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        for run in runs:
            _, err = run.communicate(timeout=60)
            assert run.returncode == 0, err
