"""connect_dynamodb.contrib.starlette under starsessions' middleware, through Starlette's
TestClient (httpx), against DynamoDB Local."""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

import pytest
from connect_dynamodb.contrib.starlette import DynamoDBStore
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starsessions import (
    SessionAutoloadMiddleware,
    SessionMiddleware,
    get_session_id,
    regenerate_session_id,
)

with warnings.catch_warnings():
    # Starlette 1.10 announces a move of its TestClient from httpx to httpx2; httpx is pinned.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


async def set_(request: Request) -> Response:
    request.session.update(dict(request.query_params))
    return JSONResponse({"ok": True})


async def get(request: Request) -> Response:
    data = {k: v for k, v in request.session.items() if k != "__metadata__"}
    return JSONResponse({"data": data, "sid": get_session_id(request)})


async def clear(request: Request) -> Response:
    request.session.clear()
    return JSONResponse({"ok": True})


async def regenerate(request: Request) -> Response:
    return JSONResponse({"sid": regenerate_session_id(request)})


def make_app(store: DynamoDBStore, **middleware: Any) -> Starlette:
    options: dict[str, Any] = {"lifetime": 3600, "rolling": True, "cookie_https_only": False}
    options.update(middleware)
    return Starlette(
        routes=[
            Route("/set", set_, methods=["POST"]),
            Route("/get", get),
            Route("/clear", clear, methods=["POST"]),
            Route("/regenerate", regenerate, methods=["POST"]),
        ],
        middleware=[
            Middleware(SessionMiddleware, store=store, **options),
            Middleware(SessionAutoloadMiddleware),
        ],
    )


def test_sessions_are_stored_and_read_back(make_async_store: Any, make_store: Any) -> None:
    store = DynamoDBStore(make_async_store())
    with TestClient(make_app(store)) as client:
        assert client.post("/set?user=alice").status_code == 200
        sid = client.cookies["session"]
        assert len(sid) == 32
        answer = client.get("/get").json()
        assert answer == {"data": {"user": "alice"}, "sid": sid}
    record = make_store().get(sid)
    stored = json.loads(record.data)
    assert stored["user"] == "alice"
    assert set(stored["__metadata__"]) == {"created", "last_access", "lifetime"}
    assert abs(record.expires.timestamp() - (time.time() + 3600)) < 30


def test_a_read_only_request_writes_nothing(make_async_store: Any, proxy: Any) -> None:
    store = DynamoDBStore(make_async_store(endpoint=proxy.url, first_use="nothing"))
    with TestClient(make_app(store)) as client:
        client.post("/set?user=alice")
        assert proxy.snapshot() == {"PutItem": 1}
        proxy.reset()
        for _ in range(3):
            assert client.get("/get").json()["data"] == {"user": "alice"}
        assert proxy.snapshot() == {"GetItem": 3}
        proxy.reset()
        client.post("/set?user=bob")
        assert proxy.snapshot() == {"GetItem": 1, "PutItem": 1}


def test_without_skip_unchanged_every_response_writes(make_async_store: Any, proxy: Any) -> None:
    store = DynamoDBStore(make_async_store(endpoint=proxy.url), skip_unchanged=False)
    with TestClient(make_app(store)) as client:
        client.post("/set?user=alice")
        proxy.reset()
        client.get("/get")
        assert proxy.snapshot() == {"GetItem": 1, "PutItem": 1}


def test_an_unchanged_session_moves_its_expiry_by_touch(make_async_store: Any, proxy: Any) -> None:
    store = DynamoDBStore(make_async_store(endpoint=proxy.url, touch_after=0))
    with TestClient(make_app(store)) as client:
        client.post("/set?user=alice")
        proxy.reset()
        client.get("/get")
        assert proxy.snapshot() == {"GetItem": 1, "UpdateItem": 1}


def test_clear_removes_the_session(make_async_store: Any, make_store: Any) -> None:
    store = DynamoDBStore(make_async_store())
    with TestClient(make_app(store)) as client:
        client.post("/set?user=alice")
        sid = client.cookies["session"]
        response = client.post("/clear")
        assert "01 Jan 1970" in response.headers["set-cookie"]
    assert make_store().get(sid) is None


def test_browser_sessions_live_gc_ttl(make_async_store: Any, make_store: Any) -> None:
    store = DynamoDBStore(make_async_store(), gc_ttl=7200)
    with TestClient(make_app(store, lifetime=0)) as client:
        client.post("/set?user=alice")
        sid = client.cookies["session"]
    record = make_store().get(sid)
    assert abs(record.expires.timestamp() - (time.time() + 7200)) < 30


def test_an_unknown_or_expired_id_reads_as_empty(make_async_store: Any, make_store: Any) -> None:
    raw = make_store()
    raw.set("expired-session-id", json.dumps({"user": "alice"}), time.time() - 5)
    store = DynamoDBStore(make_async_store())
    with TestClient(make_app(store)) as client:
        client.cookies.set("session", "expired-session-id")
        assert client.get("/get").json()["data"] == {}
        client.cookies.set("session", "never-seen")
        assert client.get("/get").json()["data"] == {}


def test_regenerated_ids_carry_the_data(make_async_store: Any, make_store: Any) -> None:
    store = DynamoDBStore(make_async_store())
    with TestClient(make_app(store)) as client:
        client.post("/set?user=alice")
        old = client.cookies["session"]
        client.post("/regenerate")
        # starsessions' new id is replaced by one of the store's own when it is written.
        new = client.cookies["session"]
        assert new != old and len(new) == 32
        assert client.get("/get").json() == {"data": {"user": "alice"}, "sid": new}
    assert json.loads(make_store().get(new).data)["user"] == "alice"


@pytest.mark.parametrize("skip_unchanged", [True, False])
def test_an_unknown_id_from_a_cookie_is_never_adopted(
    make_async_store: Any, make_store: Any, skip_unchanged: bool
) -> None:
    raw = make_store()
    raw.set("expired-session-id", json.dumps({"user": "alice"}), time.time() - 5)
    store = DynamoDBStore(make_async_store(), skip_unchanged=skip_unchanged)
    with TestClient(make_app(store)) as client:
        for planted in ("attacker-chosen-id", "expired-session-id"):
            client.cookies.clear()
            client.cookies.set("session", planted, domain="testserver.local")
            assert client.post("/set?user=victim").status_code == 200
            sid = client.cookies["session"]
            assert sid != planted and len(sid) == 32
            assert raw.get(planted) is None
            assert json.loads(raw.get(sid).data)["user"] == "victim"
            # The store's own id is kept from then on.
            client.post("/set?user=victim2")
            assert client.cookies["session"] == sid
            assert json.loads(raw.get(sid).data)["user"] == "victim2"


async def _logged_out_meanwhile(store: DynamoDBStore, raw: Any, change: bool) -> tuple[str, str]:
    sid = await store.write("ignored", b'{"user":"alice"}', 3600, 3600)
    text = await store.read(sid, 3600)
    assert json.loads(text) == {"user": "alice"}
    raw.destroy(sid)  # a logout in another request, after this one read the session
    data = b'{"user":"eve"}' if change else text
    return sid, await store.write(sid, data, 3600, 3600)


@pytest.mark.parametrize("skip_unchanged", [True, False])
@pytest.mark.parametrize("change", [True, False])
def test_a_session_deleted_meanwhile_is_not_written_back(
    make_async_store: Any, make_store: Any, skip_unchanged: bool, change: bool
) -> None:
    import asyncio

    raw = make_store()
    store = DynamoDBStore(make_async_store(touch_after=0), skip_unchanged=skip_unchanged)
    sid, written = asyncio.run(_logged_out_meanwhile(store, raw, change))
    assert written == sid
    assert raw.get(sid) is None
    assert raw.length() == 0  # nothing written under another id either


def test_remember_must_be_positive(make_async_store: Any) -> None:
    with pytest.raises(ValueError):
        DynamoDBStore(make_async_store(), remember=0)


def test_a_non_rolling_session_ends_with_its_lifetime(
    make_async_store: Any, make_store: Any
) -> None:
    raw = make_store()
    store = DynamoDBStore(make_async_store())
    with TestClient(make_app(store, lifetime=3600, rolling=False)) as client:
        client.post("/set?user=alice")
        sid = client.cookies["session"]
        record = raw.get(sid)
        assert abs(record.expires.timestamp() - (time.time() + 3600)) < 30
        # Its lifetime is over (created long ago) while the item is still there: the next
        # response removes it rather than keeping it gc_ttl longer.
        stored = json.loads(record.data)
        stored["__metadata__"]["created"] = time.time() - 7200
        raw.set(sid, json.dumps(stored), time.time() + 60)
        response = client.get("/get")
        assert (
            "max-age=-" in response.headers["set-cookie"]
            or "max-age=0" in (response.headers["set-cookie"])
        )
    assert raw.get(sid) is None


def test_non_json_data_is_refused(make_async_store: Any) -> None:
    from connect_dynamodb import SerializationError

    store = DynamoDBStore(make_async_store())

    async def write() -> None:
        await store.write("some-session-id", b"not json {", 3600, 3600)

    import asyncio

    with pytest.raises(SerializationError):
        asyncio.run(write())


def test_gc_ttl_must_be_positive(make_async_store: Any) -> None:
    with pytest.raises(ValueError):
        DynamoDBStore(make_async_store(), gc_ttl=0)
