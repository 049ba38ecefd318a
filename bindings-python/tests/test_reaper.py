"""The background reaper: started by `reap_interval` or `start_reaper`, deleting expired
sessions, stopped by `stop_reaper` and `close`."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Callable

import pytest
from connect_dynamodb import InvalidArgumentError, SessionStore


def raw_keys(dynamodb: Any, table: str) -> set[str]:
    keys: set[str] = set()
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        keys.update(item["id"]["S"] for item in page["Items"])
    return keys


def wait_until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the condition did not hold in time")
        time.sleep(0.1)


def write_expired_and_live(store: SessionStore) -> None:
    for i in range(3):
        store.set(f"dead{i}", "{}", time.time() - 10)
    store.set("live", "{}")


def test_start_reaper_deletes_expired_sessions(store: SessionStore, dynamodb: Any) -> None:
    write_expired_and_live(store)
    assert len(raw_keys(dynamodb, store.table)) == 4
    assert store.reaper_running is False
    store.start_reaper(1)
    assert store.reaper_running is True
    wait_until(lambda: raw_keys(dynamodb, store.table) == {"sess:live"})
    store.stop_reaper()
    assert store.reaper_running is False
    store.set("dead-after-stop", "{}", time.time() - 10)
    assert store.get("live") is not None


def test_reap_interval_starts_the_reaper(
    store_factory: Callable[..., SessionStore], dynamodb: Any
) -> None:
    store_factory()
    store = store_factory(reap_interval=dt.timedelta(seconds=1))
    assert store.reaper_running is True
    write_expired_and_live(store)
    wait_until(lambda: raw_keys(dynamodb, store.table) == {"sess:live"})
    store.close()
    assert store.reaper_running is False


def test_start_reaper_uses_reap_interval_by_default(
    store_factory: Callable[..., SessionStore],
) -> None:
    store_factory()
    store = store_factory(reap_interval=600)
    store.stop_reaper()
    assert store.reaper_running is False
    store.start_reaper()
    assert store.reaper_running is True


@pytest.mark.parametrize("interval", [0.5, 0, -1, float("nan")])
def test_unusable_reaper_intervals(store: SessionStore, interval: float) -> None:
    with pytest.raises(InvalidArgumentError):
        store.start_reaper(interval)
    assert store.reaper_running is False


def test_start_reaper_needs_an_interval(store: SessionStore) -> None:
    with pytest.raises(InvalidArgumentError, match="interval"):
        store.start_reaper()


def test_stop_reaper_without_a_reaper_is_harmless(store: SessionStore) -> None:
    store.stop_reaper()
    store.stop_reaper()
    assert store.reaper_running is False
