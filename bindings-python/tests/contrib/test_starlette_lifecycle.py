"""Issue 11 through starsessions' middleware (connect_dynamodb.contrib.starlette) on DynamoDB
Local: a logout that a slower request cannot undo (tombstones), concurrent changes merged
(``merge``, with starsessions' ``__metadata__`` never a conflict), the absolute timeout, and a
user's sessions listed and ended (``user_field``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from connect_dynamodb import ConflictError
from connect_dynamodb.contrib.starlette import DynamoDBStore
from connect_dynamodb.testing import ManualClock
from contrib_support import create_table, delete_table
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starsessions import (
    SessionAutoloadMiddleware,
    SessionMiddleware,
    get_session_handler,
    get_session_id,
    load_session,
    regenerate_session_id,
)

with warnings.catch_warnings():
    # Starlette 1.10 announces a move of its TestClient from httpx to httpx2; httpx is pinned.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


async def passthrough(request: Request, call_next: RequestResponseEndpoint) -> Response:
    return await call_next(request)


def make_app(
    store: DynamoDBStore,
    lifetime: int = 3600,
    gate: asyncio.Barrier | None = None,
    load_in_view: bool = False,
) -> Starlette:
    """The app. ``gate`` holds every ``/change`` request, after it loaded the session, until
    all have; ``load_in_view`` loads the session in the views, behind a ``BaseHTTPMiddleware``
    (which runs them in a task of their own), instead of in ``SessionAutoloadMiddleware``."""

    async def load(request: Request) -> None:
        if load_in_view:
            await load_session(request)

    async def set_(request: Request) -> Response:
        await load(request)
        request.session.update(dict(request.query_params))
        return JSONResponse({"ok": True})

    async def change(request: Request) -> Response:
        await load(request)
        assert request.session.get("base") == "1"
        assert gate is not None
        await asyncio.wait_for(gate.wait(), 30)
        request.session.update(dict(request.query_params))
        return JSONResponse({"ok": True})

    async def pop(request: Request) -> Response:
        await load(request)
        request.session.pop(request.query_params["key"])
        return JSONResponse({"ok": True})

    async def save_twice(request: Request) -> Response:
        """Adds ``flash`` and saves, then takes it out again: the middleware saves once more."""
        await load(request)
        request.session["flash"] = "hi"
        await get_session_handler(request).save(3600)
        del request.session["flash"]
        return JSONResponse({"ok": True})

    async def get(request: Request) -> Response:
        await load(request)
        data = {k: v for k, v in request.session.items() if k != "__metadata__"}
        return JSONResponse({"data": data, "sid": get_session_id(request)})

    async def login(request: Request) -> Response:
        old = get_session_id(request)
        regenerate_session_id(request)
        if old is not None and request.session:  # a stored session: the old id ends
            await store.remove(old)
        request.session["user_id"] = request.query_params["user"]
        return JSONResponse({"ok": True})

    async def password_changed(request: Request) -> Response:
        ended = await store.end_user_sessions(request.session["user_id"], keep=request)
        return JSONResponse({"ended": ended})

    async def logout_everywhere(request: Request) -> Response:
        ended = await store.end_user_sessions(request.session["user_id"])
        request.session.clear()
        return JSONResponse({"ended": ended})

    return Starlette(
        routes=[
            Route("/set", set_, methods=["POST"]),
            Route("/change", change, methods=["POST"]),
            Route("/pop", pop, methods=["POST"]),
            Route("/save-twice", save_twice, methods=["POST"]),
            Route("/get", get),
            Route("/login", login, methods=["POST"]),
            Route("/password-changed", password_changed, methods=["POST"]),
            Route("/logout-everywhere", logout_everywhere, methods=["POST"]),
        ],
        middleware=[
            Middleware(
                SessionMiddleware,
                store=store,
                lifetime=lifetime,
                rolling=True,
                cookie_https_only=False,
            ),
            Middleware(BaseHTTPMiddleware, dispatch=passthrough)
            if load_in_view
            else Middleware(SessionAutoloadMiddleware),
        ],
    )


def metadata(last_access: float) -> dict[str, Any]:
    return {"lifetime": 3600, "created": 1_700_000_000, "last_access": last_access}


def text(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


# Tombstones ---------------------------------------------------------------------------------


def test_a_write_after_a_logout_elsewhere_writes_nothing(
    make_async_store: Any, make_store: Any, proxy: Any
) -> None:
    other_process = make_store(endpoint=proxy.url, first_use="nothing")
    store = DynamoDBStore(make_async_store(endpoint=proxy.url, first_use="nothing"))

    async def late() -> tuple[str, str, dict[str, int], dict[str, int]]:
        sid = await store.write("ignored", text({"user": "alice"}), 3600, 3600)
        assert json.loads(await store.read(sid, 3600)) == {"user": "alice"}  # loaded...
        proxy.reset()
        other_process.destroy(sid)  # ...logged out by another process...
        logout = proxy.snapshot()
        proxy.reset()
        written = await store.write(sid, text({"user": "eve"}), 3600, 3600)  # ...saved late
        return sid, written, logout, proxy.snapshot()

    sid, written, logout, late_write = asyncio.run(late())
    assert logout == {"PutItem": 1}  # the tombstone
    assert late_write == {"PutItem": 1}  # one conditional write, refused
    assert written == sid
    assert other_process.get(sid) is None
    assert other_process.length() == 0  # nothing written under another id either


# Merge --------------------------------------------------------------------------------------


def stored(make_store: Any, sid: str) -> dict[str, Any]:
    record = make_store().get(sid)
    assert record is not None
    return dict(json.loads(record.data))


async def two_requests(
    store: DynamoDBStore, first: dict[str, str], second: dict[str, str], load_in_view: bool = False
) -> tuple[list[Any], str]:
    """Two requests of one session at once through the middleware, each changing ``first`` or
    ``second`` after both loaded the session; their responses (or what they raised), and the
    session's id."""
    app = make_app(store, gate=asyncio.Barrier(2), load_in_view=load_in_view)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.post("/set?base=1")).status_code == 200
        sid = client.cookies["session"]
        answers = await asyncio.gather(
            client.post("/change", params=first),
            client.post("/change", params=second),
            return_exceptions=True,
        )
    return answers, sid


@pytest.mark.parametrize("load_in_view", [False, True], ids=["autoload", "base-http-middleware"])
@pytest.mark.parametrize("policy", ["mine", "error"])
def test_changes_of_different_keys_both_survive_and_metadata_is_no_conflict(
    make_async_store: Any, make_store: Any, policy: str, load_in_view: bool
) -> None:
    """Each request's save names the version its own read found, wherever it loaded."""
    store = DynamoDBStore(make_async_store(merge=policy))
    answers, sid = asyncio.run(
        two_requests(store, {"cart": "1"}, {"flash": "saved"}, load_in_view=load_in_view)
    )
    assert [a.status_code for a in answers] == [200, 200]
    data = stored(make_store, sid)
    metadata = data.pop("__metadata__")
    assert data == {"base": "1", "cart": "1", "flash": "saved"}
    assert set(metadata) == {"lifetime", "created", "last_access"}  # no version stored


def test_without_merge_the_first_change_is_lost(make_async_store: Any, make_store: Any) -> None:
    store = DynamoDBStore(make_async_store())
    answers, sid = asyncio.run(two_requests(store, {"cart": "1"}, {"flash": "saved"}))
    assert [a.status_code for a in answers] == [200, 200]
    data = stored(make_store, sid)
    assert ("cart" in data) != ("flash" in data)  # the later save wins


def test_a_key_both_requests_change_is_a_conflict_under_merge_error(
    make_async_store: Any, make_store: Any
) -> None:
    store = DynamoDBStore(make_async_store(merge="error"))
    answers, sid = asyncio.run(two_requests(store, {"cart": "1"}, {"cart": "2"}))
    (error,) = [a for a in answers if isinstance(a, BaseException)]
    (ok,) = [a for a in answers if not isinstance(a, BaseException)]
    assert ok.status_code == 200
    assert isinstance(error, ConflictError) and error.code == "CONFLICT"
    assert "`cart`" in str(error) and sid not in str(error)
    assert stored(make_store, sid)["cart"] in ("1", "2")


@pytest.mark.parametrize("policy", ["mine", "error"])
def test_a_key_a_later_request_deletes_stays_deleted(
    make_async_store: Any, make_store: Any, policy: str
) -> None:
    """One request adds ``cart``, the next (after it finished) takes it out again."""
    store = DynamoDBStore(make_async_store(merge=policy))
    with TestClient(make_app(store)) as client:
        client.post("/set?user=alice&theme=dark")
        sid = client.cookies["session"]
        client.post("/set?cart=1")
        assert stored(make_store, sid)["cart"] == "1"
        assert client.post("/pop?key=cart").status_code == 200
        assert client.get("/get").json()["data"] == {"user": "alice", "theme": "dark"}
        client.post("/pop?key=user")  # a logout by deleting the user
        assert client.get("/get").json()["data"] == {"theme": "dark"}
    assert client.cookies["session"] == sid
    assert "user" not in stored(make_store, sid)


@pytest.mark.parametrize("policy", ["mine", "error"])
def test_a_second_save_in_one_request_does_not_merge_against_the_first(
    make_async_store: Any, make_store: Any, policy: str
) -> None:
    store = DynamoDBStore(make_async_store(merge=policy))
    with TestClient(make_app(store)) as client:
        client.post("/set?base=1")
        sid = client.cookies["session"]
        assert client.post("/save-twice").status_code == 200
        assert client.cookies["session"] == sid
        assert client.get("/get").json()["data"] == {"base": "1"}
    assert "flash" not in stored(make_store, sid)


# Absolute timeout ---------------------------------------------------------------------------


def test_an_active_session_ends_at_the_absolute_timeout_and_a_regenerated_one_starts_fresh(
    make_async_store: Any, make_store: Any
) -> None:
    clock = ManualClock(math.floor(time.time()))
    raw = make_store(clock=clock)
    store = DynamoDBStore(make_async_store(clock=clock, absolute_timeout=3600, touch_after=0))
    # starsessions reckons the rolling expiry on the real clock: a day, so that only the
    # absolute timeout ends the session while the store's clock moves hours ahead.
    with TestClient(make_app(store, lifetime=86400)) as client:
        client.post("/set?n=0")
        sid = client.cookies["session"]
        for n in range(1, 6):  # used, and changed, every ten minutes
            clock.advance(dt.timedelta(minutes=10))
            client.post(f"/set?n={n}")
            assert client.cookies["session"] == sid
            assert client.get("/get").json()["data"] == {"n": str(n)}
        clock.advance(dt.timedelta(minutes=10, seconds=1))  # an hour and a second old
        assert client.get("/get").json()["data"] == {}
        assert raw.get(sid) is None

        # A session regenerated at login 50 minutes in lives an hour from then.
        client.post("/set?n=0")
        first = client.cookies["session"]
        assert first != sid
        clock.advance(dt.timedelta(minutes=50))
        client.post("/login?user=alice")
        regenerated = client.cookies["session"]
        assert regenerated != first and raw.get(first) is None
        clock.advance(dt.timedelta(minutes=50))
        assert client.get("/get").json()["data"] == {"n": "0", "user_id": "alice"}
        record = raw.get(regenerated)
        assert record is not None and record.created == clock.now() - dt.timedelta(minutes=50)
        clock.advance(dt.timedelta(minutes=10, seconds=1))
        assert client.get("/get").json()["data"] == {}


# A user's sessions --------------------------------------------------------------------------


@pytest.fixture
def users_table() -> Iterator[str]:
    """A table made by ``create_table`` with the user index of ``user_field="user_id"``."""
    table = create_table("starlette-users", user_field="user_id")
    yield table
    delete_table(table)


def test_a_users_sessions_are_listed_and_ended_but_the_current_one(
    make_async_store: Any, users_table: str
) -> None:
    store = DynamoDBStore(make_async_store(table=users_table, user_field="user_id"))
    app = make_app(store)
    devices = [TestClient(app) for _ in range(3)]
    sids = []
    for device in devices:
        device.post("/login?user=alice")
        sids.append(device.cookies["session"])
    bob = TestClient(app)
    bob.post("/login?user=bob")

    listed = asyncio.run(store.user_sessions("alice"))
    assert sorted(s.id for s in listed) == sorted(sids)
    for s in listed:
        assert s.created is not None and abs(s.created.timestamp() - time.time()) < 60
        assert abs(s.expires.timestamp() - (time.time() + 3600)) < 60
        assert s.id not in repr(s)

    assert devices[1].post("/password-changed").json() == {"ended": 2}
    assert [s.id for s in asyncio.run(store.user_sessions("alice"))] == [sids[1]]
    assert devices[0].get("/get").json()["data"] == {}
    assert devices[2].get("/get").json()["data"] == {}
    assert devices[1].get("/get").json()["data"] == {"user_id": "alice"}

    assert devices[1].post("/logout-everywhere").json() == {"ended": 1}
    assert asyncio.run(store.user_sessions("alice")) == []
    assert bob.get("/get").json()["data"] == {"user_id": "bob"}
    assert len(asyncio.run(store.user_sessions("bob"))) == 1
