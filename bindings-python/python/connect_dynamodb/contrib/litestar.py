"""A Litestar 2 store on DynamoDB: :class:`DynamoDBStore`, for server-side sessions, the
response cache, rate limits and anything else that takes a Litestar ``Store``.

Usage::

    from litestar import Litestar
    from litestar.middleware.session.server_side import ServerSideSessionConfig
    from connect_dynamodb import AsyncSessionStore
    from connect_dynamodb.contrib.litestar import DynamoDBStore

    root = DynamoDBStore(AsyncSessionStore("sessions", region="eu-west-1"))
    app = Litestar(
        route_handlers=[...],
        middleware=[ServerSideSessionConfig().middleware],
        stores={"sessions": root.with_namespace("sessions")},
    )

Values live in the session store's table, in items of their own beside the sessions (see the
core's key-value mode): the keys of ``root`` are ``"litestar:" + key``, those of a namespace
``"litestar:<namespace>:" + key``. Values are stored as they are given, not encrypted at rest.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from litestar.stores.base import NamespacedStore

from .. import AsyncSessionStore, ReapReport, SessionStore
from .._native import AsyncKeyValueStore
from .._native import AsyncSessionStore as NativeAsyncSessionStore

if TYPE_CHECKING:
    from datetime import timedelta
    from types import TracebackType

    from typing_extensions import Self

__all__ = ["DynamoDBStore"]


class DynamoDBStore(NamespacedStore):
    """A Litestar :class:`~litestar.stores.base.NamespacedStore` on a DynamoDB table.

    ``store`` is the :class:`~connect_dynamodb.AsyncSessionStore` (or
    :class:`~connect_dynamodb.SessionStore`) whose table, client and clock the values share;
    without one, ``options`` are the ``AsyncSessionStore`` options to make one with. ``prefix``
    is the key prefix of the root namespace (default ``"litestar:"``); it must not overlap the
    session store's prefix.

    Expiry follows Litestar's stores: ``expires_in`` of ``None`` or ``0`` never expires; an
    expired value is never returned (the store's clock decides, to the millisecond, whenever
    DynamoDB's TTL deletes the item); ``expires_in(key)`` is ``None`` for a missing key and
    ``-1`` for one without an expiry. ``with_namespace(name)`` makes a child whose values
    ``delete_all`` of the parent deletes too.

    No method binds to an event loop: one store serves every loop (Litestar's ``TestClient``
    runs the app on a loop of its own). With ``handle_client_shutdown``, leaving the app's
    lifespan closes the session store; by default it stays open, so the app can be started
    again.
    """

    __slots__ = ("_handle_client_shutdown", "_kv")

    def __init__(
        self,
        store: AsyncSessionStore | SessionStore | None = None,
        *,
        prefix: str | None = None,
        handle_client_shutdown: bool = False,
        **options: Any,
    ) -> None:
        if store is None:
            store = AsyncSessionStore(**options)
        elif options:
            raise TypeError("pass a store or the options to make one, not both")
        self._kv = AsyncKeyValueStore(store, prefix)
        self._handle_client_shutdown = handle_client_shutdown
        self.namespace: str | None = None

    @classmethod
    def _child(cls, parent: DynamoDBStore, namespace: str) -> Self:
        child = cls.__new__(cls)
        child._kv = parent._kv.with_namespace(namespace)
        child._handle_client_shutdown = False
        child.namespace = (
            namespace if parent.namespace is None else f"{parent.namespace}:{namespace}"
        )
        return child

    @property
    def prefix(self) -> str:
        """The key prefix of this namespace."""
        return self._kv.prefix

    @property
    def store(self) -> NativeAsyncSessionStore | SessionStore:
        """The session store whose table and client the values share."""
        return self._kv.store

    def with_namespace(self, namespace: str) -> Self:
        """The store of the child namespace ``namespace`` (any text without ``":"``, e.g.
        ``"sessions"`` or ``"response_cache"``): isolated from this one, and emptied by this
        one's :meth:`delete_all`. ``InvalidArgumentError`` (a ``ValueError``) for an empty
        namespace or one with ``":"``."""
        return type(self)._child(self, namespace)

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        """Stores ``value`` (a ``str`` as UTF-8) under ``key`` for ``expires_in`` seconds (or a
        ``timedelta``); ``None`` or ``0``: no expiry."""
        await self._kv.set(key, value, expires_in)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        """The value under ``key``, or ``None`` when it is missing or expired. With
        ``renew_for``, a value that has an expiry gets a new one ``renew_for`` from now, in
        the same request; a value without one keeps none."""
        return await self._kv.get(key, renew_for)

    async def delete(self, key: str) -> None:
        """Deletes the value under ``key``; a missing key is not an error."""
        await self._kv.delete(key)

    async def delete_all(self) -> None:
        """Deletes every value of this namespace and of its child namespaces (one scan of the
        table); other namespaces and the sessions are left alone."""
        await self._kv.delete_all()

    async def delete_expired(self) -> ReapReport:
        """Deletes the expired values of this namespace and its children now (DynamoDB's TTL
        deletes them later anyway), as Litestar's memory and file stores do."""
        return await self._kv.delete_expired()

    async def exists(self, key: str) -> bool:
        """Whether a value that has not expired is stored under ``key``."""
        return await self._kv.exists(key)

    async def expires_in(self, key: str) -> int | None:
        """The whole seconds (rounded down) until ``key`` expires; ``-1`` for a value without
        an expiry; ``None`` for a missing or expired key."""
        left = await self._kv.expires_in(key)
        if left is None:
            return None
        if math.isinf(left):
            return -1
        return int(left)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        if not self._handle_client_shutdown:
            return
        store = self._kv.store
        if isinstance(store, SessionStore):
            store.close()
        else:
            await store.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prefix={self.prefix!r})"
