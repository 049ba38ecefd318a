"""The store's clock (connect_dynamodb.testing.ManualClock): expiry and touch throttling are
decided on it, so these tests move it instead of waiting; and what touch leaves stored."""

from __future__ import annotations

import datetime as dt
import math
from typing import Callable

import pytest
from connect_dynamodb import (
    DEFAULTS,
    InvalidArgumentError,
    SessionStore,
    TouchResult,
)
from connect_dynamodb.testing import ManualClock

UTC = dt.timezone.utc
START = dt.datetime(2030, 1, 1, tzinfo=UTC)


def test_the_clock_moves_only_when_told() -> None:
    clock = ManualClock(START)
    assert clock.now() == START
    clock.advance(90)
    clock.advance(dt.timedelta(minutes=1, seconds=30))
    assert clock.now() == START + dt.timedelta(minutes=3)
    clock.set(START)
    assert clock.now() == START
    assert "2030-01-01" in repr(clock)
    with pytest.raises(InvalidArgumentError):
        clock.advance(-1)
    with pytest.raises(TypeError):
        clock.advance("soon")


def test_a_session_expires_when_the_store_clock_passes_its_expiry(
    store_factory: Callable[..., SessionStore],
) -> None:
    clock = ManualClock(START)
    store = store_factory(clock=clock)
    store.set("s", '{"a": 1}', START + dt.timedelta(seconds=30))
    assert store.get("s") is not None
    assert store.ids() == ["s"]
    clock.advance(29)
    assert store.get("s") is not None
    clock.advance(1)
    assert store.get("s") is None
    assert store.ids() == []
    assert store.length() == 0
    assert store.touch("s", START + dt.timedelta(hours=1)) == "not_found"


def test_the_default_lifetime_counts_from_the_store_clock(
    store_factory: Callable[..., SessionStore],
) -> None:
    clock = ManualClock(START)
    store = store_factory(clock=clock)
    store.set("s", "{}")
    got = store.get("s")
    assert got is not None
    assert got.expires == START + dt.timedelta(seconds=DEFAULTS["default_lifetime"])  # type: ignore[arg-type]
    clock.advance(dt.timedelta(seconds=DEFAULTS["default_lifetime"]))  # type: ignore[arg-type]
    assert store.get("s") is None


def test_the_reaper_deletes_what_is_expired_on_the_store_clock(
    store_factory: Callable[..., SessionStore],
) -> None:
    clock = ManualClock(START)
    store = store_factory(clock=clock)
    store.set("short", "{}", START + dt.timedelta(minutes=1))
    store.set("long", "{}", START + dt.timedelta(hours=1))
    assert store.reap().deleted == 0
    clock.advance(dt.timedelta(minutes=2))
    assert store.reap().deleted == 1
    assert store.ids() == ["long"]


def test_touch_throttling_follows_the_store_clock(
    store_factory: Callable[..., SessionStore],
) -> None:
    clock = ManualClock(START)
    store = store_factory(clock=clock, touch_after=600)
    lifetime = dt.timedelta(hours=2)
    store.set("s", "{}", START + lifetime)
    # Five minutes later the expiry would move by five minutes: under touch_after.
    clock.advance(dt.timedelta(minutes=5))
    result = store.touch_result("s", clock.now() + lifetime)
    assert result == store.touch_result("s", clock.now() + lifetime)
    assert result.outcome == "throttled"
    assert result.expires == START + lifetime
    # Twenty minutes later it moves by twenty: written.
    clock.advance(dt.timedelta(minutes=15))
    result = store.touch_result("s", clock.now() + lifetime)
    assert isinstance(result, TouchResult)
    assert result.outcome == "updated"
    assert result.expires == START + dt.timedelta(minutes=20) + lifetime
    got = store.get("s")
    assert got is not None and got.expires == result.expires
    assert "updated" in repr(result)


def test_touch_result_reports_the_stored_expiry_rounded_up(store: SessionStore) -> None:
    at = dt.datetime(2031, 6, 1, 12, 0, 0, 250_000, tzinfo=UTC)
    store.set("s", "{}")
    result = store.touch_result("s", at)
    assert result.outcome == "updated"
    assert result.expires is not None
    assert result.expires.timestamp() == math.ceil(at.timestamp())
    missing = store.touch_result("missing", at)
    assert (missing.outcome, missing.expires) == ("not_found", None)


async def test_the_async_store_reads_its_clock_too(
    async_store_factory: Callable[..., object],
) -> None:
    clock = ManualClock(START)
    store = async_store_factory(clock=clock)
    await store.set("s", "{}", START + dt.timedelta(seconds=10))
    result = await store.touch_result("s", START + dt.timedelta(hours=1))
    assert result.outcome == "updated"
    clock.advance(dt.timedelta(hours=1))
    assert await store.get("s") is None
