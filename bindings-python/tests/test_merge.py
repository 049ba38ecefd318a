"""``merge``: versioned writes, and a three-way merge when another request saved the session after
this one loaded it. ``get`` reports the version it read (``StoredSession.version``); the request
hands it back to its save (``loaded=``), and the store merges against exactly what was loaded at
that version, which it remembers."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from connect_dynamodb import AsyncSessionStore, ConflictError, SaveResult, SessionStore


def loads(text: str) -> Any:
    return json.loads(text)


def two_requests(first: SessionStore, second: SessionStore, a: dict, b: dict) -> Any:
    """Two requests load the session (through ``first`` and ``second``: one process or two),
    then save their changes, ``a`` first."""
    got_one, got_two = first.get("s"), second.get("s")
    one, two = loads(got_one.data), loads(got_two.data)
    one.update(a)
    two.update(b)
    assert first.set("s", json.dumps(one), loaded=got_one.version) == "written"
    return second.set("s", json.dumps(two), loaded=got_two.version)


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("policy", ["mine", "error"])
def test_changes_of_different_keys_both_survive(
    store_factory: Callable[..., SessionStore], policy: str, processes: int
) -> None:
    first = store_factory(merge=policy)
    second = first if processes == 1 else store_factory(merge=policy)
    assert first.merge == policy
    first.set("s", json.dumps({"cart": [], "n": 1}))
    assert two_requests(first, second, {"cart": [1]}, {"flash": "saved"}) == "written"
    assert loads(first.get("s").data) == {"cart": [1], "n": 1, "flash": "saved"}


def test_without_merge_the_second_save_overwrites_the_first(
    store_factory: Callable[..., SessionStore],
) -> None:
    store = store_factory()
    assert store.merge is None
    store.set("s", json.dumps({"cart": [], "n": 1}))
    two_requests(store, store, {"cart": [1]}, {"flash": "saved"})
    assert loads(store.get("s").data) == {"cart": [], "n": 1, "flash": "saved"}


def test_a_key_both_changed_is_this_requests_under_mine(
    store_factory: Callable[..., SessionStore],
) -> None:
    store = store_factory(merge="mine")
    store.set("s", json.dumps({"n": 1, "keep": True}))
    two_requests(store, store, {"n": 2, "a": 1}, {"n": 3})
    assert loads(store.get("s").data) == {"n": 3, "keep": True, "a": 1}


def test_a_key_both_changed_is_a_conflict_under_error(
    store_factory: Callable[..., SessionStore],
) -> None:
    store = store_factory(merge="error")
    store.set("secret-session-id", json.dumps({"n": 1}))
    one = store.get("secret-session-id")
    two = store.get("secret-session-id")
    store.set("secret-session-id", json.dumps({**loads(one.data), "n": 2}), loaded=one.version)
    with pytest.raises(ConflictError) as caught:
        store.set("secret-session-id", json.dumps({**loads(two.data), "n": 3}), loaded=two.version)
    assert caught.value.code == "CONFLICT"
    assert "`n`" in str(caught.value)
    assert "secret-session-id" not in str(caught.value)
    assert loads(store.get("secret-session-id").data) == {"n": 2}  # nothing written


def test_items_written_without_versions_are_version_zero(
    store_factory: Callable[..., SessionStore],
) -> None:
    old = store_factory()  # merge off: a 3.x process, say
    old.set("s", json.dumps({"n": 1}))
    store = store_factory(merge="error")
    assert two_requests(store, store, {"a": 1}, {"b": 2}) == "written"
    assert loads(old.get("s").data) == {"n": 1, "a": 1, "b": 2}


def test_the_cost_a_read_is_one_request_and_a_conflict_one_more_write(
    store_factory: Callable[..., SessionStore], proxy: Any
) -> None:
    store_factory()  # creates the table
    store = store_factory(endpoint=proxy.url, first_use="nothing", merge="mine")
    store.set("s", json.dumps({"n": 1}))
    proxy.reset()
    one = store.get("s")
    two = store.get("s")
    assert proxy.snapshot() == {"GetItem": 2}  # a read-only request: one GetItem
    proxy.reset()
    store.set("s", json.dumps({**loads(one.data), "a": 1}), loaded=one.version)
    assert proxy.snapshot() == {"PutItem": 1}  # no conflict: one conditional PutItem
    proxy.reset()
    store.set("s", json.dumps({**loads(two.data), "b": 1}), loaded=two.version)
    # The refused PutItem returns the item it met, so the merge needs no read.
    assert proxy.snapshot() == {"PutItem": 2}
    assert loads(store.get("s").data) == {"n": 1, "a": 1, "b": 1}


async def test_the_async_store_merges_too(
    async_store_factory: Callable[..., AsyncSessionStore],
) -> None:
    store = async_store_factory(merge="error")
    await store.set("s", json.dumps({"n": 1}))
    one, two = await store.get("s"), await store.get("s")
    assert await store.set("s", json.dumps({**loads(one.data), "a": 1}), loaded=one.version) == (
        "written"
    )
    assert await store.set("s", json.dumps({**loads(two.data), "b": 1}), loaded=two.version) == (
        "written"
    )
    assert loads((await store.get("s")).data) == {"n": 1, "a": 1, "b": 1}
    three, four = await store.get("s"), await store.get("s")
    saved = await store.save("s", json.dumps({**loads(three.data), "n": 2}), loaded=three.version)
    assert isinstance(saved, SaveResult) and saved.outcome == "written"
    assert saved.version == three.version + 1
    with pytest.raises(ConflictError):
        await store.set("s", json.dumps({**loads(four.data), "n": 3}), loaded=four.version)


def test_get_reports_the_version_and_save_the_version_it_wrote(
    store_factory: Callable[..., SessionStore],
) -> None:
    plain = store_factory()
    plain.set("s", "{}")
    assert plain.get("s").version is None  # merge off: no version
    saved = plain.save("s", '{"a":1}')
    assert isinstance(saved, SaveResult)
    assert (saved.outcome, saved.version) == ("written", None)
    store = store_factory(merge="mine")
    assert store.get("s").version == 0  # an item without a version
    saved = store.save("s", '{"a":2}', loaded=0)
    assert (saved.outcome, saved.version) == ("written", 1)
    assert "version=1" in repr(saved) and "written" in repr(saved)
    record = store.get("s")
    assert record.version == 1 and "version=1" in repr(record)
    store.destroy("s")
    ended = store.save("s", "{}", loaded=1)
    assert (ended.outcome, ended.version) == ("ended", None)


def test_a_deletion_by_a_later_request_stays(
    store_factory: Callable[..., SessionStore],
) -> None:
    """One request adds a key, the next (after it finished) deletes it: no merge brings it back
    (the store does not guess the base from the text)."""
    for policy in ("mine", "error"):
        store = store_factory(merge=policy)
        store.set(policy, json.dumps({"user": "alice"}))
        first = store.get(policy)
        store.set(policy, json.dumps({"user": "alice", "cart": [1]}), loaded=first.version)
        second = store.get(policy)
        store.set(policy, json.dumps({"user": "alice"}), loaded=second.version)  # cart emptied
        third = store.get(policy)
        store.set(policy, "{}", loaded=third.version)  # logout by deleting `user`
        assert loads(store.get(policy).data) == {}, policy


@pytest.mark.parametrize("policy", ["mine", "error"])
def test_a_second_save_of_one_request_starts_from_the_first(
    store_factory: Callable[..., SessionStore], policy: str
) -> None:
    store = store_factory(merge=policy)
    store.set("s", json.dumps({"n": 1}))
    loaded = store.get("s")
    first = store.save("s", json.dumps({"n": 1, "flash": "hi"}), loaded=loaded.version)
    # The request then removes what its first save added, and saves again from that save.
    second = store.save("s", json.dumps({"n": 1}), loaded=first.version)
    assert second.outcome == "written" and second.version == first.version + 1
    assert loads(store.get("s").data) == {"n": 1}


def test_a_second_save_handed_the_loaded_version_merges_against_the_load(
    store_factory: Callable[..., SessionStore],
) -> None:
    """What the token of the first save prevents: handed the version it loaded, the second save
    merges onto the first and brings its key back."""
    store = store_factory(merge="mine")
    store.set("s", json.dumps({"n": 1}))
    loaded = store.get("s")
    store.save("s", json.dumps({"n": 1, "flash": "hi"}), loaded=loaded.version)
    store.save("s", json.dumps({"n": 1}), loaded=loaded.version)
    assert loads(store.get("s").data) == {"n": 1, "flash": "hi"}


def test_a_save_of_a_session_not_loaded_replaces_it(
    store_factory: Callable[..., SessionStore],
) -> None:
    store = store_factory(merge="error")
    store.set("s", json.dumps({"n": 1, "a": 1}))
    assert store.get("s").version is not None
    assert store.save("s", json.dumps({"b": 2})).outcome == "written"  # loaded=None
    assert loads(store.get("s").data) == {"b": 2}
