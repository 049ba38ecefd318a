"""The shared vectors of tests/vectors/stored-items.json: items as published connect-dynamodb
versions (and damaged writers) left them, read through both Python stores, so that Python is
held to the behaviour of the Rust core and the Node package.

Each vector is read by a store of its configuration (``config``: none, ``at-rest`` or
``at-rest-hashed``, whose keys the file gives): the vectors of one configuration go as raw items
into a fresh table, then ``get`` of each name finds it, does not, or raises the vector's
``error``; ``ids``/``all``/``length`` list exactly the found ones, by what their table key holds
after the prefix (with hashed ids, the hash)."""

from __future__ import annotations

import base64
import functools
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from connect_dynamodb import AsyncSessionStore, SessionStore
from connect_dynamodb.exceptions import _BY_CODE

VECTORS = Path(__file__).resolve().parents[2] / "tests" / "vectors" / "stored-items.json"
PREFIX = "sess:"
CONFIGS = [None, "at-rest", "at-rest-hashed"]


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(VECTORS.read_text())
    return loaded


def load(config: str | None = None) -> list[dict[str, Any]]:
    """The vectors read with ``config`` (None: the defaults)."""
    return [v for v in document()["items"] if v.get("config") == config]


def store_options(config: str | None) -> dict[str, Any]:
    """The store options of a configuration of the file. Without one, encryption and hashing
    are turned off explicitly, so the environment cannot interfere. The first key goes as bytes,
    the others as base64 text: both spellings are the face's."""
    if config is None:
        return {"encryption_keys": [], "id_hash_key": False}
    at_rest = document()["at_rest"]
    keys = at_rest["keys"]
    settings = at_rest["configs"][config]
    names = settings["encryption_keys"]
    options: dict[str, Any] = {
        "encryption_keys": [base64.b64decode(keys[names[0]])] + [keys[n] for n in names[1:]],
        "compress_threshold": settings.get("compress_threshold"),
        "id_hash_key": False,
    }
    if "id_hash_key" in settings:
        options["id_hash_key"] = keys[settings["id_hash_key"]]
    return options


def attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A vector's attribute value as boto3's low-level client takes it (binary as bytes)."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "M":
        return {"M": {k: attribute(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [attribute(v) for v in inner]}
    return {kind: inner}


def table_key(vector: dict[str, Any]) -> str:
    key: str = vector.get("key") or PREFIX + vector["name"]
    return key


def write_vectors(dynamodb: Any, table: str, config: str | None = None) -> list[str]:
    """Puts the vectors of ``config`` into ``table``; the listing of the found ones (what their
    table keys hold after the prefix), sorted."""
    now = time.time()
    for vector in load(config):
        item: dict[str, Any] = {"id": {"S": table_key(vector)}}
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
        item.update({k: attribute(v) for k, v in vector["attributes"].items()})
        dynamodb.put_item(TableName=table, Item=item)
    return sorted(table_key(v)[len(PREFIX) :] for v in load(config) if v["found"])


def expected_text(vector: dict[str, Any]) -> str:
    text: str = vector.get("session") or vector["attributes"]["sess"]["S"]
    return text


def check(vector: dict[str, Any], get: Callable[[], Any]) -> None:
    """Checks what ``get()`` (the store's get of the vector's name) gives for ``vector``."""
    name = vector["name"]
    if "error" in vector:
        with pytest.raises(_BY_CODE[vector["error"]]) as caught:
            get()
        assert caught.value.code == vector["error"], name
        return
    got = get()
    assert (got is not None) == vector["found"], name
    if got is not None:
        assert got.data == expected_text(vector), name
        left = got.expires.timestamp() - time.time()
        assert abs(left - vector["expires"]["offset_secs"]) < 5, name


@pytest.mark.parametrize("config", CONFIGS)
def test_the_vectors_cover_live_and_dead_items(config: str | None) -> None:
    vectors = load(config)
    found = [v for v in vectors if v["found"]]
    assert len(found) >= (4 if config is None else 1)
    assert len(found) < len(vectors)


def test_every_vector_has_a_known_configuration_and_error() -> None:
    vectors = document()["items"]
    assert {v.get("config") for v in vectors} == set(CONFIGS)
    assert sum(len(load(config)) for config in CONFIGS) == len(vectors)
    errors = {v["error"] for v in vectors if "error" in v}
    assert errors == {"UNREADABLE"}
    assert errors <= set(_BY_CODE)


@pytest.mark.parametrize("config", CONFIGS)
def test_every_vector_through_the_blocking_store(
    store_factory: Callable[..., SessionStore], dynamodb: Any, config: str | None
) -> None:
    store = store_factory(**store_options(config))
    live = write_vectors(dynamodb, store.table, config)
    for vector in load(config):
        check(vector, functools.partial(store.get, vector["name"]))
    assert sorted(store.ids()) == live
    assert sorted(store.all()) == live
    assert store.length() == len(live)


@pytest.mark.parametrize("config", CONFIGS)
async def test_every_vector_through_the_async_store(
    async_store_factory: Callable[..., AsyncSessionStore], dynamodb: Any, config: str | None
) -> None:
    async_store = async_store_factory(**store_options(config))
    live = write_vectors(dynamodb, async_store.table, config)
    for vector in load(config):
        name = vector["name"]
        if "error" in vector:
            with pytest.raises(_BY_CODE[vector["error"]]) as caught:
                await async_store.get(name)
            assert caught.value.code == vector["error"], name
            continue
        got = await async_store.get(name)
        check(vector, lambda got=got: got)
    assert sorted(await async_store.ids()) == live
    assert sorted(await async_store.all()) == live
    assert await async_store.length() == len(live)
