"""The exception classes, and every error the store can raise from Python, each produced for
real: by DynamoDB Local, a closed port, a server that never answers, or a bad argument."""

from __future__ import annotations

import datetime as dt
import math
import pickle
import time
from typing import Any, Callable

import connect_dynamodb
import pytest
from connect_dynamodb import (
    AsyncSessionStore,
    AuthError,
    ConfigError,
    ConflictError,
    Credentials,
    InternalError,
    InvalidArgumentError,
    ItemTooLargeError,
    RequestTimeoutError,
    SerializationError,
    ServiceError,
    SessionStore,
    SessionStoreError,
    TableNotFoundError,
    ThrottledError,
    TransportError,
    UnreadableError,
    _native,
)

CLASSES = [
    (ConfigError, "INVALID_CONFIG", False, ValueError),
    (InvalidArgumentError, "INVALID_ARGUMENT", False, ValueError),
    (ItemTooLargeError, "ITEM_TOO_LARGE", False, ValueError),
    (SerializationError, "SERIALIZATION", False, ValueError),
    (TableNotFoundError, "TABLE_NOT_FOUND", False, None),
    (ThrottledError, "THROTTLED", True, None),
    (ConflictError, "CONFLICT", False, None),
    (AuthError, "AUTH", False, PermissionError),
    (RequestTimeoutError, "TIMEOUT", True, TimeoutError),
    (TransportError, "TRANSPORT", True, ConnectionError),
    (ServiceError, "SERVICE", False, None),
    (InternalError, "INTERNAL", False, None),
    (UnreadableError, "UNREADABLE", False, None),
]


@pytest.mark.parametrize(("cls", "code", "retryable", "builtin"), CLASSES)
def test_each_class_has_its_code_retryable_default_and_builtin(
    cls: type[SessionStoreError], code: str, retryable: bool, builtin: type | None
) -> None:
    err = cls("something failed")
    assert isinstance(err, SessionStoreError)
    assert isinstance(err, Exception)
    assert err.code == code
    assert err.retryable is retryable
    assert str(err) == "something failed"
    assert err.message == "something failed"
    if builtin is not None:
        assert isinstance(err, builtin)
    assert code in repr(err)


@pytest.mark.parametrize(("cls", "code", "retryable", "builtin"), CLASSES)
def test_each_class_survives_pickle(
    cls: type[SessionStoreError], code: str, retryable: bool, builtin: type | None
) -> None:
    err = cls("the message", retryable=not retryable)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is cls
    assert copy.code == code
    assert copy.retryable is (not retryable)
    assert str(copy) == "the message"


def test_the_base_class_carries_an_unknown_code_through_pickle() -> None:
    err = SessionStoreError("new kind", code="SOMETHING_NEW", retryable=True)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.code, copy.retryable, str(copy)) == ("SOMETHING_NEW", True, "new kind")


def test_every_class_is_exported_from_the_package() -> None:
    for cls, *_ in CLASSES:
        assert getattr(connect_dynamodb, cls.__name__) is cls
    assert connect_dynamodb.SessionStoreError is SessionStoreError


def test_table_not_found(endpoint: str, table_name: str) -> None:
    with SessionStore(table_name, endpoint=endpoint, first_use="check") as store:
        with pytest.raises(TableNotFoundError) as caught:
            store.get("s")
    assert caught.value.code == "TABLE_NOT_FOUND"
    assert caught.value.retryable is False


def test_transport_error_on_a_closed_port(closed_endpoint: str) -> None:
    with SessionStore("sessions", endpoint=closed_endpoint, max_attempts=1) as store:
        with pytest.raises(TransportError) as caught:
            store.get("s")
    assert isinstance(caught.value, ConnectionError)
    assert caught.value.code == "TRANSPORT"
    assert caught.value.retryable is True


def test_timeout_on_a_server_that_never_answers(silent_endpoint: str) -> None:
    with SessionStore(
        "sessions",
        endpoint=silent_endpoint,
        attempt_timeout=0.3,
        operation_timeout=0.6,
        max_attempts=1,
    ) as store:
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError) as caught:
            store.get("s")
        assert time.monotonic() - started < 5
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.code == "TIMEOUT"
    assert caught.value.retryable is True


def test_item_too_large(store: SessionStore) -> None:
    big = '"' + "x" * (400 * 1024) + '"'
    with pytest.raises(ItemTooLargeError) as caught:
        store.set("s", big)
    assert caught.value.code == "ITEM_TOO_LARGE"
    assert store.get("s") is None


@pytest.mark.parametrize("data", ["{", "not json", "", "{'single': 1}", "[1,]"])
def test_serialization_error_for_text_that_is_not_json(store: SessionStore, data: str) -> None:
    with pytest.raises(SerializationError) as caught:
        store.set("s", data)
    assert caught.value.code == "SERIALIZATION"
    assert data not in str(caught.value) or data == ""


def test_conflict(store: SessionStore) -> None:
    store.set("s", "{}")
    with pytest.raises(ConflictError):
        store.set("s", "{}", if_absent=True)


def test_auth_error_for_a_key_id_dynamodb_refuses(endpoint: str, table_name: str) -> None:
    credentials = Credentials("not-alphanumeric!", "secret")
    with SessionStore(table_name, endpoint=endpoint, credentials=credentials) as store:
        with pytest.raises(AuthError) as caught:
            store.get("s")
    assert isinstance(caught.value, PermissionError)
    assert caught.value.code == "AUTH"
    assert "not-alphanumeric" not in str(caught.value)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"table": "ab"}, "table"),
        ({"table": "has space"}, "table"),
        ({"hash_key": ""}, "hash_key"),
        ({"hash_key": "expires"}, "hash_key"),
        ({"prefix": "p" * 1025}, "prefix"),
        ({"region": "US East"}, "region"),
        ({"endpoint": "localhost:8000"}, "endpoint"),
        ({"credentials": Credentials("", "s")}, "credentials.access_key_id"),
        ({"default_lifetime": 0}, "default_lifetime"),
        ({"default_lifetime": -1}, "default_lifetime"),
        ({"default_lifetime": dt.timedelta(seconds=-5)}, "default_lifetime"),
        ({"default_lifetime": math.nan}, "default_lifetime"),
        ({"default_lifetime": math.inf}, "default_lifetime"),
        ({"default_lifetime": 10**400}, "default_lifetime"),
        ({"touch_after": -0.5}, "touch_after"),
        ({"reap_interval": 0.01}, "reap_interval"),
        ({"billing": "FREE"}, "billing"),
        ({"billing": ("PROVISIONED", 0, 5)}, "billing"),
        ({"billing": ("PROVISIONED", "5", 5)}, "billing"),
        ({"billing": ("PROVISIONED", 5)}, "billing"),
        ({"billing": ("PAY_PER_REQUEST", 5, 5)}, "billing"),
        ({"billing": 5}, "billing"),
        ({"create_wait": 0}, "create_wait"),
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"attempt_timeout": -1}, "attempt_timeout"),
        ({"operation_timeout": 7200}, "operation_timeout"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": -1}, "max_attempts"),
        ({"max_attempts": 11}, "max_attempts"),
        ({"max_attempts": 2**70}, "max_attempts"),
        ({"scan_segments": 65}, "scan_segments"),
        ({"tombstone_lifetime": -1}, "tombstone_lifetime"),
        ({"tombstone_lifetime": math.nan}, "tombstone_lifetime"),
        ({"tombstone_lifetime": dt.timedelta(days=365 * 101)}, "tombstone_lifetime"),
        ({"merge": "theirs"}, "merge"),
        ({"merge": "Mine"}, "merge"),
        ({"merge": True}, "merge"),
        ({"absolute_timeout": 0}, "absolute_timeout"),
        ({"absolute_timeout": -60}, "absolute_timeout"),
        ({"absolute_timeout": dt.timedelta(0)}, "absolute_timeout"),
        ({"user_field": ""}, "user_field"),
        ({"user_field": "passport..user"}, "user_field"),
        ({"user_field": ".user"}, "user_field"),
        ({"user_field": "u" * 256}, "user_field"),
        ({"hash_key": "user", "user_field": "uid"}, "hash_key"),
        ({"hash_key": "ended"}, "hash_key"),
    ],
)
def test_invalid_options_are_config_errors_naming_the_field(
    endpoint: str, options: dict[str, Any], field: str
) -> None:
    options.setdefault("endpoint", endpoint)
    for cls in (SessionStore, AsyncSessionStore):
        with pytest.raises(ConfigError) as caught:
            cls(**options)
        assert isinstance(caught.value, ValueError)
        assert caught.value.code == "INVALID_CONFIG"
        assert f"`{field}`" in str(caught.value)


def test_a_missing_region_without_endpoint_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigError, match="region"):
        SessionStore("sessions")


@pytest.mark.parametrize(
    "options",
    [
        {"table": 5},
        {"prefix": 5},
        {"region": 1},
        {"credentials": ("a", "b")},
        {"consistent_read": "yes"},
        {"default_lifetime": "1 day"},
        {"touch_after": True},
        {"create_table": 1},
        {"max_attempts": 2.0},
        {"scan_segments": True},
        {"connect_timeout": [1]},
        {"tombstone_lifetime": "1h"},
        {"absolute_timeout": [3600]},
        {"user_field": 5},
        {"user_field": True},
    ],
)
def test_wrong_option_types_are_type_errors(endpoint: str, options: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        SessionStore(endpoint=endpoint, **options)


def test_positional_options_are_refused(endpoint: str) -> None:
    with pytest.raises(TypeError):
        SessionStore("sessions", "sess:")  # type: ignore[misc]


@pytest.mark.parametrize("sid", ["", "x" * 3000])
def test_unusable_session_ids_are_invalid_arguments(store: SessionStore, sid: str) -> None:
    for call in (
        lambda: store.get(sid),
        lambda: store.set(sid, "{}"),
        lambda: store.touch(sid),
        lambda: store.destroy(sid),
    ):
        with pytest.raises(InvalidArgumentError) as caught:
            call()
        assert caught.value.code == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    "expires",
    [
        math.nan,
        math.inf,
        -math.inf,
        1e300,
        -5.0,
        1e11,
        dt.datetime(1969, 1, 1, tzinfo=dt.timezone.utc),
    ],
)
def test_unusable_expiries_are_invalid_arguments(store: SessionStore, expires: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        store.set("s", "{}", expires)
    with pytest.raises(InvalidArgumentError):
        store.touch("s", expires)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get(5),
        lambda s: s.get(None),
        lambda s: s.set("s", {"a": 1}),
        lambda s: s.set(b"s", "{}"),
        lambda s: s.set("s", "{}", "tomorrow"),
        lambda s: s.set("s", "{}", dt.timedelta(hours=1)),
        lambda s: s.set("s", "{}", dt.date(2030, 1, 1)),
        lambda s: s.set("s", "{}", True),
        lambda s: s.set("s", "{}", attributes=["a"]),
        lambda s: s.set("s", "{}", attributes={1: "a"}),
        lambda s: s.set("s", "{}", attributes={"a": None}),
        lambda s: s.set("s", "{}", attributes={"a": True}),
        lambda s: s.set("s", "{}", if_absent="yes"),
        lambda s: s.touch("s", "soon"),
        lambda s: s.start_reaper("often"),
    ],
)
def test_wrong_argument_types_are_type_errors(
    store: SessionStore, call: Callable[[SessionStore], Any]
) -> None:
    with pytest.raises(TypeError):
        call(store)


def test_a_non_finite_float_attribute_is_an_invalid_argument(store: SessionStore) -> None:
    with pytest.raises(InvalidArgumentError):
        store.set("s", "{}", attributes={"n": math.nan})


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("sess", {}),
        ("expires", {}),
        ("type", {}),
        ("ended", {}),  # tombstones are on by default
        ("version", {"merge": "mine"}),
        ("created", {"absolute_timeout": 3600}),
        ("user", {"user_field": "uid"}),
    ],
)
def test_reserved_attribute_names_are_invalid_arguments(
    store_factory: Callable[..., SessionStore], name: str, options: dict[str, Any]
) -> None:
    """The store's own attributes; the optional ones while the option that writes them is on."""
    store = store_factory(**options)
    with pytest.raises(InvalidArgumentError, match=f"`{name}`"):
        store.set("s", "{}", attributes={name: "x"})


def test_a_panic_at_the_boundary_is_an_internal_error() -> None:
    with pytest.raises(InternalError) as caught:
        _native._panic_for_tests()
    assert caught.value.code == "INTERNAL"
    assert "panic" in str(caught.value)


async def test_a_panic_in_a_future_is_an_internal_error() -> None:
    with pytest.raises(InternalError):
        await _native._panic_async_for_tests()


async def test_async_errors_are_the_same_classes(
    endpoint: str, table_name: str, closed_endpoint: str
) -> None:
    async with AsyncSessionStore(table_name, endpoint=endpoint, first_use="nothing") as store:
        with pytest.raises(TableNotFoundError):
            await store.get("s")
        with pytest.raises(InvalidArgumentError):
            await store.get("")
        with pytest.raises(SerializationError):
            await store.set("s", "{")
    async with AsyncSessionStore("sessions", endpoint=closed_endpoint, max_attempts=1) as store:
        with pytest.raises(TransportError):
            await store.get("s")


async def test_async_timeout(silent_endpoint: str) -> None:
    store = AsyncSessionStore(
        "sessions",
        endpoint=silent_endpoint,
        attempt_timeout=0.3,
        operation_timeout=0.6,
        max_attempts=1,
    )
    try:
        with pytest.raises(RequestTimeoutError):
            await store.get("s")
    finally:
        store.close()


# Text UTF-8 cannot encode: a lone surrogate, as ``surrogateescape`` decoding leaves it.
UNENCODABLE_SID = "sid-\udce9-secret"
UNENCODABLE_CALLS: list[tuple[type[SessionStoreError], Callable[[Any], Any]]] = [
    (InvalidArgumentError, lambda s: s.get(UNENCODABLE_SID)),
    (InvalidArgumentError, lambda s: s.set(UNENCODABLE_SID, "{}")),
    (InvalidArgumentError, lambda s: s.touch(UNENCODABLE_SID)),
    (InvalidArgumentError, lambda s: s.destroy(UNENCODABLE_SID)),
    (SerializationError, lambda s: s.set("s", '{"a": "secret \ud800"}')),
    (InvalidArgumentError, lambda s: s.set("s", "{}", attributes={"secret\ud800": "v"})),
    (InvalidArgumentError, lambda s: s.set("s", "{}", attributes={"k": "secret\ud800"})),
]


def check_unencodable(caught: pytest.ExceptionInfo[SessionStoreError]) -> None:
    # The store's own error, not a UnicodeEncodeError whose `object` carries the text.
    assert "surrogate" in str(caught.value)
    assert "secret" not in str(caught.value)
    assert not isinstance(caught.value, UnicodeError)


@pytest.mark.parametrize(("expected", "call"), UNENCODABLE_CALLS)
def test_text_utf8_cannot_encode_is_a_typed_error(
    store: SessionStore, expected: type[SessionStoreError], call: Callable[[Any], Any]
) -> None:
    with pytest.raises(expected) as caught:
        call(store)
    check_unencodable(caught)
    assert store.get("s") is None


@pytest.mark.parametrize(("expected", "call"), UNENCODABLE_CALLS)
async def test_text_utf8_cannot_encode_is_a_typed_error_async(
    async_store: AsyncSessionStore,
    expected: type[SessionStoreError],
    call: Callable[[Any], Any],
) -> None:
    with pytest.raises(expected) as caught:
        await call(async_store)
    check_unencodable(caught)
    assert await async_store.get("s") is None


def test_the_exception_classes_are_the_cores_error_kinds() -> None:
    core = sorted(_native.error_kinds())
    # The literals of CLASSES: each class's retryable default is also read from the core, so
    # comparing the classes' attributes would compare the core with itself.
    ours = sorted((code, retryable) for _, code, retryable, _ in CLASSES)
    assert ours == core
    assert sorted((cls.code, cls.retryable) for cls, *_ in CLASSES) == core
    assert sorted(connect_dynamodb.exceptions._BY_CODE) == sorted(code for code, _ in core)


def test_every_core_config_field_names_a_python_option() -> None:
    assert connect_dynamodb.OPTIONS == _native.OPTIONS
    options = set(connect_dynamodb.OPTIONS)
    fields = _native._config_fields()
    assert len(fields) >= 23
    for field, option in fields:
        assert option.split(".")[0] in options, field


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"first_use": "sometimes"}, "first_use"),
        ({"first_use": 1}, "first_use"),
        ({"first_use": "check", "create_table": True}, "first_use"),
        ({"billing": ("PROVISIONED", 5, 40001)}, "billing"),
        ({"merge": "sometimes"}, "merge"),
        ({"absolute_timeout": 0}, "absolute_timeout"),
        ({"tombstone_lifetime": -1}, "tombstone_lifetime"),
        ({"user_field": "a..b"}, "user_field"),
        ({"encryption_keys": [b"short"]}, "encryption_keys"),
        ({"id_hash_key": "not base64!"}, "id_hash_key"),
        ({"compress_threshold": -1}, "compress_threshold"),
    ],
)
def test_more_invalid_options_name_the_python_option(
    endpoint: str, options: dict[str, Any], field: str
) -> None:
    for cls in (SessionStore, AsyncSessionStore):
        with pytest.raises(ConfigError, match=f"^invalid option `{field}`: "):
            cls(endpoint=endpoint, **options)


def test_a_server_that_never_answers_times_out_within_ten_seconds_by_default(
    silent_endpoint: str,
) -> None:
    # Every option but the endpoint at its default, the first-use table check included.
    with SessionStore(endpoint=silent_endpoint) as store:
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError):
            store.get("s")
        assert time.monotonic() - started < 10


async def test_an_async_call_to_a_server_that_never_answers_times_out_within_ten_seconds(
    silent_endpoint: str,
) -> None:
    store = AsyncSessionStore("sessions", endpoint=silent_endpoint)
    try:
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError):
            await store.get("s")
        assert time.monotonic() - started < 10
    finally:
        store.close()
