"""SessionStore (blocking) against DynamoDB Local: every method and option."""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import pickle
import time
from typing import Any, Callable

import connect_dynamodb
import pytest
from connect_dynamodb import (
    ConflictError,
    InvalidArgumentError,
    ReapReport,
    SessionStore,
    StoredSession,
    TableNotFoundError,
)

UTC = dt.timezone.utc


def raw_item(dynamodb: Any, store: SessionStore, sid: str) -> dict[str, Any] | None:
    answer = dynamodb.get_item(
        TableName=store.table, Key={store.hash_key: {"S": store.prefix + sid}}, ConsistentRead=True
    )
    return answer.get("Item")


def test_get_of_a_missing_session_is_none(store: SessionStore) -> None:
    assert store.get("nobody") is None


def test_set_then_get_returns_the_text_unchanged(store: SessionStore) -> None:
    data = '{"user": "ada", "n": [1, 2.5, null], "u": "\\u00e9t\\u00e9 \u2603"}'
    expires = dt.datetime.now(UTC) + dt.timedelta(hours=1)
    store.set("s1", data, expires)
    got = store.get("s1")
    assert got is not None
    assert got.data == data
    assert got.expires.tzinfo is not None
    assert got.expires.utcoffset() == dt.timedelta(0)
    # Stored in whole seconds, rounded up, as connect-dynamodb stores them.
    assert got.expires == expires.replace(microsecond=0) + dt.timedelta(
        seconds=1 if expires.microsecond else 0
    )


@pytest.mark.parametrize(
    "expires",
    [
        lambda now: now + dt.timedelta(minutes=5),
        lambda now: (now + dt.timedelta(minutes=5)).astimezone(dt.timezone(dt.timedelta(hours=-7))),
        lambda now: (now + dt.timedelta(minutes=5)).timestamp(),
        lambda now: int((now + dt.timedelta(minutes=5)).timestamp()),
        # A naive datetime is local time, as datetime.timestamp() reads it.
        lambda now: (now + dt.timedelta(minutes=5)).astimezone().replace(tzinfo=None),
    ],
    ids=["aware-utc", "aware-other-zone", "epoch-float", "epoch-int", "naive-local"],
)
def test_every_form_of_expires_means_the_same_instant(
    store: SessionStore, expires: Callable[[dt.datetime], Any]
) -> None:
    now = dt.datetime.now(UTC)
    store.set("s", "{}", expires(now))
    got = store.get("s")
    assert got is not None
    assert abs((got.expires - (now + dt.timedelta(minutes=5))).total_seconds()) < 1.01


def test_a_session_saved_without_expiry_gets_the_default_lifetime(
    store_factory: Callable[..., SessionStore],
) -> None:
    store = store_factory(default_lifetime=dt.timedelta(minutes=2))
    before = dt.datetime.now(UTC)
    store.set("s", "{}")
    got = store.get("s")
    assert got is not None
    left = (got.expires - before).total_seconds()
    assert 119 <= left <= 125


def test_the_default_lifetime_is_one_day(store: SessionStore) -> None:
    store.set("s", "{}")
    got = store.get("s")
    assert got is not None
    left = (got.expires - dt.datetime.now(UTC)).total_seconds()
    assert 86_400 - 60 < left <= 86_401


@pytest.mark.parametrize("past", [dt.datetime(2001, 1, 1, tzinfo=UTC), time.time() - 1, 0])
def test_a_session_that_expired_is_none(store: SessionStore, past: Any) -> None:
    store.set("old", '{"a": 1}', past)
    assert store.get("old") is None
    assert "old" not in store.ids()
    assert store.length() == 0


def test_if_absent_writes_only_a_new_session(store: SessionStore) -> None:
    store.set("s", '{"v": 1}', if_absent=True)
    with pytest.raises(ConflictError) as caught:
        store.set("s", '{"v": 2}', if_absent=True)
    assert caught.value.code == "CONFLICT"
    assert caught.value.retryable is False
    got = store.get("s")
    assert got is not None and got.data == '{"v": 1}'


def test_if_absent_may_replace_an_expired_session(store: SessionStore) -> None:
    store.set("s", '{"v": 1}', time.time() - 10)
    store.set("s", '{"v": 2}', if_absent=True)
    got = store.get("s")
    assert got is not None and got.data == '{"v": 2}'


def test_if_present_writes_only_over_a_live_session(store: SessionStore) -> None:
    with pytest.raises(ConflictError):
        store.set("s", "{}", if_present=True)
    assert store.get("s") is None
    store.set("s", '{"v": 1}')
    store.set("s", '{"v": 2}', if_present=True)
    got = store.get("s")
    assert got is not None and got.data == '{"v": 2}'


def test_if_absent_and_if_present_exclude_each_other(store: SessionStore) -> None:
    with pytest.raises(InvalidArgumentError):
        store.set("s", "{}", if_absent=True, if_present=True)


def test_attributes_are_written_beside_the_session(store: SessionStore, dynamodb: Any) -> None:
    store.set(
        "s",
        '{"user": 7}',
        attributes={"userId": "u-7", "visits": 12, "score": 2.5, "blob": b"\x00\x01"},
    )
    item = raw_item(dynamodb, store, "s")
    assert item is not None
    assert item["userId"] == {"S": "u-7"}
    assert item["visits"] == {"N": "12"}
    assert item["score"] == {"N": "2.5"}
    assert item["blob"] == {"B": b"\x00\x01"}
    assert item["type"] == {"S": "connect-session"}
    assert item["sess"] == {"S": '{"user": 7}'}


def test_int_attributes_are_written_as_their_number(store: SessionStore, dynamodb: Any) -> None:
    class Level(enum.IntEnum):
        HIGH = 7

    store.set("s", "{}", attributes={"level": Level.HIGH, "big": 10**37, "neg": -3})
    item = raw_item(dynamodb, store, "s")
    assert item is not None
    assert item["level"] == {"N": "7"}
    assert item["big"] == {"N": str(10**37)}
    assert item["neg"] == {"N": "-3"}


def test_the_item_is_in_connect_dynamodb_format(store: SessionStore, dynamodb: Any) -> None:
    at = time.time() + 100
    store.set("fmt", '{"a": true}', at)
    item = raw_item(dynamodb, store, "fmt")
    assert item is not None
    assert item["id"] == {"S": "sess:fmt"}
    assert item["expires"] == {"N": str(math.ceil(at))}


def test_touch_moves_the_expiry_of_a_live_session(
    store_factory: Callable[..., SessionStore],
) -> None:
    store = store_factory(touch_after=0)
    store.set("s", '{"k": 1}', time.time() + 60)
    later = time.time() + 3600
    assert store.touch("s", later) == "updated"
    got = store.get("s")
    assert got is not None
    assert got.expires.timestamp() == math.ceil(later)
    assert got.data == '{"k": 1}'


def test_touch_without_expiry_uses_the_default_lifetime(
    store_factory: Callable[..., SessionStore],
) -> None:
    store = store_factory(touch_after=0, default_lifetime=300)
    store.set("s", "{}", time.time() + 10)
    assert store.touch("s") == "updated"
    got = store.get("s")
    assert got is not None
    assert 290 < got.expires.timestamp() - time.time() <= 301


def test_touch_is_throttled_when_the_expiry_barely_moves(store: SessionStore) -> None:
    at = time.time() + 3600
    store.set("s", "{}", at)
    assert store.touch("s", at + 1) == "throttled"
    got = store.get("s")
    assert got is not None and got.expires.timestamp() == math.ceil(at)


def test_touch_never_recreates_a_missing_or_expired_session(store: SessionStore) -> None:
    assert store.touch("missing", time.time() + 60) == "not_found"
    store.set("gone", "{}", time.time() - 1)
    assert store.touch("gone", time.time() + 60) == "not_found"
    assert store.get("missing") is None
    assert store.get("gone") is None


def test_destroy_deletes_and_is_quiet_about_missing_sessions(store: SessionStore) -> None:
    store.set("s", "{}")
    store.destroy("s")
    assert store.get("s") is None
    store.destroy("s")
    store.destroy("never-there")


def test_ids_all_length_see_only_live_sessions_of_the_prefix(
    store_factory: Callable[..., SessionStore],
) -> None:
    store = store_factory()
    other = store_factory(prefix="other:")
    for i in range(5):
        store.set(f"live{i}", json.dumps({"i": i}))
    store.set("dead", "{}", time.time() - 5)
    other.set("foreign", "{}")
    assert sorted(store.ids()) == [f"live{i}" for i in range(5)]
    everything = store.all()
    assert isinstance(everything, dict)
    assert sorted(everything) == [f"live{i}" for i in range(5)]
    assert all(isinstance(v, StoredSession) for v in everything.values())
    assert everything["live3"].data == '{"i": 3}'
    assert store.length() == 5
    assert other.ids() == ["foreign"]


def test_clear_deletes_every_item_of_the_prefix(
    store_factory: Callable[..., SessionStore],
) -> None:
    store = store_factory(prefix="a:")
    other = store_factory(prefix="b:")
    for i in range(3):
        store.set(f"s{i}", "{}")
    store.set("dead", "{}", time.time() - 5)
    other.set("keep", "{}")
    report = store.clear()
    assert isinstance(report, ReapReport)
    assert report.deleted == 4
    assert report.scanned >= 4
    assert store.length() == 0
    assert other.ids() == ["keep"]


def test_reap_deletes_only_expired_sessions(store: SessionStore, dynamodb: Any) -> None:
    store.set("live", "{}")
    store.set("dead1", "{}", time.time() - 5)
    store.set("dead2", "{}", time.time() - 5)
    report = store.reap()
    assert report.deleted == 2
    assert raw_item(dynamodb, store, "dead1") is None
    assert raw_item(dynamodb, store, "live") is not None
    assert store.reap().deleted == 0


def test_table_exists_create_table_and_verify_table(
    endpoint: str, table_name: str, dynamodb: Any
) -> None:
    with SessionStore(table_name + "-new", endpoint=endpoint) as store:
        assert store.table_exists() is False
        with pytest.raises(TableNotFoundError):
            store.verify_table()
        assert store.create_table() is True
        assert store.table_exists() is True
        assert store.create_table() is False
        assert store.verify_table() == []
    description = dynamodb.describe_time_to_live(TableName=table_name + "-new")
    ttl = description["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires"
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")


def test_verify_table_reports_a_table_without_ttl(
    endpoint: str, table_name: str, dynamodb: Any
) -> None:
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with SessionStore(table_name, endpoint=endpoint) as store:
        problems = store.verify_table()
    assert len(problems) == 1
    assert "TTL" in problems[0] or "ttl" in problems[0].lower()


def test_create_table_option_creates_the_table_on_first_use(endpoint: str, table_name: str) -> None:
    with SessionStore(table_name, endpoint=endpoint, create_table=True) as store:
        store.set("s", "{}")
        assert store.table_exists()
        assert store.get("s") is not None


def test_billing_provisioned_creates_a_provisioned_table(
    endpoint: str, table_name: str, dynamodb: Any
) -> None:
    with SessionStore(table_name, endpoint=endpoint, billing=("PROVISIONED", 3, 4)) as store:
        assert store.create_table()
    throughput = dynamodb.describe_table(TableName=table_name)["Table"]["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (3, 4)


def test_custom_hash_key_and_prefix(
    store_factory: Callable[..., SessionStore], dynamodb: Any
) -> None:
    store = store_factory(hash_key="pk", prefix="")
    store.set("abc", '{"x": 1}')
    item = raw_item(dynamodb, store, "abc")
    assert item is not None and item["pk"] == {"S": "abc"}
    assert store.hash_key == "pk" and store.prefix == ""


def test_close_and_the_context_manager(store_factory: Callable[..., SessionStore]) -> None:
    store = store_factory()
    store.set("s", "{}")
    assert store.closed is False
    store.close()
    assert store.closed is True
    store.close()
    with pytest.raises(InvalidArgumentError, match="closed"):
        store.get("s")
    with store_factory() as other:
        assert other.get("s") is not None
    assert other.closed is True
    with pytest.raises(InvalidArgumentError):
        other.set("s", "{}")


def test_repr_of_the_store_names_table_and_prefix(store: SessionStore) -> None:
    assert store.table in repr(store)
    assert "sess:" in repr(store)


def test_stored_session_is_small_immutable_and_private() -> None:
    at = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    session = StoredSession('{"password": "hunter2"}', at)
    assert session.data == '{"password": "hunter2"}'
    assert session.expires == at
    assert "hunter2" not in repr(session)
    assert "23 bytes" in repr(session)
    assert "2030-01-02T03:04:05" in repr(session)
    with pytest.raises(AttributeError):
        session.data = "{}"  # type: ignore[misc]
    assert session == StoredSession('{"password": "hunter2"}', at.timestamp())
    assert session != StoredSession("{}", at)
    copy = pickle.loads(pickle.dumps(session))
    assert copy == session and copy.expires == at
    assert session.version is None
    versioned = StoredSession("{}", at, None, 7)
    assert versioned.version == 7 and versioned != StoredSession("{}", at)
    assert pickle.loads(pickle.dumps(versioned)).version == 7


def test_reap_report_value_semantics() -> None:
    report = ReapReport(10, 3)
    assert (report.scanned, report.deleted) == (10, 3)
    assert report == ReapReport(10, 3)
    assert repr(report) == "ReapReport(scanned=10, deleted=3)"
    assert pickle.loads(pickle.dumps(report)) == report


def test_a_store_shows_no_credentials(endpoint: str, table_name: str) -> None:
    from connect_dynamodb import Credentials

    credentials = Credentials("AKIDVISIBLE", "SECRETVALUE", "TOKENVALUE")
    for text in (repr(credentials), str(credentials)):
        assert "AKIDVISIBLE" not in text
        assert "SECRETVALUE" not in text
        assert "TOKENVALUE" not in text
    assert credentials.access_key_id == "AKIDVISIBLE"
    with SessionStore(table_name, endpoint=endpoint, credentials=credentials) as store:
        assert "SECRETVALUE" not in repr(store)


def test_options_left_none_take_the_cores_defaults(endpoint: str) -> None:
    with SessionStore(None, endpoint=endpoint, prefix=None, hash_key=None) as store:
        assert store.table == connect_dynamodb.DEFAULTS["table"] == "sessions"
        assert store.prefix == connect_dynamodb.DEFAULTS["prefix"] == "sess:"
        assert store.hash_key == connect_dynamodb.DEFAULTS["hash_key"] == "id"
    assert set(connect_dynamodb.DEFAULTS) >= set(connect_dynamodb._native.OPTIONS) - {
        "create_table",
        "clock",
    }


def test_the_options_of_issue_11_and_their_defaults(endpoint: str) -> None:
    defaults = connect_dynamodb.DEFAULTS
    assert defaults["tombstone_lifetime"] == 3600  # on: a tombstone lives an hour
    assert defaults["merge"] is None  # off
    assert defaults["absolute_timeout"] is None  # off
    assert defaults["user_field"] is None  # off
    with SessionStore(endpoint=endpoint) as store:
        assert (store.merge, store.user_field) == (None, None)
    for merge, policy in (("off", None), ("mine", "mine"), ("error", "error"), (None, None)):
        with SessionStore(endpoint=endpoint, merge=merge) as store:
            assert store.merge == policy
    with SessionStore(
        endpoint=endpoint,
        tombstone_lifetime=dt.timedelta(minutes=5),
        absolute_timeout=dt.timedelta(hours=8),
        user_field="passport.user",
    ) as store:
        assert store.user_field == "passport.user"
    with SessionStore(endpoint=endpoint, tombstone_lifetime=0, absolute_timeout=0.5) as store:
        assert store.merge is None


def test_a_missing_table_is_created_on_first_use_by_default(
    endpoint: str, table_name: str, dynamodb: Any
) -> None:
    with SessionStore(table_name, endpoint=endpoint) as store:
        assert store.table_exists() is False  # table calls are not session calls
        store.set("s", '{"a": 1}')
        got = store.get("s")
        assert got is not None and got.data == '{"a": 1}'
        assert store.verify_table() == []
    ttl = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires"


@pytest.mark.parametrize("first_use", ["check", "nothing"])
def test_first_use_check_and_nothing_leave_a_missing_table_missing(
    endpoint: str, table_name: str, first_use: str
) -> None:
    with SessionStore(table_name, endpoint=endpoint, first_use=first_use) as store:
        with pytest.raises(TableNotFoundError):
            store.get("s")
        assert store.table_exists() is False


def test_first_use_check_passes_on_an_existing_table(
    store_factory: Callable[..., SessionStore],
) -> None:
    store = store_factory(first_use="check")
    store.set("s", "{}")
    assert store.get("s") is not None
