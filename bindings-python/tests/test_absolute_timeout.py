"""``absolute_timeout``: a session older than the limit is refused however active it is; ``set``
and ``touch`` never extend it; a new session starts fresh. Decided on the store's clock."""

from __future__ import annotations

import datetime as dt
from typing import Callable

import pytest
from connect_dynamodb import AsyncSessionStore, ConflictError, SessionStore, StoredSession
from connect_dynamodb.testing import ManualClock

UTC = dt.timezone.utc
START = dt.datetime(2030, 1, 1, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def test_an_active_session_is_refused_once_older_than_the_limit(
    store_factory: Callable[..., SessionStore],
) -> None:
    clock = ManualClock(START)
    store = store_factory(clock=clock, absolute_timeout=HOUR, touch_after=0)
    store.set("s", '{"n": 0}', clock.now() + DAY)
    got = store.get("s")
    assert got is not None
    assert got.created == START
    assert got.expires == START + HOUR  # never past the creation plus the limit
    for n in range(1, 6):  # used every ten minutes: read, changed, touched
        clock.advance(dt.timedelta(minutes=10))
        got = store.get("s")
        assert got is not None and got.created == START
        assert store.set("s", f'{{"n": {n}}}', clock.now() + DAY) == "written"
        result = store.touch_result("s", clock.now() + DAY)
        assert result.outcome in ("updated", "throttled")
        assert result.expires == START + HOUR
    clock.advance(dt.timedelta(minutes=9, seconds=59))
    assert store.get("s") is not None
    clock.advance(1)  # an hour old
    assert store.get("s") is None
    assert store.set("s", '{"n": 6}', clock.now() + DAY) == "ended"
    assert store.touch("s", clock.now() + DAY) == "not_found"
    with pytest.raises(ConflictError):
        store.set("s", '{"n": 6}', clock.now() + DAY, if_present=True)
    assert store.ids() == [] and store.length() == 0
    # A new session (a new id, as a login's regenerate gives) starts fresh.
    assert store.set("t", "{}", clock.now() + DAY, if_absent=True) == "written"
    fresh = store.get("t")
    assert fresh is not None
    assert (fresh.created, fresh.expires) == (clock.now(), clock.now() + HOUR)


def test_a_session_written_by_a_store_without_the_limit_counts_from_its_first_save_here(
    store_factory: Callable[..., SessionStore],
) -> None:
    clock = ManualClock(START)
    old = store_factory(clock=clock)
    old.set("s", "{}", START + DAY)
    assert old.get("s").created is None  # type: ignore[union-attr]
    store = store_factory(clock=clock, absolute_timeout=HOUR)
    got = store.get("s")
    assert got is not None and got.created is None
    clock.advance(dt.timedelta(minutes=30))
    assert store.set("s", '{"n": 1}', clock.now() + DAY) == "written"
    got = store.get("s")
    assert got is not None and got.created == clock.now()


def test_stored_session_values_carry_the_creation_time() -> None:
    import pickle

    session = StoredSession("{}", START + HOUR, START)
    assert session.created == START
    assert "created=2030-01-01T00:00:00" in repr(session)
    assert pickle.loads(pickle.dumps(session)) == session
    assert session != StoredSession("{}", START + HOUR)
    assert StoredSession("{}", START + HOUR).created is None


async def test_the_async_store_refuses_it_too(
    async_store_factory: Callable[..., AsyncSessionStore],
) -> None:
    clock = ManualClock(START)
    store = async_store_factory(clock=clock, absolute_timeout=3600)
    await store.set("s", "{}", START + DAY)
    clock.advance(dt.timedelta(minutes=59))
    got = await store.get("s")
    assert got is not None and got.expires == START + HOUR
    clock.advance(dt.timedelta(minutes=1))
    assert await store.get("s") is None
    assert await store.set("s", "{}", clock.now() + DAY) == "ended"
    assert await store.touch("s") == "not_found"
