"""connect_dynamodb: a web session store on Amazon DynamoDB.

:class:`SessionStore` blocks the calling thread (without the GIL) while it waits on DynamoDB;
:class:`AsyncSessionStore` has the same methods as coroutines. Both read and write tables in
the item format of the npm package connect-dynamodb, so Python and Node apps can share one
table. The framework integrations live in ``connect_dynamodb.contrib``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, Union

if TYPE_CHECKING:
    from typing_extensions import Self

from . import _native
from ._native import (
    Credentials,
    ReapReport,
    SessionStore,
    StoredSession,
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
)

__all__ = [
    "AsyncSessionStore",
    "AuthError",
    "ConfigError",
    "ConflictError",
    "Credentials",
    "InternalError",
    "InvalidArgumentError",
    "ItemTooLargeError",
    "ReapReport",
    "RequestTimeoutError",
    "SerializationError",
    "ServiceError",
    "SessionStore",
    "SessionStoreError",
    "StoredSession",
    "TableNotFoundError",
    "ThrottledError",
    "TransportError",
    "__version__",
]

_Expires = Union[_dt.datetime, int, float, None]
_Seconds = Union[int, float, _dt.timedelta]
_AttributeValue = Union[str, int, float, bytes, bytearray]


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

    async def get(self, sid: str) -> StoredSession | None:
        """The session ``sid``, or None when it is missing, expired or unreadable."""
        return await super().get(sid)

    async def set(
        self,
        sid: str,
        data: str,
        expires: _Expires = None,
        *,
        if_absent: bool = False,
        if_present: bool = False,
        attributes: Mapping[str, _AttributeValue] | None = None,
    ) -> None:
        """Stores ``data`` (JSON text) under ``sid``; see :meth:`SessionStore.set`."""
        await super().set(
            sid, data, expires, if_absent=if_absent, if_present=if_present, attributes=attributes
        )

    async def touch(
        self, sid: str, expires: _Expires = None
    ) -> Literal["updated", "throttled", "not_found"]:
        """Moves the expiry of a live session: "updated", "throttled" or "not_found"."""
        return await super().touch(sid, expires)

    async def destroy(self, sid: str) -> None:
        """Deletes the session ``sid``; deleting a missing session is not an error."""
        await super().destroy(sid)

    async def ids(self) -> list[str]:
        """The ids of all live sessions of this store's prefix."""
        return await super().ids()

    async def all(self) -> dict[str, StoredSession]:
        """All live sessions of this store's prefix, by id."""
        return await super().all()

    async def length(self) -> int:
        """The number of live sessions of this store's prefix."""
        return await super().length()

    async def clear(self) -> ReapReport:
        """Deletes every item of this store's prefix, live or expired."""
        return await super().clear()

    async def reap(self) -> ReapReport:
        """One reaper pass: deletes the expired sessions of this store's prefix."""
        return await super().reap()

    async def table_exists(self) -> bool:
        """Whether the table exists."""
        return await super().table_exists()

    async def create_table(self) -> bool:
        """Creates the table (and its TTL) unless it exists; True when it was created now."""
        return await super().create_table()

    async def verify_table(self) -> list[str]:
        """What is wrong with the table for this store; an empty list when nothing is."""
        return await super().verify_table()

    async def start_reaper(self, interval: _Seconds | None = None) -> None:
        """Starts the background reaper every ``interval`` (default ``reap_interval``),
        replacing a running one. It runs in this process only."""
        await super().start_reaper(interval)

    async def stop_reaper(self) -> None:
        """Stops the background reaper, if one runs, and waits until it has stopped."""
        await super().stop_reaper()

    async def aclose(self) -> None:
        """Stops the reaper and releases the client; later calls raise
        InvalidArgumentError. Closing twice is harmless."""
        await super().aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()
