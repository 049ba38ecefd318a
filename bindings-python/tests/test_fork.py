"""A store made before os.fork() works in the child (gunicorn --preload, multiprocessing's
fork): the child builds its own runtime and client. Every wait is bounded, so a hang fails."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
import traceback
from typing import Any, Callable

import pytest
from connect_dynamodb import AsyncSessionStore, RequestTimeoutError, SessionStore

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")


def wait_for_child(pid: int, timeout: float = 60) -> int:
    """The child's exit code; kills it and fails the test when it does not end in time."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the child did not end within {timeout} s")
        time.sleep(0.01)


def run_in_child(body: Callable[[], None], timeout: float = 60) -> int:
    """Runs `body` in a forked child; its exit code is 0 when `body` returned."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            body()
            code = 0
        except BaseException:
            traceback.print_exc()
            code = 2
        finally:
            os._exit(code)
    return wait_for_child(pid, timeout)


def round_trip(store: SessionStore, sid: str) -> None:
    store.set(sid, f'{{"pid": {os.getpid()}}}')
    got = store.get(sid)
    assert got is not None and got.data == f'{{"pid": {os.getpid()}}}'
    assert sid in store.ids()
    store.destroy(sid)
    assert store.get(sid) is None


def test_a_store_used_before_fork_works_in_the_child(store: SessionStore) -> None:
    round_trip(store, "parent-before")
    assert run_in_child(lambda: round_trip(store, "child")) == 0
    round_trip(store, "parent-after")


def test_a_store_made_but_not_used_before_fork_works_in_the_child(
    store_factory: Callable[..., SessionStore],
) -> None:
    store_factory()
    fresh = store_factory(prefix="fresh:")
    assert run_in_child(lambda: round_trip(fresh, "child")) == 0


def test_an_async_store_works_in_the_child(
    async_store: AsyncSessionStore,
) -> None:
    async def parent_work() -> None:
        await async_store.set("p", "{}")

    asyncio.run(parent_work())

    def child() -> None:
        async def work() -> None:
            await async_store.set("c", '{"child": true}')
            got = await async_store.get("c")
            assert got is not None and got.data == '{"child": true}'
            assert sorted(await async_store.ids()) == ["c", "p"]

        asyncio.run(asyncio.wait_for(work(), timeout=30))

    assert run_in_child(child) == 0

    async def after() -> None:
        got = await async_store.get("c")
        assert got is not None

    asyncio.run(after())


def test_the_child_of_a_child_works_too(store: SessionStore) -> None:
    store.get("warm")

    def child() -> None:
        round_trip(store, "child")
        assert run_in_child(lambda: round_trip(store, "grandchild")) == 0

    assert run_in_child(child) == 0


def test_fork_while_other_threads_wait_on_dynamodb(
    store: SessionStore, async_store: AsyncSessionStore, silent_server: Any
) -> None:
    """At the fork, one thread is inside a blocking call (without the GIL, in the runtime) and
    another runs an event loop with calls in flight (their answers on the way to the loop's
    mailbox). The child must not inherit a lock any of them holds."""
    options: dict[str, Any] = {
        "endpoint": silent_server.url,
        "attempt_timeout": 3,
        "operation_timeout": 3,
        "max_attempts": 1,
    }
    slow = SessionStore("sessions", **options)
    slow_async = AsyncSessionStore("sessions", **options)
    errors: list[BaseException] = []

    def wait_on_silence() -> None:
        try:
            slow.get("s")
        except BaseException as err:
            errors.append(err)

    def loop_waiting_on_silence() -> None:
        async def calls() -> None:
            outcomes = await asyncio.gather(
                *(slow_async.get(f"a{i}") for i in range(3)), return_exceptions=True
            )
            errors.extend(o for o in outcomes if isinstance(o, BaseException))

        asyncio.run(calls())

    waiting = [
        threading.Thread(target=wait_on_silence),
        threading.Thread(target=loop_waiting_on_silence),
    ]
    for thread in waiting:
        thread.start()
    try:
        assert silent_server.wait_until(accepted=4)

        def child() -> None:
            round_trip(store, "child")
            asyncio.run(asyncio.wait_for(async_store.set("child-async", "{}"), timeout=30))

        assert run_in_child(child) == 0
    finally:
        for thread in waiting:
            thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in waiting)
    assert len(errors) == 4 and all(isinstance(e, RequestTimeoutError) for e in errors)
    assert store.get("child-async") is not None
    slow.close()
    slow_async.close()


def test_a_reaper_of_the_parent_does_not_run_in_the_child(
    store_factory: Callable[..., SessionStore],
) -> None:
    store = store_factory(reap_interval=60)
    assert store.reaper_running

    def child() -> None:
        assert store.reaper_running is False
        round_trip(store, "child")
        store.start_reaper(60)
        assert store.reaper_running is True
        store.close()

    assert run_in_child(child) == 0
    assert store.reaper_running is True
