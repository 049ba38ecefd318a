"""connect_dynamodb: a web session store on Amazon DynamoDB.

:class:`SessionStore` blocks the calling thread (without the GIL) while it waits on DynamoDB;
:class:`AsyncSessionStore` has the same methods as coroutines. Both read and write tables in
the item format of the npm package connect-dynamodb, so Python and Node apps can share one
table. The framework integrations live in ``connect_dynamodb.contrib``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

from . import _native
from ._native import (
    DEFAULTS,
    OPTIONS,
    Credentials,
    ReapReport,
    ReencryptReport,
    SaveResult,
    SessionStore,
    StoredSession,
    TouchResult,
    UserSession,
    __version__,
)
from .exceptions import (
    AuthError,
    ConfigError,
    ConflictError,
    InternalError,
    InvalidArgumentError,
    ItemTooLargeError,
    RequestTimeoutError,
    SerializationError,
    ServiceError,
    SessionStoreError,
    TableNotFoundError,
    ThrottledError,
    TransportError,
    UnreadableError,
)

__all__ = [
    "DEFAULTS",
    "OPTIONS",
    "AsyncSessionStore",
    "AuthError",
    "ConfigError",
    "ConflictError",
    "Credentials",
    "InternalError",
    "InvalidArgumentError",
    "ItemTooLargeError",
    "ReapReport",
    "ReencryptReport",
    "RequestTimeoutError",
    "SaveResult",
    "SerializationError",
    "ServiceError",
    "SessionStore",
    "SessionStoreError",
    "StoredSession",
    "TableNotFoundError",
    "ThrottledError",
    "TouchResult",
    "TransportError",
    "UnreadableError",
    "UserSession",
    "__version__",
]


def _coroutine(name: str) -> Any:
    """The coroutine method awaiting the native method ``name`` (which returns a future)."""
    native = getattr(_native.AsyncSessionStore, name)

    @functools.wraps(native)
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await native(self, *args, **kwargs)

    return method


class AsyncSessionStore(_native.AsyncSessionStore):
    """A session store on one DynamoDB table, for asyncio: the methods of
    :class:`SessionStore` as coroutines, plus :meth:`aclose` and ``async with``.

    The methods are real coroutines, so ``asyncio.run(store.get(sid))``,
    ``asyncio.create_task(store.set(...))`` and task groups work as with any ``async def``.
    The request starts when the coroutine first runs; cancelling it (a timeout, a cancelled
    task, ``asyncio.run`` ending) abandons the request. Safe to share between threads and event
    loops, and usable in a child process after ``os.fork()``.
    """

    __slots__ = ()

    # Every public method of the native class but ``close`` returns a future: each becomes a
    # coroutine method here, with the native method's name, signature and docstring.
    for _name in dir(_native.AsyncSessionStore):
        if not _name.startswith("_") and _name != "close":
            if callable(getattr(_native.AsyncSessionStore, _name)):
                locals()[_name] = _coroutine(_name)
    del _name

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()
