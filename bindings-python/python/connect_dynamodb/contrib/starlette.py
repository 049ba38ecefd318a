"""Starlette and FastAPI sessions on DynamoDB: a store for the starsessions middleware.

::

    from connect_dynamodb import AsyncSessionStore
    from connect_dynamodb.contrib.starlette import DynamoDBStore
    from starsessions import SessionAutoloadMiddleware, SessionMiddleware

    store = DynamoDBStore(AsyncSessionStore("sessions", region="eu-west-1"))
    app.add_middleware(SessionAutoloadMiddleware)
    app.add_middleware(SessionMiddleware, store=store, lifetime=3600, rolling=True)

starsessions (2.2) serializes the session to JSON (its default ``JsonSerializer``), which is
stored as it is; a serializer that does not produce JSON text is refused with
``SerializationError``.

The middleware writes every loaded, non-empty session on every response, with a refreshed
``__metadata__.last_access``. This store skips such a write when nothing but ``last_access``
changed since this process read the session, and moves the expiry through the store's throttled
touch instead: a read-only request then costs one read and, most of the time, no write. The
stored ``last_access`` therefore only advances when the session's data is written.

Sessions with ``lifetime=0`` (browser-session cookies) are kept ``gc_ttl`` seconds after their
last use, as starsessions' Redis store does (default 30 days).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from starsessions.stores.base import SessionStore

from connect_dynamodb import InvalidArgumentError

if TYPE_CHECKING:
    from connect_dynamodb import AsyncSessionStore

__all__ = ["DynamoDBStore"]


def _without_last_access(data: bytes | str) -> str | None:
    """The session text with ``__metadata__.last_access`` left out, to compare two versions."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    metadata = value.get("__metadata__")
    if isinstance(metadata, dict):
        value["__metadata__"] = {k: v for k, v in metadata.items() if k != "last_access"}
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class DynamoDBStore(SessionStore):
    """A starsessions ``SessionStore`` over :class:`connect_dynamodb.AsyncSessionStore`.

    :param store: the asyncio store.
    :param gc_ttl: seconds to keep a session whose cookie is a browser-session cookie.
    :param remember: how many recently read sessions this store remembers to skip unchanged
        writes (0: write every time, as the middleware asks).
    """

    def __init__(
        self, store: AsyncSessionStore, *, gc_ttl: int = 30 * 86400, remember: int = 10_000
    ) -> None:
        if gc_ttl <= 0:
            raise ValueError("gc_ttl must be a positive number of seconds")
        self.store = store
        self.gc_ttl = gc_ttl
        self.remember = remember
        self._read: OrderedDict[str, str] = OrderedDict()

    def _note(self, session_id: str, comparable: str | None) -> None:
        if self.remember <= 0:
            return
        if comparable is None:
            self._read.pop(session_id, None)
            return
        self._read[session_id] = comparable
        self._read.move_to_end(session_id)
        while len(self._read) > self.remember:
            self._read.popitem(last=False)

    async def read(self, session_id: str, lifetime: int) -> bytes:
        try:
            record = await self.store.get(session_id)
        except InvalidArgumentError:
            record = None
        if record is None:
            self._note(session_id, None)
            return b""
        self._note(session_id, _without_last_access(record.data))
        return record.data.encode("utf-8")

    async def write(self, session_id: str, data: bytes, lifetime: int, ttl: int) -> str:
        expires = time.time() + (ttl if ttl > 0 else self.gc_ttl)
        comparable = _without_last_access(data) if self.remember > 0 else None
        if comparable is not None and self._read.get(session_id) == comparable:
            outcome: Any = await self.store.touch(session_id, expires)
            if outcome != "not_found":
                return session_id
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else str(data)
        await self.store.set(session_id, text, expires)
        self._note(session_id, comparable)
        return session_id

    async def remove(self, session_id: str) -> None:
        self._read.pop(session_id, None)
        try:
            await self.store.destroy(session_id)
        except InvalidArgumentError:
            pass
