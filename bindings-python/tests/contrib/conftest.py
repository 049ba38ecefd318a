"""Fixtures of the framework-integration tests: DynamoDB Local tables and stores (the counting
proxy is ``tests/conftest.py``'s ``proxy``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from connect_dynamodb import AsyncSessionStore, SessionStore
from contrib_support import local_endpoint


@pytest.fixture
def dynamodb_endpoint() -> str:
    return local_endpoint()


@pytest.fixture
def fresh_table(table_name: str, store_factory: Callable[..., SessionStore]) -> str:
    """A new table on DynamoDB Local, for one test (made by ``tests/conftest.py``)."""
    store_factory()
    return table_name


@pytest.fixture
def make_store(
    fresh_table: str, store_factory: Callable[..., SessionStore]
) -> Callable[..., SessionStore]:
    """Makes blocking stores on the test's table (``endpoint`` may point at a proxy)."""
    return store_factory


@pytest.fixture
def make_async_store(
    fresh_table: str, async_store_factory: Callable[..., AsyncSessionStore]
) -> Callable[..., AsyncSessionStore]:
    """Makes asyncio stores on the test's table."""
    return async_store_factory
