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
last use, as starsessions' Redis store does (default 30 days). A session whose fixed
(non-rolling) lifetime is over is removed instead of written.

Session ids: starsessions keeps the id the cookie sent even when the store does not know it, and
hands it to ``write``. This store never adopts such an id: a session it did not find on ``read``
(in this process, among the last ``remember`` it read) is written under a new random id of its
own, which ``write`` returns and the middleware puts into the cookie. A session that was read
here and has been deleted since (a logout in another request) is not written back, so it stays
ended. ``regenerate_session_id`` does not delete the old session: ``await store.remove(old_id)``
at login, with the id ``get_session_id`` gave before regenerating.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from starsessions.stores.base import SessionStore

from connect_dynamodb import ConflictError, InvalidArgumentError

if TYPE_CHECKING:
    from connect_dynamodb import AsyncSessionStore

__all__ = ["DynamoDBStore"]

# How often a new session's write draws another id after a collision.
_CREATE_ATTEMPTS = 3


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


def _new_session_id() -> str:
    # 32 cookie-safe characters (192 random bits), as long as starsessions' own ids.
    return secrets.token_urlsafe(24)


class DynamoDBStore(SessionStore):
    """A starsessions ``SessionStore`` over :class:`connect_dynamodb.AsyncSessionStore`.

    :param store: the asyncio store.
    :param gc_ttl: seconds to keep a session whose cookie is a browser-session cookie.
    :param remember: how many recently read sessions this store remembers (at least 1): the
        ids it may write back, and their data, to skip unchanged writes.
    :param skip_unchanged: skip the write of a session whose data did not change (the expiry
        moves through the throttled touch); False writes on every response, as the middleware
        asks.
    """

    def __init__(
        self,
        store: AsyncSessionStore,
        *,
        gc_ttl: int = 30 * 86400,
        remember: int = 10_000,
        skip_unchanged: bool = True,
    ) -> None:
        if gc_ttl <= 0:
            raise ValueError("gc_ttl must be a positive number of seconds")
        if remember < 1:
            raise ValueError("remember must be at least 1")
        self.store = store
        self.gc_ttl = gc_ttl
        self.remember = remember
        self.skip_unchanged = skip_unchanged
        # Sessions found by read() or written here: id -> their text without last_access
        # (None when it is not comparable).
        self._read: OrderedDict[str, str | None] = OrderedDict()

    def _note(self, session_id: str, comparable: str | None) -> None:
        self._read[session_id] = comparable
        self._read.move_to_end(session_id)
        while len(self._read) > self.remember:
            self._read.popitem(last=False)

    def _forget(self, session_id: str) -> None:
        self._read.pop(session_id, None)

    async def read(self, session_id: str, lifetime: int) -> bytes:
        try:
            record = await self.store.get(session_id)
        except InvalidArgumentError:
            record = None
        if record is None:
            self._forget(session_id)
            return b""
        self._note(session_id, _without_last_access(record.data))
        return record.data.encode("utf-8")

    async def write(self, session_id: str, data: bytes, lifetime: int, ttl: int) -> str:
        if lifetime > 0 and ttl <= 0:
            # A non-rolling session past its lifetime: it ends (the cookie's max-age is spent).
            await self.remove(session_id)
            return session_id
        expires = time.time() + (ttl if lifetime > 0 else self.gc_ttl)
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else str(data)
        comparable = _without_last_access(text)
        if session_id in self._read:
            previous = self._read[session_id]
            if self.skip_unchanged and comparable is not None and previous == comparable:
                if await self.store.touch(session_id, expires) == "not_found":
                    self._forget(session_id)  # deleted or expired since it was read: stays so
                return session_id
            try:
                await self.store.set(session_id, text, expires, if_present=True)
            except ConflictError:
                # Read here, deleted since (a logout elsewhere) or expired: not written back.
                self._forget(session_id)
                return session_id
            self._note(session_id, comparable)
            return session_id
        # A new session, or an id this store did not find (an unknown or expired id from a
        # cookie, or one starsessions made up): stored under a new id of this store's own.
        for attempt in range(_CREATE_ATTEMPTS):
            new_id = _new_session_id()
            try:
                await self.store.set(new_id, text, expires, if_absent=True)
            except ConflictError:
                if attempt == _CREATE_ATTEMPTS - 1:
                    raise
                continue
            self._note(new_id, comparable)
            return new_id
        raise AssertionError("unreachable")  # pragma: no cover

    async def remove(self, session_id: str) -> None:
        self._forget(session_id)
        try:
            await self.store.destroy(session_id)
        except InvalidArgumentError:
            pass
