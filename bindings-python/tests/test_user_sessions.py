"""``user_field``: the store writes the session's user to an attribute with a global secondary
index, so ``user_sessions`` lists a user's sessions and ``end_user_sessions`` ends them, with a
query, never a scan; ``create_table`` adds the index and ``verify_table`` checks it."""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from connect_dynamodb import (
    AsyncSessionStore,
    ConfigError,
    InvalidArgumentError,
    SessionStore,
    TableNotFoundError,
    UserSession,
)
from connect_dynamodb.testing import ManualClock

UTC = dt.timezone.utc
START = dt.datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def indexed(
    endpoint: str, table_name: str, store_factory: Callable[..., SessionStore]
) -> Callable[..., SessionStore]:
    """Makes stores with ``user_field="account.id"`` on a new table that ``create_table`` made
    with the user index."""
    with SessionStore(table_name, endpoint=endpoint, user_field="account.id") as setup:
        assert setup.create_table() is True
        assert setup.verify_table() == []

    def make(**options: Any) -> SessionStore:
        options.setdefault("user_field", "account.id")
        options.setdefault("table", table_name)
        return store_factory(**options)

    return make


@pytest.fixture
def fresh_endpoint() -> Iterator[str]:
    """A DynamoDB Local of this test's own (``scripts/dynamodb-local.sh``). DynamoDB Local 3.3.1
    leaves an index that UpdateTable adds to an existing table CREATING for ever once the server
    holds many tables with TTL, as it does under the full suite."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "dynamodb-local.sh"
    # The command prints the server's endpoint and holds it until the read end of a pipe sees
    # its write end closed (a command the script runs in the background has no stdin).
    release, held = os.pipe()
    hold = (
        f"import os, sys; print(os.environ['DYNAMODB_ENDPOINT'], flush=True); os.read({release}, 1)"
    )
    server = subprocess.Popen(
        [str(script), "run", "--", sys.executable, "-c", hold],
        stdout=subprocess.PIPE,
        text=True,
        pass_fds=(release,),
    )
    os.close(release)
    assert server.stdout is not None
    try:
        line = server.stdout.readline().strip()
        assert line.startswith("http://"), "the fresh DynamoDB Local did not start"
        yield line
    finally:
        os.close(held)
        assert server.wait(timeout=60) == 0


def test_the_index_is_added_to_an_existing_table_by_create_table_only(
    fresh_endpoint: str,
) -> None:
    table = "py-user-index"
    with SessionStore(table, endpoint=fresh_endpoint) as plain:
        # The table, as connect-dynamodb 3.x made it: no index.
        assert plain.create_table() is True
        plain.set("before", json.dumps({"uid": "ada"}))
    with SessionStore(table, endpoint=fresh_endpoint, user_field="uid") as store:
        assert any("user-index" in problem for problem in store.verify_table())
        # First use does not add the index to an existing table: sessions are saved (with
        # their user attribute), the index is reported missing.
        store.set("after", json.dumps({"uid": "ada"}))
        with pytest.raises(TableNotFoundError) as caught:
            store.user_sessions("ada")
        assert "user-index" in str(caught.value) and "create_table" in str(caught.value)
        assert store.create_table() is False  # the table exists: UpdateTable adds the index
        assert store.verify_table() == []
        # A session saved before the option was on has no user attribute until it is saved
        # again; one saved before the index existed is indexed.
        assert [s.id for s in store.user_sessions("ada")] == ["after"]
        store.set("before", json.dumps({"uid": "ada", "n": 1}))
        assert sorted(s.id for s in store.user_sessions("ada")) == ["after", "before"]


def account(user: object, **more: object) -> str:
    return json.dumps({"account": {"id": user}, **more})


def test_a_users_sessions_are_listed_with_expiry_and_creation_time(
    indexed: Callable[..., SessionStore],
) -> None:
    clock = ManualClock(START)
    store = indexed(clock=clock)
    assert store.user_field == "account.id"
    for n in range(3):
        store.set(f"ada-{n}", account("ada"), clock.now() + dt.timedelta(days=n + 1))
        clock.advance(60)
    store.set("bob-0", account("bob"))
    store.set("numeric", account(42))
    store.set("anonymous", json.dumps({"cart": [1]}))
    store.set("not-a-user", account(True))  # neither a string nor a whole number
    store.set("expired", account("ada"), clock.now() - dt.timedelta(seconds=1))

    listed = sorted(store.user_sessions("ada"), key=lambda s: s.id)
    assert [s.id for s in listed] == ["ada-0", "ada-1", "ada-2"]
    for n, s in enumerate(listed):
        assert isinstance(s, UserSession)
        assert s.created == START + dt.timedelta(minutes=n)
        assert s.expires == START + dt.timedelta(minutes=n, days=n + 1)
    assert [s.id for s in store.user_sessions("bob")] == ["bob-0"]
    assert [s.id for s in store.user_sessions(42)] == ["numeric"]
    assert [s.id for s in store.user_sessions("42")] == ["numeric"]
    assert store.user_sessions("True") == store.user_sessions("nobody") == []


def test_a_users_sessions_are_ended_but_the_one_kept(indexed: Callable[..., SessionStore]) -> None:
    store = indexed()
    for n in range(3):
        store.set(f"ada-{n}", account("ada"))
    store.set("bob-0", account("bob"))
    late = store.get("ada-0")
    assert late is not None
    assert store.end_user_sessions("ada", keep="ada-1") == 2
    assert [s.id for s in store.user_sessions("ada")] == ["ada-1"]
    assert store.get("ada-0") is None and store.get("ada-2") is None
    assert store.get("ada-1") is not None and store.get("bob-0") is not None
    # An ended session is a tombstone: a request still running cannot save it back.
    assert store.set("ada-0", late.data) == "ended"
    assert store.end_user_sessions("ada") == 1
    assert store.user_sessions("ada") == []
    assert store.end_user_sessions("ada") == 0


def test_the_cost_is_one_query_and_one_batch_write(
    indexed: Callable[..., SessionStore], proxy: Any
) -> None:
    store = indexed(endpoint=proxy.url, first_use="nothing")
    for n in range(30):
        store.set(f"ada-{n}", account("ada"))
    proxy.reset()
    assert len(store.user_sessions("ada")) == 30
    assert proxy.snapshot() == {"Query": 1}
    proxy.reset()
    assert store.end_user_sessions("ada", keep="ada-0") == 29
    assert proxy.snapshot() == {"Query": 1, "BatchWriteItem": 2}  # 25 per batch


def test_a_new_table_gets_the_index_from_create_table(endpoint: str, table_name: str) -> None:
    with SessionStore(table_name, endpoint=endpoint, user_field="uid") as store:
        assert store.create_table() is True
        assert store.verify_table() == []
        store.set("s", json.dumps({"uid": "ada"}))
        assert [s.id for s in store.user_sessions("ada")] == ["s"]


def test_errors(indexed: Callable[..., SessionStore]) -> None:
    store = indexed(user_field=None)
    with pytest.raises(ConfigError, match=r"^invalid option `user_field`: "):
        store.user_sessions("ada")
    with pytest.raises(ConfigError, match="`user_field`"):
        store.end_user_sessions("ada")
    store = indexed()
    with pytest.raises(InvalidArgumentError):
        store.user_sessions("")
    with pytest.raises(InvalidArgumentError):
        store.user_sessions("x" * 1025)
    with pytest.raises(InvalidArgumentError):
        store.user_sessions("ada-\udce9")
    for wrong in (None, True, 1.5, b"ada"):
        with pytest.raises(TypeError):
            store.user_sessions(wrong)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.end_user_sessions("ada", keep=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.end_user_sessions("ada", "s")  # type: ignore[misc]


def test_user_session_values_never_show_the_id() -> None:
    session = UserSession("secret-session-id", START + dt.timedelta(hours=1), START)
    assert (session.id, session.created) == ("secret-session-id", START)
    assert session.expires == START + dt.timedelta(hours=1)
    assert "secret-session-id" not in repr(session)
    assert "2030-01-01T01:00:00" in repr(session)
    assert pickle.loads(pickle.dumps(session)) == session
    assert session != UserSession("other", START + dt.timedelta(hours=1), START)
    assert UserSession("s", START).created is None


async def test_the_async_store(
    indexed: Callable[..., SessionStore],
    async_store_factory: Callable[..., AsyncSessionStore],
) -> None:
    indexed()
    store = async_store_factory(user_field="account.id")
    for n in range(2):
        await store.set(f"ada-{n}", account("ada"))
    assert sorted(s.id for s in await store.user_sessions("ada")) == ["ada-0", "ada-1"]
    assert await store.end_user_sessions("ada", keep="ada-1") == 1
    assert [s.id for s in await store.user_sessions("ada")] == ["ada-1"]
