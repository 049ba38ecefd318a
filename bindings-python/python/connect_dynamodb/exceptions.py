"""The exceptions of connect_dynamodb: one class per error kind of the store.

Every exception the package raises is a :class:`SessionStoreError`. Its ``code`` is the
store's stable kind token (the same token the Node package puts in ``err.code`` and the C
library returns as a status), and ``retryable`` says whether the same call may succeed if
tried again later. Messages never contain a session id, a secret or a credential.

Some classes also inherit a builtin exception where one fits, so code that already catches
``ValueError``, ``TimeoutError``, ``ConnectionError`` or ``PermissionError`` catches them too.
All of them survive a pickle round trip with their ``code`` and ``retryable``.
"""

from __future__ import annotations

from . import _native

__all__ = [
    "AuthError",
    "ConfigError",
    "ConflictError",
    "InternalError",
    "InvalidArgumentError",
    "ItemTooLargeError",
    "RequestTimeoutError",
    "SerializationError",
    "ServiceError",
    "SessionStoreError",
    "TableNotFoundError",
    "ThrottledError",
    "TransportError",
    "UnreadableError",
]


class SessionStoreError(Exception):
    """The base class of every error of the store.

    ``code`` is the kind token (e.g. ``"CONFLICT"``); ``retryable`` whether the same call may
    succeed later. The package raises the subclasses; the base class itself only for a kind
    token this version does not know, with that token as ``code``.
    """

    code: str = "INTERNAL"
    retryable: bool = False

    def __init__(
        self, message: str = "", *, code: str | None = None, retryable: bool | None = None
    ):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.retryable = type(self).retryable if retryable is None else bool(retryable)

    @property
    def message(self) -> str:
        """The message, without the code."""
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.message!r}, code={self.code!r}, retryable={self.retryable!r})"


class ConfigError(SessionStoreError, ValueError):
    """An option of the store is invalid (``INVALID_CONFIG``); the message names it."""

    code = "INVALID_CONFIG"


class InvalidArgumentError(SessionStoreError, ValueError):
    """An argument of a call is invalid (``INVALID_ARGUMENT``): an empty or oversized
    session id, an unusable expiry, a call on a closed store."""

    code = "INVALID_ARGUMENT"


class ItemTooLargeError(SessionStoreError, ValueError):
    """The session does not fit in a DynamoDB item of 400 KB (``ITEM_TOO_LARGE``)."""

    code = "ITEM_TOO_LARGE"


class SerializationError(SessionStoreError, ValueError):
    """The session data is not valid JSON text (``SERIALIZATION``)."""

    code = "SERIALIZATION"


class TableNotFoundError(SessionStoreError):
    """The table does not exist, or is not visible to these credentials in this region
    (``TABLE_NOT_FOUND``)."""

    code = "TABLE_NOT_FOUND"


class ThrottledError(SessionStoreError):
    """DynamoDB throttled the request and the retries ran out (``THROTTLED``)."""

    code = "THROTTLED"


class ConflictError(SessionStoreError):
    """A conditional write failed (``if_absent``/``if_present``), or the table is being
    created or changed (``CONFLICT``)."""

    code = "CONFLICT"


class AuthError(SessionStoreError, PermissionError):
    """The credentials are missing, invalid, expired or lack permission (``AUTH``)."""

    code = "AUTH"


class RequestTimeoutError(SessionStoreError, TimeoutError):
    """DynamoDB did not answer in time (``TIMEOUT``)."""

    code = "TIMEOUT"


class TransportError(SessionStoreError, ConnectionError):
    """The connection to DynamoDB failed: refused, reset, DNS, TLS (``TRANSPORT``)."""

    code = "TRANSPORT"


class ServiceError(SessionStoreError):
    """DynamoDB answered with an error no other class covers (``SERVICE``)."""

    code = "SERVICE"


class InternalError(SessionStoreError):
    """A bug in connect_dynamodb or an unexpected state (``INTERNAL``); please report it."""

    code = "INTERNAL"


class UnreadableError(SessionStoreError):
    """A stored session is encrypted with a key this store was not given, or stored in an item
    format newer than this version reads (``UNREADABLE``). Nothing was changed: with the key in
    ``encryption_keys`` (or a newer version) it reads again."""

    code = "UNREADABLE"


def _classes(base: type[SessionStoreError]) -> list[type[SessionStoreError]]:
    found = []
    for cls in base.__subclasses__():
        found.append(cls)
        found.extend(_classes(cls))
    return found


# The class of each kind token, for the native module: every subclass defined above.
_BY_CODE: dict[str, type[SessionStoreError]] = {
    cls.code: cls for cls in _classes(SessionStoreError)
}

# Whether each kind is retryable by default is the core's decision.
for _code, _retryable in _native.error_kinds():
    if _code in _BY_CODE:
        _BY_CODE[_code].retryable = _retryable
