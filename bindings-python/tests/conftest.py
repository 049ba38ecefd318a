"""Fixtures of the Python suite: DynamoDB Local (``DYNAMODB_ENDPOINT``, set by
``scripts/dynamodb-local.sh run``), a fresh table per test, stores on it, raw access through
boto3, and servers that fail in the ways a real one cannot be made to."""

from __future__ import annotations

import os
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from connect_dynamodb import AsyncSessionStore, SessionStore

# The counting proxy lives beside the framework tests, which also run it as a process.
sys.path.insert(0, str(Path(__file__).resolve().parent / "contrib"))
import counting_proxy


@pytest.fixture(scope="session")
def endpoint() -> str:
    """DynamoDB Local's URL."""
    url = os.environ.get("DYNAMODB_ENDPOINT")
    if not url:
        pytest.fail("DYNAMODB_ENDPOINT is not set: run the suite with `make test-python`")
    return url


@pytest.fixture
def table_name(dynamodb: Any) -> Iterator[str]:
    """A table name no other test uses; the table, if the test made one, is deleted after it.
    (DynamoDB Local slows down with every table that has TTL on: with a dozen of them, an index
    added to a table by UpdateTable stays CREATING for minutes.)"""
    name = f"py-{uuid.uuid4().hex[:16]}"
    yield name
    delete_table(dynamodb, name)


def delete_table(dynamodb: Any, table: str) -> None:
    """Deletes ``table`` if it exists."""
    try:
        dynamodb.delete_table(TableName=table)
    except dynamodb.exceptions.ResourceNotFoundException:
        pass


def create_table_without_ttl(dynamodb: Any, table: str, hash_key: str = "id") -> None:
    """Creates ``table`` as the store would, but with TTL off: DynamoDB Local applies TTL, and
    its own deletions of expired items would race the reaper and ``clear`` in the tests that
    count what those delete. (``create_table`` itself, TTL included, has tests of its own.)
    A table the test made already is left as it is."""
    try:
        dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": hash_key, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except dynamodb.exceptions.ResourceInUseException:
        return
    dynamodb.get_waiter("table_exists").wait(
        TableName=table, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300}
    )


@pytest.fixture
def store_factory(
    endpoint: str, table_name: str, dynamodb: Any
) -> Iterator[Callable[..., SessionStore]]:
    """Makes ``SessionStore(table_name, endpoint=endpoint, **options)``; the first call creates
    the table (with TTL off, see ``create_table_without_ttl``). Every store made is closed after
    the test."""
    made: list[SessionStore] = []

    def make(**options: Any) -> SessionStore:
        options.setdefault("endpoint", endpoint)
        options.setdefault("table", table_name)
        if not made and options["table"] == table_name:
            create_table_without_ttl(dynamodb, table_name, options.get("hash_key", "id"))
        store = SessionStore(**options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def async_store_factory(
    endpoint: str, table_name: str, store_factory: Callable[..., SessionStore]
) -> Iterator[Callable[..., AsyncSessionStore]]:
    """Makes ``AsyncSessionStore``s on the test's table (created through a SessionStore)."""
    store_factory()
    made: list[AsyncSessionStore] = []

    def make(**options: Any) -> AsyncSessionStore:
        options.setdefault("endpoint", endpoint)
        options.setdefault("table", table_name)
        store = AsyncSessionStore(**options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(store_factory: Callable[..., SessionStore]) -> SessionStore:
    """A SessionStore with the default options on a fresh table."""
    return store_factory()


@pytest.fixture
def async_store(async_store_factory: Callable[..., AsyncSessionStore]) -> AsyncSessionStore:
    """An AsyncSessionStore with the default options on a fresh table."""
    return async_store_factory()


@pytest.fixture
def proxy(endpoint: str) -> Iterator[counting_proxy.CountingProxy]:
    """A proxy in front of DynamoDB Local that counts requests by operation."""
    p = counting_proxy.start(endpoint)
    yield p
    p.close()


@pytest.fixture(scope="session")
def dynamodb(endpoint: str) -> Any:
    """A boto3 DynamoDB client on DynamoDB Local, to read and write raw items."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "localtest"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "localtest"),
    )


class SilentServer:
    """A server that accepts connections, reads what the client sends and never answers.
    It counts the connections it accepted and the ones the client closed, so a test can wait
    until a request is in flight, and see that an abandoned request lets its connection go."""

    def __init__(self) -> None:
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self._server.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._changed = threading.Condition()
        self._accepted: list[socket.socket] = []
        self._closed = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except (socket.timeout, OSError):
                continue
            with self._changed:
                self._accepted.append(conn)
                self._changed.notify_all()
            reader = threading.Thread(target=self._read, args=(conn,), daemon=True)
            self._threads.append(reader)
            reader.start()

    def _read(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        while not self._stop.is_set():
            try:
                if not conn.recv(65536):
                    break
            except socket.timeout:
                continue
            except OSError:
                break
        with self._changed:
            self._closed += 1
            self._changed.notify_all()

    def wait_until(self, accepted: int = 0, closed: int = 0, timeout: float = 10) -> bool:
        """Whether, within ``timeout`` seconds, at least ``accepted`` connections were accepted
        and at least ``closed`` of them closed by the client."""
        with self._changed:
            return self._changed.wait_for(
                lambda: len(self._accepted) >= accepted and self._closed >= closed, timeout
            )

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for conn in self._accepted:
            conn.close()
        self._server.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """A server that accepts connections and never answers."""
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def silent_endpoint(silent_server: SilentServer) -> str:
    """The URL of a server that accepts connections and never answers."""
    return silent_server.url


@pytest.fixture
def closed_endpoint() -> str:
    """An endpoint on a port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
