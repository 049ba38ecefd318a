"""Fixtures of the framework-integration tests: DynamoDB Local tables, stores, a counting proxy."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import counting_proxy
from connect_dynamodb import AsyncSessionStore, SessionStore
from contrib_support import create_table, local_endpoint


@pytest.fixture
def dynamodb_endpoint() -> str:
    return local_endpoint()


@pytest.fixture
def fresh_table() -> str:
    """A new table on DynamoDB Local, for one test."""
    return create_table()


@pytest.fixture
def make_store(fresh_table: str) -> Iterator[Callable[..., SessionStore]]:
    """Makes blocking stores on the test's table (``endpoint`` may point at a proxy)."""
    made: list[SessionStore] = []

    def make(**options: Any) -> SessionStore:
        options.setdefault("endpoint", local_endpoint())
        store = SessionStore(fresh_table, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def make_async_store(fresh_table: str) -> Iterator[Callable[..., AsyncSessionStore]]:
    """Makes asyncio stores on the test's table."""
    made: list[AsyncSessionStore] = []

    def make(**options: Any) -> AsyncSessionStore:
        options.setdefault("endpoint", local_endpoint())
        store = AsyncSessionStore(fresh_table, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def proxy() -> Iterator[counting_proxy.CountingProxy]:
    """A counting proxy in front of DynamoDB Local."""
    p = counting_proxy.start(local_endpoint())
    yield p
    p.close()
