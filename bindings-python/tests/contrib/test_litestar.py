"""connect_dynamodb.contrib.litestar against DynamoDB Local: Litestar 2's own store tests
(tests/unit/test_stores.py and the server-side session backend's tests, ported: our
ManualClock, passed to the store, stands in for time_machine), and real Litestar apps through
Litestar's TestClient: server-side sessions and the response cache."""

from __future__ import annotations

import asyncio
import math
import string
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from secrets import token_hex
from typing import Any

import pytest
from connect_dynamodb import (
    AsyncSessionStore,
    InvalidArgumentError,
    ItemTooLargeError,
    SessionStore,
)
from connect_dynamodb.contrib.litestar import DynamoDBStore
from connect_dynamodb.testing import ManualClock
from litestar import Litestar, Request, get, post
from litestar.config.response_cache import ResponseCacheConfig
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.serialization import encode_json
from litestar.stores.base import NamespacedStore, Store
from litestar.stores.registry import StoreRegistry
from litestar.testing import TestClient


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(timezone.utc))


@pytest.fixture
def session_store(
    make_async_store: Callable[..., AsyncSessionStore], clock: ManualClock
) -> AsyncSessionStore:
    return make_async_store(clock=clock)


@pytest.fixture
def store(session_store: AsyncSessionStore) -> DynamoDBStore:
    """The root store (Litestar's ``store`` fixture, parametrized there over its backends)."""
    return DynamoDBStore(session_store)


@pytest.fixture(params=["root", "namespace"])
def namespaced_store(request: pytest.FixtureRequest, store: DynamoDBStore) -> NamespacedStore:
    """The root store, and a namespace of it (as Litestar's default store factory makes)."""
    return store if request.param == "root" else store.with_namespace("LITESTAR")


# --- Litestar's tests/unit/test_stores.py -------------------------------------------------------


async def test_get(store: Store) -> None:
    key = "key"
    value = b"value"
    assert await store.get("foo") is None

    await store.set(key, value, 60)

    stored_value = await store.get(key)
    assert stored_value == value


async def test_set(store: Store) -> None:
    values: dict[str, bytes | str] = {"key_1": b"value_1", "key_2": "value_2"}

    for key, value in values.items():
        await store.set(key, value)

    for key, value in values.items():
        stored_value = await store.get(key)
        assert stored_value == (value if isinstance(value, bytes) else value.encode("utf-8"))


@pytest.mark.parametrize("key", [*list(string.punctuation), "foo\xc3\xbc", ".."])
async def test_set_special_chars_key(store: Store, key: str) -> None:
    value = b"value"

    await store.set(key, value)
    assert await store.get(key) == value


async def test_expires(store: Store, clock: ManualClock) -> None:
    await store.set("foo", b"bar", expires_in=1)

    clock.advance(2)

    assert await store.get("foo") is None


@pytest.mark.parametrize("renew_for", [10, timedelta(seconds=10)])
async def test_get_and_renew(store: Store, renew_for: int | timedelta, clock: ManualClock) -> None:
    await store.set("foo", b"bar", expires_in=1)
    await store.get("foo", renew_for=renew_for)

    clock.advance(2)

    assert await store.get("foo") is not None


async def test_delete(store: Store) -> None:
    key = "key"
    await store.set(key, b"value", 60)

    await store.delete(key)

    assert await store.get(key) is None


async def test_delete_empty(store: Store) -> None:
    await store.delete("foo")


async def test_exists(store: Store) -> None:
    assert await store.exists("foo") is False

    await store.set("foo", b"bar")

    assert await store.exists("foo") is True


async def test_expires_in_not_set(store: Store) -> None:
    assert await store.expires_in("foo") is None

    await store.set("foo", b"bar")
    assert await store.expires_in("foo") == -1


async def test_delete_all(store: Store) -> None:
    keys = []
    for i in range(10):
        key = f"key-{i}"
        keys.append(key)
        await store.set(key, b"value", expires_in=10 if i % 2 else None)

    await store.delete_all()

    for key in keys:
        assert await store.get(key) is None


async def test_expires_in(store: Store, clock: ManualClock) -> None:
    # Litestar expects this of its Redis store (its memory and file stores fail it).
    assert await store.expires_in("foo") is None

    await store.set("foo", "bar")
    assert await store.expires_in("foo") == -1

    await store.set("foo", "bar", expires_in=10)
    expiration = await store.expires_in("foo")
    assert expiration is not None
    assert math.ceil(expiration / 10) == 1

    clock.advance(10)
    assert await store.expires_in("foo") is None


async def test_delete_all_leaves_other_keys(
    store: DynamoDBStore, session_store: AsyncSessionStore
) -> None:
    # test_redis_delete_all: a key outside the store's namespace survives, and so do sessions.
    other = DynamoDBStore(session_store, prefix="other:")
    await other.set("test_key", b"test_value")
    await session_store.set("sid", "{}")

    keys = []
    for i in range(10):
        key = f"key-{i}"
        keys.append(key)
        await store.set(key, b"value", expires_in=10 if i % 2 else None)

    await store.delete_all()

    for key in keys:
        assert await store.get(key) is None
    assert await other.get("test_key") == b"test_value"
    assert await session_store.get("sid") is not None


def test_with_namespace(store: DynamoDBStore) -> None:
    # test_redis_with_namespace / test_redis_namespaced_key.
    assert store.namespace is None
    assert store.prefix == "litestar:"
    namespaced_test = store.with_namespace("TEST")
    namespaced_test_foo = namespaced_test.with_namespace("FOO")
    assert namespaced_test.namespace == "TEST"
    assert namespaced_test_foo.namespace == "TEST:FOO"
    assert namespaced_test_foo.prefix == "litestar:TEST:FOO:"
    assert namespaced_test.store is store.store
    assert isinstance(namespaced_test_foo, DynamoDBStore)


@pytest.mark.parametrize("invalid", ["", ":", "foo:bar"])
def test_with_namespace_invalid_namespace(store: DynamoDBStore, invalid: str) -> None:
    # test_file_with_namespace_invalid_namespace_char: ours refuses only the separator.
    with pytest.raises(ValueError) as raised:
        store.with_namespace(invalid)
    assert isinstance(raised.value, InvalidArgumentError)


async def test_namespaced_store_get_set(namespaced_store: NamespacedStore) -> None:
    foo_namespaced = namespaced_store.with_namespace("foo")
    await namespaced_store.set("bar", b"litestar namespace")
    await foo_namespaced.set("bar", b"foo namespace")

    assert await namespaced_store.get("bar") == b"litestar namespace"
    assert await foo_namespaced.get("bar") == b"foo namespace"


async def test_namespaced_store_does_not_propagate_up(namespaced_store: NamespacedStore) -> None:
    foo_namespace = namespaced_store.with_namespace("FOO")
    await foo_namespace.set("foo", b"foo-value")
    await namespaced_store.set("bar", b"bar-value")

    await foo_namespace.delete_all()

    assert await foo_namespace.get("foo") is None
    assert await namespaced_store.get("bar") == b"bar-value"


async def test_namespaced_store_delete_all_propagates_down(
    namespaced_store: NamespacedStore,
) -> None:
    foo_namespace = namespaced_store.with_namespace("FOO")
    await foo_namespace.set("foo", b"foo-value")
    await namespaced_store.set("bar", b"bar-value")

    await namespaced_store.delete_all()

    assert await foo_namespace.get("foo") is None
    assert await namespaced_store.get("bar") is None


async def test_delete_expired(store: DynamoDBStore, clock: ManualClock) -> None:
    # test_memory_delete_expired: the memory and file stores' `delete_expired`.
    expect_expired: list[str] = []
    expect_not_expired: list[str] = []
    for i in range(10):
        key = f"key-{i}"
        expires_in = 0.001 if i % 2 == 0 else None
        await store.set(key, b"value", expires_in=expires_in)
        (expect_expired if expires_in else expect_not_expired).append(key)

    clock.advance(1)
    report = await store.delete_expired()
    assert report.deleted == len(expect_expired)

    for key in expect_expired:
        assert await store.get(key) is None
    for key in expect_not_expired:
        assert await store.get(key) is not None


def test_registry_default_factory(store: DynamoDBStore) -> None:
    # test_registry_get, with the store as Litestar's default factory: each name a namespace.
    registry = StoreRegistry(default_factory=store.with_namespace)
    for name in ("sessions", "response_cache", "rate_limit"):
        made = registry.get(name)
        assert isinstance(made, DynamoDBStore)
        assert made.prefix == f"litestar:{name}:"
        assert registry.get(name) is made


# --- the store's own contract -------------------------------------------------------------------


async def test_expiry_is_exact_to_the_millisecond(store: DynamoDBStore, clock: ManualClock) -> None:
    await store.set("foo", b"bar", expires_in=timedelta(seconds=1, milliseconds=500))
    assert await store.expires_in("foo") == 1
    clock.advance(1.499)
    assert await store.exists("foo")
    assert await store.expires_in("foo") == 0
    clock.advance(0.001)
    assert not await store.exists("foo")
    assert await store.get("foo") is None
    # 0 means no expiry, as in Litestar's StorageObject.
    await store.set("zero", b"z", expires_in=0)
    await store.set("zero-delta", b"z", expires_in=timedelta(0))
    clock.advance(timedelta(days=365))
    assert await store.expires_in("zero") == -1
    assert await store.get("zero-delta") == b"z"


async def test_renew_for_leaves_values_without_expiry_alone(
    store: DynamoDBStore, clock: ManualClock
) -> None:
    await store.set("forever", b"f")
    assert await store.get("forever", renew_for=10) == b"f"
    assert await store.expires_in("forever") == -1
    # A missing or expired value is not brought back by a renewal.
    assert await store.get("missing", renew_for=10) is None
    await store.set("short", b"s", expires_in=1)
    clock.advance(1)
    assert await store.get("short", renew_for=10) is None
    assert not await store.exists("short")


async def test_values_are_bytes_in_items_of_their_own(
    store: DynamoDBStore, dynamodb: Any, fresh_table: str, clock: ManualClock
) -> None:
    sessions = store.with_namespace("sessions")
    await sessions.set("sid", b"\x00\xff", expires_in=60)
    await store.set("text", "ü")
    item = dynamodb.get_item(
        TableName=fresh_table, Key={"id": {"S": "litestar:sessions:sid"}}, ConsistentRead=True
    )["Item"]
    now_ms = clock.now().timestamp() * 1000
    assert item["type"] == {"S": "connect-kv"}
    assert item["value"] == {"B": b"\x00\xff"}
    assert abs(int(item["expires_ms"]["N"]) - (now_ms + 60_000)) <= 1
    assert int(item["expires"]["N"]) == math.ceil(int(item["expires_ms"]["N"]) / 1000)
    text = dynamodb.get_item(
        TableName=fresh_table, Key={"id": {"S": "litestar:text"}}, ConsistentRead=True
    )["Item"]
    assert text["value"] == {"B": "ü".encode()}
    assert "expires" not in text and "expires_ms" not in text


async def test_errors_are_typed_and_hold_no_key(store: DynamoDBStore) -> None:
    with pytest.raises(ItemTooLargeError):
        await store.set("big", b"x" * (400 * 1024))
    secret = "secret-key-" + "k" * 3000
    with pytest.raises(InvalidArgumentError) as raised:
        await store.get(secret)
    assert "secret-key" not in str(raised.value)
    with pytest.raises(InvalidArgumentError) as surrogate:
        await store.set("secret\udc80", b"v")
    assert "secret" not in str(surrogate.value)
    with pytest.raises(InvalidArgumentError):
        await store.set("k", b"v", expires_in=-1)
    with pytest.raises(TypeError):
        await store.set("k", 42)  # type: ignore[arg-type]


def test_construction(
    session_store: AsyncSessionStore,
    make_store: Callable[..., SessionStore],
    endpoint: str,
    fresh_table: str,
) -> None:
    with pytest.raises(InvalidArgumentError):
        DynamoDBStore(session_store, prefix="")
    with pytest.raises(InvalidArgumentError):
        DynamoDBStore(session_store, prefix="sess:litestar:")
    with pytest.raises(TypeError):
        DynamoDBStore(session_store, table="other")
    # A blocking store serves as well, and options make an AsyncSessionStore.
    blocking = DynamoDBStore(make_store(), prefix="mine:")
    assert blocking.prefix == "mine:"
    made = DynamoDBStore(table=fresh_table, endpoint=endpoint, region="us-east-1")
    assert isinstance(made.store, AsyncSessionStore)
    assert repr(made) == "DynamoDBStore(prefix='litestar:')"
    made.store.close()


def test_one_store_serves_every_event_loop(store: DynamoDBStore) -> None:
    # Made outside any loop; used from two loops in turn, and from threads' loops at once.
    asyncio.run(store.set("k", b"v"))
    assert asyncio.run(store.get("k")) == b"v"

    async def many() -> list[bytes | None]:
        return await asyncio.gather(*(store.get("k") for _ in range(20)))

    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: asyncio.run(many()), range(4)))
    assert all(r == b"v" for batch in results for r in batch)


# --- Litestar's server-side session backend tests, on this store -------------------------------


@pytest.fixture
def backend() -> ServerSideSessionBackend:
    return ServerSideSessionBackend(config=ServerSideSessionConfig())


def session_data() -> bytes:
    return encode_json({token_hex(): token_hex()})


async def test_non_default_store(store: DynamoDBStore) -> None:
    @get("/", sync_to_thread=False)
    def handler(request: Request[Any, Any, Any]) -> None:
        request.set_session({"foo": "bar"})

    sessions = store.with_namespace("sessions")
    app = Litestar(
        [handler], middleware=[ServerSideSessionConfig().middleware], stores={"sessions": sessions}
    )
    with TestClient(app) as client:
        res = client.get("/")
        assert res.status_code == 200
        assert await sessions.exists(res.cookies["session"])


async def test_set_store_name(store: DynamoDBStore) -> None:
    @get("/", sync_to_thread=False)
    def handler(request: Request[Any, Any, Any]) -> None:
        request.set_session({"foo": "bar"})

    app = Litestar(
        [handler],
        middleware=[ServerSideSessionConfig(store="some_store").middleware],
        stores={"some_store": store},
    )
    with TestClient(app) as client:
        res = client.get("/")
        assert res.status_code == 200
        assert await store.exists(res.cookies["session"])


async def test_backend_get_set(backend: ServerSideSessionBackend, store: DynamoDBStore) -> None:
    data = session_data()
    await backend.set("foo", data, store)
    assert await backend.get("foo", store) == data


async def test_backend_get_renew_on_access(
    backend: ServerSideSessionBackend, store: DynamoDBStore, clock: ManualClock
) -> None:
    backend.config.max_age = 1
    backend.config.renew_on_access = True

    await backend.set("foo", session_data(), store)
    backend.config.max_age = 10

    await backend.get("foo", store)

    clock.advance(1.01)

    assert await backend.get("foo", store) is not None


async def test_backend_get_set_multiple_returns_correct_identity(
    backend: ServerSideSessionBackend, store: DynamoDBStore
) -> None:
    foo_data = session_data()
    await backend.set("foo", foo_data, store)
    await backend.set("bar", session_data(), store)

    assert await backend.get("foo", store) == foo_data


async def test_backend_delete(backend: ServerSideSessionBackend, store: DynamoDBStore) -> None:
    await backend.set("foo", session_data(), store)
    await backend.set("bar", session_data(), store)

    await backend.delete("foo", store)

    assert not await backend.get("foo", store)
    assert await backend.get("bar", store)


async def test_backend_delete_idempotence(
    backend: ServerSideSessionBackend, store: DynamoDBStore
) -> None:
    await backend.set("foo", session_data(), store)

    await backend.delete("foo", store)
    await backend.delete("foo", store)


async def test_backend_max_age_expires(
    backend: ServerSideSessionBackend, store: DynamoDBStore, clock: ManualClock
) -> None:
    backend.config.max_age = 1
    await backend.set("foo", session_data(), store)

    clock.advance(1)

    assert not await backend.get("foo", store)


# --- real apps ----------------------------------------------------------------------------------


@post("/login")
async def login(request: Request[Any, Any, Any]) -> dict[str, str]:
    data = await request.json()
    request.set_session({"user": data["user"]})
    return {"ok": "yes"}


@get("/me")
async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"user": request.session.get("user")}


@post("/logout")
async def logout(request: Request[Any, Any, Any]) -> dict[str, str]:
    request.clear_session()
    return {"ok": "yes"}


def session_app(store: Store, **config: Any) -> Litestar:
    return Litestar(
        [login, me, logout],
        middleware=[ServerSideSessionConfig(**config).middleware],
        stores={"sessions": store},
    )


async def test_login_read_back_logout(store: DynamoDBStore, clock: ManualClock) -> None:
    sessions = store.with_namespace("sessions")
    with TestClient(session_app(sessions, max_age=3600)) as client:
        assert client.post("/login", json={"user": "ada"}).status_code == 201
        sid = client.cookies["session"]
        assert len(sid) == 64
        assert await sessions.exists(sid)
        # Whole seconds, rounded down, as Litestar's own stores report them.
        assert await sessions.expires_in(sid) in (3599, 3600)
        assert client.get("/me").json() == {"user": "ada"}

        client.post("/logout")
        assert client.cookies.get("session") in (None, "null")
        assert not await sessions.exists(sid)
        assert client.get("/me").json() == {"user": None}

        # A session past its max age is gone, whatever DynamoDB's TTL has done.
        client.post("/login", json={"user": "grace"})
        clock.advance(3600)
        assert client.get("/me").json() == {"user": None}


async def test_renew_on_access(
    make_async_store: Callable[..., AsyncSessionStore], proxy: Any, clock: ManualClock
) -> None:
    counted = make_async_store(endpoint=proxy.url, first_use="nothing", clock=clock)
    sessions = DynamoDBStore(counted).with_namespace("sessions")
    with TestClient(session_app(sessions, max_age=10, renew_on_access=True)) as client:
        client.post("/login", json={"user": "ada"})
        sid = client.cookies["session"]
        for _ in range(3):
            clock.advance(8)
            proxy.reset()
            assert client.get("/me").json() == {"user": "ada"}
            # The read renews in the same request; Litestar then writes the session back.
            assert proxy.snapshot() == {"UpdateItem": 1, "PutItem": 1}
        assert await sessions.expires_in(sid) in (9, 10)
        clock.advance(10)
        assert client.get("/me").json() == {"user": None}

    # Without renew_on_access a view is one GetItem and Litestar's PutItem.
    with TestClient(session_app(sessions, max_age=10)) as client:
        client.post("/login", json={"user": "ada"})
        proxy.reset()
        assert client.get("/me").json() == {"user": "ada"}
        assert proxy.snapshot() == {"GetItem": 1, "PutItem": 1}


async def test_response_cache(store: DynamoDBStore, clock: ManualClock) -> None:
    calls: list[int] = []

    @get("/cached", cache=60)
    async def cached() -> dict[str, int]:
        calls.append(1)
        return {"calls": len(calls)}

    app = Litestar(
        [cached],
        response_cache_config=ResponseCacheConfig(),
        stores=StoreRegistry(default_factory=store.with_namespace),
    )
    cache = app.stores.get("response_cache")
    assert isinstance(cache, DynamoDBStore)
    with TestClient(app) as client:
        assert client.get("/cached").json() == {"calls": 1}
        assert client.get("/cached").json() == {"calls": 1}
        assert len(calls) == 1
        clock.advance(59)
        assert client.get("/cached").json() == {"calls": 1}
        clock.advance(1)
        assert client.get("/cached").json() == {"calls": 2}
    await store.delete_all()
    with TestClient(app) as client:
        assert client.get("/cached").json() == {"calls": 3}


async def test_the_store_outlives_the_app_lifespan(
    session_store: AsyncSessionStore, make_async_store: Callable[..., AsyncSessionStore]
) -> None:
    # Litestar's "stores close" test: the stores given to the app are entered and left with
    # its lifespan, and the app may start again.
    store = DynamoDBStore(session_store)
    app = session_app(store)
    for user in ("ada", "grace"):
        with TestClient(app) as client:
            client.post("/login", json={"user": user})
            assert client.get("/me").json() == {"user": user}
    assert not session_store.closed

    owned = DynamoDBStore(make_async_store(), handle_client_shutdown=True)
    with TestClient(session_app(owned)) as client:
        client.post("/login", json={"user": "ada"})
    assert owned.store.closed
