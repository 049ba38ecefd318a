"""The shared vectors of tests/vectors/stored-items.json: items as published connect-dynamodb
versions (and damaged writers) left them, read through both Python stores, so that Python is
held to the behaviour of the Rust core and the Node package."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from connect_dynamodb import AsyncSessionStore, SessionStore

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "stored-items.json"


def load() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(VECTORS.read_text())["items"]
    return items


def write_vectors(dynamodb: Any, table: str) -> float:
    now = time.time()
    for vector in load():
        item: dict[str, Any] = {"id": {"S": "sess:" + vector["name"]}}
        expires = vector["expires"]
        if expires is not None:
            at = now + expires["offset_secs"]
            unit = expires["unit"]
            if unit == "s":
                number = str(math.floor(at))
            elif unit == "s-fraction":
                number = f"{at:.3f}"
            elif unit == "ms":
                number = str(math.floor(at * 1000))
            else:
                raise AssertionError(f"unknown unit {unit}")
            item["expires"] = {"N": number}
        item.update(vector["attributes"])
        dynamodb.put_item(TableName=table, Item=item)
    return now


def check(vector: dict[str, Any], got: Any) -> None:
    name = vector["name"]
    assert (got is not None) == vector["found"], name
    if got is not None:
        assert got.data == vector["attributes"]["sess"]["S"], name
        left = got.expires.timestamp() - time.time()
        assert abs(left - vector["expires"]["offset_secs"]) < 5, name


def test_the_vectors_cover_live_and_dead_items() -> None:
    vectors = load()
    found = [v for v in vectors if v["found"]]
    assert len(found) >= 4
    assert len(found) < len(vectors)


def test_every_vector_through_the_blocking_store(store: SessionStore, dynamodb: Any) -> None:
    write_vectors(dynamodb, store.table)
    for vector in load():
        check(vector, store.get(vector["name"]))
    live = sorted(v["name"] for v in load() if v["found"])
    assert sorted(store.ids()) == live
    assert sorted(store.all()) == live
    assert store.length() == len(live)


async def test_every_vector_through_the_async_store(
    async_store: AsyncSessionStore, dynamodb: Any
) -> None:
    write_vectors(dynamodb, async_store.table)
    for vector in load():
        check(vector, await async_store.get(vector["name"]))
    live = sorted(v["name"] for v in load() if v["found"])
    assert sorted(await async_store.ids()) == live
