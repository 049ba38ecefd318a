"""Testing tools: :class:`ManualClock`, a clock that moves only when told to.

Pass one as ``clock=`` to a store and every expiry decision of that store (is a session
expired, is a touch throttled, when does a session stored without an expiry end, what the
reaper deletes) reads it, so a test of expiry moves the clock instead of waiting::

    clock = ManualClock(datetime.now(timezone.utc))
    store = SessionStore("sessions", clock=clock)
    store.set("sid", "{}", clock.now() + timedelta(minutes=5))
    clock.advance(timedelta(minutes=6))      # or clock.advance(360)
    assert store.get("sid") is None

DynamoDB's own TTL deletion follows the real time; the store's clock decides what it returns.
"""

from __future__ import annotations

from ._native import ManualClock

__all__ = ["ManualClock"]
