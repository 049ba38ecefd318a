"""A destroyed session leaves a tombstone for ``tombstone_lifetime``: a late ``set`` or ``touch``
of its id writes nothing, ``get`` does not find it; ``tombstone_lifetime=0`` deletes instead."""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import Any, Callable

import pytest
from connect_dynamodb import DEFAULTS, AsyncSessionStore, ConflictError, SessionStore
from connect_dynamodb.testing import ManualClock


def raw_item(dynamodb: Any, store: Any, sid: str) -> dict[str, Any] | None:
    answer = dynamodb.get_item(
        TableName=store.table, Key={"id": {"S": store.prefix + sid}}, ConsistentRead=True
    )
    return answer.get("Item")


def test_a_late_save_of_a_destroyed_session_writes_nothing(
    store_factory: Callable[..., SessionStore], dynamodb: Any
) -> None:
    clock = ManualClock(math.floor(time.time()))
    store = store_factory(clock=clock)
    store.set("s", '{"user": "ada"}')
    loaded = store.get("s")  # a slow request loads the session...
    assert loaded is not None
    store.destroy("s")  # ...another one logs out...
    assert store.set("s", loaded.data) == "ended"  # ...and the slow one saves: a quiet no-op
    assert store.get("s") is None
    assert store.touch("s") == "not_found"
    assert store.touch_result("s").outcome == "not_found"
    assert store.ids() == [] and store.length() == 0 and store.all() == {}
    # The tombstone: the 3.x item shape with `sess` null, and its end as the expiry.
    item = raw_item(dynamodb, store, "s")
    assert item is not None
    assert item["sess"] == {"S": "null"}
    assert item["type"] == {"S": "connect-session"}
    assert item["ended"] == {"N": str(int(clock.now().timestamp()))}
    lifetime = DEFAULTS["tombstone_lifetime"]
    assert lifetime == 3600
    assert item["expires"] == {"N": str(int(clock.now().timestamp() + lifetime))}


def test_conditional_saves_meeting_a_tombstone_are_conflicts(store: SessionStore) -> None:
    store.set("s", "{}")
    store.destroy("s")
    with pytest.raises(ConflictError):
        store.set("s", '{"a": 1}', if_present=True)  # Django's update-only save
    with pytest.raises(ConflictError):
        store.set("s", '{"a": 1}', if_absent=True)  # the id ended moments ago
    assert store.get("s") is None


def test_new_ids_are_not_affected(store: SessionStore) -> None:
    store.set("old", '{"n": 1}')
    store.destroy("old")
    assert store.set("new", '{"n": 1}', if_absent=True) == "written"
    assert store.set("new", '{"n": 2}') == "written"
    got = store.get("new")
    assert got is not None and got.data == '{"n": 2}'
    store.destroy("never-stored")  # ending a missing session is not an error
    assert store.get("never-stored") is None


def test_destroy_is_one_write_and_a_late_save_one_conditional_write(
    store_factory: Callable[..., SessionStore], proxy: Any
) -> None:
    store_factory()  # creates the table
    store = store_factory(endpoint=proxy.url, first_use="nothing")
    store.set("s", "{}")
    assert store.get("s") is not None
    proxy.reset()
    store.destroy("s")
    assert proxy.snapshot() == {"PutItem": 1}
    proxy.reset()
    assert store.set("s", '{"late": true}') == "ended"
    assert proxy.snapshot() == {"PutItem": 1}
    proxy.reset()
    with pytest.raises(ConflictError):
        store.set("s", '{"late": true}', if_present=True)
    assert proxy.snapshot() == {"PutItem": 1}
    proxy.reset()
    assert store.set("fresh", "{}") == "written"
    assert proxy.snapshot() == {"PutItem": 1}


def test_the_tombstone_ends_after_tombstone_lifetime(
    store_factory: Callable[..., SessionStore], dynamodb: Any
) -> None:
    clock = ManualClock(math.floor(time.time()))
    store = store_factory(clock=clock, tombstone_lifetime=dt.timedelta(minutes=1))
    store.set("s", "{}")
    store.destroy("s")
    item = raw_item(dynamodb, store, "s")
    assert item is not None
    assert item["expires"] == {"N": str(int(clock.now().timestamp()) + 60)}
    clock.advance(59)
    assert store.set("s", '{"again": 1}') == "ended"
    clock.advance(1)
    assert store.set("s", '{"again": 1}') == "written"
    got = store.get("s")
    assert got is not None and got.data == '{"again": 1}'


def test_tombstone_lifetime_zero_deletes_as_before(
    store_factory: Callable[..., SessionStore], proxy: Any, dynamodb: Any
) -> None:
    store_factory()  # creates the table
    store = store_factory(endpoint=proxy.url, first_use="nothing", tombstone_lifetime=0)
    store.set("s", "{}")
    proxy.reset()
    store.destroy("s")
    assert proxy.snapshot() == {"DeleteItem": 1}
    assert raw_item(dynamodb, store, "s") is None
    with pytest.raises(ConflictError):
        store.set("s", "{}", if_present=True)  # gone all the same
    # Without a tombstone nothing stops an unconditional late save, as in connect-dynamodb 3.x.
    assert store.set("s", '{"late": 1}') == "written"


async def test_the_async_store_leaves_and_meets_tombstones(
    async_store_factory: Callable[..., AsyncSessionStore],
) -> None:
    store = async_store_factory()
    await store.set("s", '{"user": "ada"}')
    loaded = await store.get("s")
    assert loaded is not None
    await store.destroy("s")
    assert await store.set("s", loaded.data) == "ended"
    assert await store.get("s") is None
    assert await store.touch("s") == "not_found"
    with pytest.raises(ConflictError):
        await store.set("s", "{}", if_present=True)
    assert await store.set("other", "{}") == "written"
