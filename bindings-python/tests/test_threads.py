"""Many threads share one store, and a blocking call lets other threads run (no GIL held
while it waits on DynamoDB)."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from connect_dynamodb import RequestTimeoutError, SessionStore


def test_sixteen_threads_share_one_store(store: SessionStore) -> None:
    def work(thread: int) -> list[str]:
        seen = []
        for i in range(15):
            sid = f"t{thread}-{i}"
            store.set(sid, f'{{"thread": {thread}, "i": {i}}}')
            got = store.get(sid)
            assert got is not None
            seen.append(got.data)
        return seen

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(work, range(16), timeout=120))
    for thread, seen in enumerate(results):
        assert seen == [f'{{"thread": {thread}, "i": {i}}}' for i in range(15)]
    assert store.length() == 16 * 15


def test_a_blocking_call_releases_the_gil(silent_endpoint: str) -> None:
    store = SessionStore(
        "sessions",
        endpoint=silent_endpoint,
        attempt_timeout=1,
        operation_timeout=1,
        max_attempts=1,
    )
    counter = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal counter
        while not stop.is_set():
            counter += 1

    counting = threading.Thread(target=count)
    counting.start()
    try:
        before = counter
        with pytest.raises(RequestTimeoutError):
            store.get("s")
        during = counter - before
    finally:
        stop.set()
        counting.join(timeout=10)
        store.close()
    # Holding the GIL for the call's second would leave the counter at most one switch
    # interval (5 ms) of counting; without the GIL it counts for the whole second.
    assert during > 200_000, during


def test_ctrl_c_interrupts_a_blocking_call_and_abandons_its_request(
    silent_server: Any, store: SessionStore
) -> None:
    # From its ninth call on, a thread runs its calls on a runtime of its own, which runs only
    # while the thread is inside a call: the abandoned request's connection must close anyway.
    for _ in range(9):
        store.get("warm-up")
    stalled = SessionStore(
        "sessions",
        endpoint=silent_server.url,
        attempt_timeout=30,
        operation_timeout=30,
        max_attempts=1,
    )

    def press_ctrl_c_once_the_request_is_in_flight() -> None:
        if silent_server.wait_until(accepted=1):
            os.kill(os.getpid(), signal.SIGINT)

    # Python's own Ctrl-C handler, whatever the suite was started with (a background job
    # starts with SIGINT ignored).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    presser = threading.Thread(target=press_ctrl_c_once_the_request_is_in_flight)
    presser.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            stalled.get("s")
        assert time.monotonic() - started < 10
        # The request was dropped: its connection closes long before the 30 s timeouts.
        assert silent_server.wait_until(accepted=1, closed=1, timeout=5)
    finally:
        presser.join(timeout=15)
        signal.signal(signal.SIGINT, previous)
        stalled.close()
