# Stubs of the native module connect_dynamodb._native, checked against the built module by
# `make lint-python` (mypy.stubtest).

import datetime
from collections.abc import Awaitable, Mapping
from typing import Literal, final

from typing_extensions import Self, TypeAlias, disjoint_base

__all__ = [
    "DEFAULTS",
    "OPTIONS",
    "AsyncSessionStore",
    "Credentials",
    "ManualClock",
    "ReapReport",
    "SaveResult",
    "SessionStore",
    "StoredSession",
    "TouchResult",
    "UserSession",
    "__version__",
    "_config_fields",
    "_panic_async_for_tests",
    "_panic_for_tests",
    "error_kinds",
]

__version__: str

#: The core's default of every option, by name: what an option left at ``None`` means.
#: Durations in seconds; ``provisioned_capacity`` is the (read, write) of ``"PROVISIONED"``.
DEFAULTS: dict[str, object]
#: The keyword names of the stores' constructors, in order.
OPTIONS: tuple[str, ...]

# The core's error kinds: [(code, retryable_default)].
def error_kinds() -> list[tuple[str, bool]]: ...
def _config_fields() -> list[tuple[str, str]]: ...

_Seconds: TypeAlias = int | float | datetime.timedelta
_Expires: TypeAlias = datetime.datetime | int | float | None
_Billing: TypeAlias = (
    Literal["PAY_PER_REQUEST", "PROVISIONED"] | tuple[Literal["PROVISIONED"], int, int]
)
_AttributeValue: TypeAlias = str | int | float | bytes | bytearray
_TouchOutcome: TypeAlias = Literal["updated", "throttled", "not_found"]
_FirstUse: TypeAlias = Literal["create", "check", "nothing"]
_Merge: TypeAlias = Literal["off", "mine", "error"]
_SetOutcome: TypeAlias = Literal["written", "ended"]
_User: TypeAlias = str | int

@final
class StoredSession:
    def __new__(
        cls,
        data: str,
        expires: datetime.datetime | float,
        created: datetime.datetime | float | None = None,
        version: int | None = None,
    ) -> Self: ...
    @property
    def data(self) -> str: ...
    @property
    def expires(self) -> datetime.datetime: ...
    @property
    def created(self) -> datetime.datetime | None: ...
    # With merge on, the version get read (0 for an item without one); None with merge off.
    @property
    def version(self) -> int | None: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __reduce__(
        self,
    ) -> tuple[type[StoredSession], tuple[str, float, float | None, int | None]]: ...

# One of a user's sessions, as user_sessions lists it. Its repr never shows the id.
@final
class UserSession:
    def __new__(
        cls,
        id: str,
        expires: datetime.datetime | float,
        created: datetime.datetime | float | None = None,
    ) -> Self: ...
    @property
    def id(self) -> str: ...
    @property
    def expires(self) -> datetime.datetime: ...
    @property
    def created(self) -> datetime.datetime | None: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __reduce__(self) -> tuple[type[UserSession], tuple[str, float, float | None]]: ...

# What touch_result did: the outcome touch returns, and the expiry the store holds afterwards
# (the new one when "updated", the stored one when "throttled", None when "not_found").
@final
class TouchResult:
    @property
    def outcome(self) -> _TouchOutcome: ...
    @property
    def expires(self) -> datetime.datetime | None: ...
    def __eq__(self, value: object, /) -> bool: ...

# What save did: the outcome set returns, and (merge on, session written) the version written,
# the loaded= of a further save of the same session by the same request.
@final
class SaveResult:
    @property
    def outcome(self) -> _SetOutcome: ...
    @property
    def version(self) -> int | None: ...
    def __eq__(self, value: object, /) -> bool: ...

# A clock that moves only when told to (connect_dynamodb.testing).
@final
class ManualClock:
    def __new__(cls, start: datetime.datetime | float | None = None) -> Self: ...
    def now(self) -> datetime.datetime: ...
    def advance(self, by: _Seconds) -> None: ...
    def set(self, to: datetime.datetime | float) -> None: ...

@final
class ReapReport:
    def __new__(cls, scanned: int, deleted: int) -> Self: ...
    @property
    def scanned(self) -> int: ...
    @property
    def deleted(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __reduce__(self) -> tuple[type[ReapReport], tuple[int, int]]: ...

@final
class Credentials:
    def __new__(
        cls, access_key_id: str, secret_access_key: str, session_token: str | None = None
    ) -> Self: ...
    @property
    def access_key_id(self) -> str: ...
    @property
    def secret_access_key(self) -> str: ...
    @property
    def session_token(self) -> str | None: ...

@disjoint_base
class SessionStore:
    # Every option defaults to None: the core's default (see DEFAULTS).
    def __new__(
        cls,
        table: str | None = None,
        *,
        prefix: str | None = None,
        hash_key: str | None = None,
        region: str | None = None,
        endpoint: str | None = None,
        credentials: Credentials | None = None,
        consistent_read: bool | None = None,
        default_lifetime: _Seconds | None = None,
        touch_after: _Seconds | None = None,
        reap_interval: _Seconds | None = None,
        billing: _Billing | None = None,
        first_use: _FirstUse | None = None,
        create_table: bool | None = None,
        create_wait: _Seconds | None = None,
        connect_timeout: _Seconds | None = None,
        attempt_timeout: _Seconds | None = None,
        operation_timeout: _Seconds | None = None,
        max_attempts: int | None = None,
        scan_segments: int | None = None,
        tombstone_lifetime: _Seconds | None = None,
        merge: _Merge | None = None,
        absolute_timeout: _Seconds | None = None,
        user_field: str | None = None,
        clock: ManualClock | None = None,
    ) -> Self: ...
    def get(self, sid: str) -> StoredSession | None: ...
    def set(
        self,
        sid: str,
        data: str,
        expires: _Expires = None,
        *,
        if_absent: bool = False,
        if_present: bool = False,
        attributes: Mapping[str, _AttributeValue] | None = None,
        loaded: int | None = None,
    ) -> _SetOutcome: ...
    def save(
        self,
        sid: str,
        data: str,
        expires: _Expires = None,
        *,
        if_absent: bool = False,
        if_present: bool = False,
        attributes: Mapping[str, _AttributeValue] | None = None,
        loaded: int | None = None,
    ) -> SaveResult: ...
    def touch(self, sid: str, expires: _Expires = None) -> _TouchOutcome: ...
    def touch_result(self, sid: str, expires: _Expires = None) -> TouchResult: ...
    def destroy(self, sid: str) -> None: ...
    def user_sessions(self, user: _User) -> list[UserSession]: ...
    def end_user_sessions(self, user: _User, *, keep: str | None = None) -> int: ...
    def ids(self) -> list[str]: ...
    def all(self) -> dict[str, StoredSession]: ...
    def length(self) -> int: ...
    def clear(self) -> ReapReport: ...
    def reap(self) -> ReapReport: ...
    def table_exists(self) -> bool: ...
    def create_table(self) -> bool: ...
    def verify_table(self) -> list[str]: ...
    def start_reaper(self, interval: _Seconds | None = None) -> None: ...
    def stop_reaper(self) -> None: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def reaper_running(self) -> bool: ...
    @property
    def table(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def hash_key(self) -> str: ...
    @property
    def merge(self) -> Literal["mine", "error"] | None: ...
    @property
    def user_field(self) -> str | None: ...
    def _with_merge_always_mine(self, keys: list[str]) -> SessionStore: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        *_exc: object,
    ) -> None: ...

@disjoint_base
class AsyncSessionStore:
    # Every option defaults to None: the core's default (see DEFAULTS).
    def __new__(
        cls,
        table: str | None = None,
        *,
        prefix: str | None = None,
        hash_key: str | None = None,
        region: str | None = None,
        endpoint: str | None = None,
        credentials: Credentials | None = None,
        consistent_read: bool | None = None,
        default_lifetime: _Seconds | None = None,
        touch_after: _Seconds | None = None,
        reap_interval: _Seconds | None = None,
        billing: _Billing | None = None,
        first_use: _FirstUse | None = None,
        create_table: bool | None = None,
        create_wait: _Seconds | None = None,
        connect_timeout: _Seconds | None = None,
        attempt_timeout: _Seconds | None = None,
        operation_timeout: _Seconds | None = None,
        max_attempts: int | None = None,
        scan_segments: int | None = None,
        tombstone_lifetime: _Seconds | None = None,
        merge: _Merge | None = None,
        absolute_timeout: _Seconds | None = None,
        user_field: str | None = None,
        clock: ManualClock | None = None,
    ) -> Self: ...
    def get(self, sid: str) -> Awaitable[StoredSession | None]: ...
    def set(
        self,
        sid: str,
        data: str,
        expires: _Expires = None,
        *,
        if_absent: bool = False,
        if_present: bool = False,
        attributes: Mapping[str, _AttributeValue] | None = None,
        loaded: int | None = None,
    ) -> Awaitable[_SetOutcome]: ...
    def save(
        self,
        sid: str,
        data: str,
        expires: _Expires = None,
        *,
        if_absent: bool = False,
        if_present: bool = False,
        attributes: Mapping[str, _AttributeValue] | None = None,
        loaded: int | None = None,
    ) -> Awaitable[SaveResult]: ...
    def touch(self, sid: str, expires: _Expires = None) -> Awaitable[_TouchOutcome]: ...
    def touch_result(self, sid: str, expires: _Expires = None) -> Awaitable[TouchResult]: ...
    def destroy(self, sid: str) -> Awaitable[None]: ...
    def user_sessions(self, user: _User) -> Awaitable[list[UserSession]]: ...
    def end_user_sessions(self, user: _User, *, keep: str | None = None) -> Awaitable[int]: ...
    def ids(self) -> Awaitable[list[str]]: ...
    def all(self) -> Awaitable[dict[str, StoredSession]]: ...
    def length(self) -> Awaitable[int]: ...
    def clear(self) -> Awaitable[ReapReport]: ...
    def reap(self) -> Awaitable[ReapReport]: ...
    def table_exists(self) -> Awaitable[bool]: ...
    def create_table(self) -> Awaitable[bool]: ...
    def verify_table(self) -> Awaitable[list[str]]: ...
    def start_reaper(self, interval: _Seconds | None = None) -> Awaitable[None]: ...
    def stop_reaper(self) -> Awaitable[None]: ...
    def aclose(self) -> Awaitable[None]: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def reaper_running(self) -> bool: ...
    @property
    def table(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def hash_key(self) -> str: ...
    @property
    def merge(self) -> Literal["mine", "error"] | None: ...
    @property
    def user_field(self) -> str | None: ...
    def _with_merge_always_mine(self, keys: list[str]) -> AsyncSessionStore: ...
    def __aenter__(self) -> Awaitable[Self]: ...
    def __aexit__(
        self,
        *_exc: object,
    ) -> Awaitable[None]: ...

def _panic_for_tests() -> None: ...
def _panic_async_for_tests() -> Awaitable[None]: ...
