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

An ``AsyncSessionStore`` made with ``user_field`` (a session key of your choice, e.g.
``"user_id"``) indexes sessions by it: ``await store.user_sessions(user)`` lists a user's
sessions and ``await store.end_user_sessions(user, keep=request)`` ends all the others. With
``merge`` set, two requests of one session that change different keys both keep their change;
``__metadata__``, which starsessions rewrites on every save, never counts as a conflict.

An ``AsyncSessionStore`` made with ``encryption_keys`` (a list of 32-byte keys, bytes or base64
text; the first encrypts), ``id_hash_key`` and ``compress_threshold`` keeps sessions encrypted,
their ids hashed and long ones compressed in the table; the app sees no difference. Without
``encryption_keys`` / ``id_hash_key`` the store reads ``CONNECT_DYNAMODB_ENCRYPTION_KEYS`` /
``CONNECT_DYNAMODB_ID_HASH_KEY`` from the environment (``[]`` / ``False``: off). With hashed ids,
``user_sessions`` lists each session by the hash of its id.

With ``merge`` set, each request's save must name the version its own ``read`` found, and
starsessions' store API hands ``write`` no request. The version therefore travels with the
request's session: ``read`` adds ``__metadata__["connect_dynamodb"]`` (the version, and a random
token of this read), which starsessions keeps in the request's session metadata and passes back
to ``write``; ``write`` takes it out again, so it is never stored. It holds per request whatever
tasks, threads or middleware the request passes through. A second save in one request (the
session handler's ``save`` called again) starts from the version the first wrote, which this
store remembers by the read's token.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import OrderedDict
from json.scanner import make_scanner
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection
from starsessions import get_session_id
from starsessions.stores.base import SessionStore

from connect_dynamodb import ConflictError, InvalidArgumentError
from connect_dynamodb.contrib._stored_text import parse

if TYPE_CHECKING:
    from connect_dynamodb import AsyncSessionStore, UserSession

__all__ = ["DynamoDBStore"]

# How often a new session's write draws another id after a collision.
_CREATE_ATTEMPTS = 3

# The ``__metadata__`` key that carries a request's load (with merge on) from ``read`` through
# starsessions' session metadata to ``write``: {"version": int, "read": token of the read}.
_LOAD_KEY = "connect_dynamodb"


def _take_load(text: str) -> tuple[str, int | None, str | None]:
    """``text`` without the load ``read`` added to its ``__metadata__``, and that load's version
    and read token (None, None when it has none)."""
    if _LOAD_KEY not in text:
        return text, None, None
    try:
        value = json.loads(text)
    except ValueError:
        return text, None, None
    metadata = value.get("__metadata__") if isinstance(value, dict) else None
    if not isinstance(metadata, dict) or _LOAD_KEY not in metadata:
        return text, None, None
    load = metadata.pop(_LOAD_KEY)
    # starsessions' JsonSerializer writes json.dumps' default format.
    text = json.dumps(value)
    if not isinstance(load, dict):
        return text, None, None
    version, token = load.get("version"), load.get("read")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        version = None
    return text, version, token if isinstance(token, str) else None


def _with_load(text: str, version: int, token: str) -> bytes:
    """The session ``read`` returns: ``text`` with the load in its ``__metadata__``."""
    try:
        value = json.loads(text)
    except ValueError:
        return text.encode("utf-8")
    if not isinstance(value, dict):
        return text.encode("utf-8")
    metadata = value.get("__metadata__")
    if not isinstance(metadata, dict):
        metadata = value["__metadata__"] = {}
    metadata[_LOAD_KEY] = {"version": version, "read": token}
    return json.dumps(value).encode("utf-8")


def _without_last_access(data: bytes | str) -> Any:
    """The session (a dict) with ``__metadata__.last_access`` left out, or None when the text is
    not a JSON object."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    metadata = value.get("__metadata__")
    if isinstance(metadata, dict):
        value["__metadata__"] = {k: v for k, v in metadata.items() if k != "last_access"}
    return value


def _comparable(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


_METADATA = '"__metadata__": '
_scan = make_scanner(json.JSONDecoder())


def _split_metadata(text: str) -> tuple[str, dict[str, Any]] | None:
    """starsessions' JSON text of a session cut before its ``__metadata__``, the last key of the
    object as its default serializer writes it: the text before, and the metadata without
    ``last_access``; None when the text does not end so."""
    at = text.rfind(_METADATA)
    if at <= 0 or not text.endswith("}"):
        return None
    try:
        metadata = json.loads(text[at + len(_METADATA) : -1])
    except ValueError:
        return None
    if not isinstance(metadata, dict):
        return None
    metadata.pop("last_access", None)
    return text[:at], metadata


def _same_values(old: Any, new: Any, previous: str, text: str) -> bool:
    """Whether ``old`` and ``new`` (decoded from ``previous`` and ``text``) are the same JSON
    text once written with sorted keys. Values that differ as Python values differ so too (a
    NaN aside, the one value unequal to itself), so only equal ones are written out."""
    if old != new and "NaN" not in previous and "NaN" not in text:
        return False
    return _comparable(old) == _comparable(new)


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix of ``a`` and ``b`` (by halves, in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


# Where the text of each value of a session's data lies in the session's text (the metadata's
# left out), for a text this store wrote.
Spans = dict[str, tuple[int, int]]


def _one_value_changed(
    previous: str, old: str, text: str, new: str, spans: Spans | None
) -> tuple[bool, Spans] | None:
    """For the texts ``old`` and ``new`` of the data before the metadata of the sessions
    ``previous`` and ``text`` (which differ), when all they differ in lies within one value of
    the session: whether that value is the same in both (the only value decoded from
    ``previous``), and the spans of ``text``; None when that is not so. With the ``spans`` of
    ``previous``, only that value is decoded from ``text`` too; without, all of ``text``."""
    start = _common_prefix(old, new)
    common_end = _common_prefix(old[start:][::-1], new[start:][::-1])
    old_end = len(old) - common_end  # they differ in old[start:old_end] and new[start:new_end]
    shift = len(new) - len(old)
    try:
        if spans is None:
            parsed = parse(text, _scan, native=True)
            if parsed is None:
                return None
            data, found = parsed
            found.pop("__metadata__", None)
            for key, (first, last) in found.items():  # where they lie in text
                if last < start:
                    continue
                if first > start or last - shift < old_end:
                    return None
                before, end = _scan(previous, first)
                if end != last - shift:
                    return None
                return _same_values(before, data[key], previous, text), found
            return None
        for key, (first, last) in spans.items():  # where they lie in previous
            if last < start:
                continue
            if first > start or last < old_end:
                return None
            value, end = _scan(text, first)
            if end != last + shift:
                return None
            before, end = _scan(previous, first)
            if end != last:
                return None
            moved = {
                k: span if span[0] < first else (span[0] + shift, span[1] + shift)
                for k, span in spans.items()
            }
            moved[key] = (first, last + shift)
            return _same_values(before, value, previous, text), moved
    except (ValueError, StopIteration):
        return None
    return None


def _unchanged(previous: str, text: str, spans: Spans | None) -> tuple[bool, Spans | None]:
    """Whether the session ``text`` holds the same JSON object as ``previous`` but for
    ``__metadata__.last_access`` (the same text once both are parsed, that key is left out and
    both are written with sorted keys); and the spans of ``text`` when they are known (from the
    ``spans`` of ``previous``, or found on the way).

    Usually ``text`` is ``previous`` written again by starsessions with a new ``last_access``:
    the two texts agree up to the metadata, which is parsed alone. When they differ within one
    value of the session, that value is decoded from both; otherwise both sessions are."""
    before, after = _split_metadata(previous), _split_metadata(text)
    if before is not None and after is not None:
        # The text before the metadata, whose value is a complete JSON object, is valid where
        # the previous one is: the rest of both is compared as text.
        same_metadata = _comparable(before[1]) == _comparable(after[1])
        if before[0] == after[0]:
            return same_metadata, spans
        found = _one_value_changed(previous, before[0], text, after[0], spans)
        if found is not None:
            return same_metadata and found[0], found[1]
    old = _without_last_access(previous)
    new = _without_last_access(text)
    if old is None or new is None:
        return False, None
    return _same_values(old, new, previous, text), None


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
        # The store the sessions go through: with merge="error", a copy whose merges always
        # take this request's `__metadata__`, which starsessions rewrites on every save.
        self._store = store._with_merge_always_mine(["__metadata__"])
        self.gc_ttl = gc_ttl
        self.remember = remember
        self.skip_unchanged = skip_unchanged
        # Sessions found by read() or written here: id -> their text as stored, and where its
        # values lie in it when this store wrote that text (else None).
        self._read: OrderedDict[str, tuple[str, Spans | None]] = OrderedDict()
        # With merge on, the version each request's last save wrote, by the token of the
        # request's read: a second save of that request starts from it.
        self._saved: OrderedDict[str, int] = OrderedDict()

    def _note(self, session_id: str, text: str, spans: Spans | None = None) -> None:
        self._read[session_id] = (text, spans)
        self._read.move_to_end(session_id)
        while len(self._read) > self.remember:
            self._read.popitem(last=False)

    def _saved_by(self, token: str | None, version: int | None) -> None:
        if token is None or version is None:
            return
        self._saved[token] = version
        self._saved.move_to_end(token)
        while len(self._saved) > self.remember:
            self._saved.popitem(last=False)

    def _forget(self, session_id: str) -> None:
        self._read.pop(session_id, None)

    async def read(self, session_id: str, lifetime: int) -> bytes:
        try:
            record = await self._store.get(session_id)
        except InvalidArgumentError:
            record = None
        if record is None:
            self._forget(session_id)
            return b""
        noted = self._read.get(session_id)
        # The text this store last wrote, read back: where its values lie is known still.
        spans = noted[1] if noted is not None and noted[0] == record.data else None
        self._note(session_id, record.data, spans)
        if record.version is None:
            return record.data.encode("utf-8")
        return _with_load(record.data, record.version, secrets.token_urlsafe(12))

    async def write(self, session_id: str, data: bytes, lifetime: int, ttl: int) -> str:
        if lifetime > 0 and ttl <= 0:
            # A non-rolling session past its lifetime: it ends (the cookie's max-age is spent).
            await self.remove(session_id)
            return session_id
        expires = time.time() + (ttl if lifetime > 0 else self.gc_ttl)
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else str(data)
        text, loaded, token = _take_load(text)
        if token is not None and token in self._saved:
            loaded = self._saved[token]  # this request saved before: its next base
        if session_id in self._read:
            previous, spans = self._read[session_id]
            unchanged = False
            if self.skip_unchanged:
                unchanged, spans = _unchanged(previous, text, spans)
            else:
                spans = None
            if unchanged:
                if await self._store.touch(session_id, expires) == "not_found":
                    self._forget(session_id)  # deleted or expired since it was read: stays so
                return session_id
            try:
                saved = await self._store.save(
                    session_id, text, expires, if_present=True, loaded=loaded
                )
            except ConflictError:
                # With merge on, another request's change of a key this one changed too
                # (merge="error"), the session still there: raised.
                if self._store.merge is not None and await self._store.get(session_id) is not None:
                    raise
                # Read here, ended since (a logout elsewhere, a tombstone, expiry): not
                # written back.
                self._forget(session_id)
                return session_id
            self._note(session_id, text, spans)
            self._saved_by(token, saved.version)
            return session_id
        # A new session, or an id this store did not find (an unknown or expired id from a
        # cookie, or one starsessions made up): stored under a new id of this store's own.
        for attempt in range(_CREATE_ATTEMPTS):
            new_id = _new_session_id()
            try:
                saved = await self._store.save(new_id, text, expires, if_absent=True)
            except ConflictError:
                if attempt == _CREATE_ATTEMPTS - 1:
                    raise
                continue
            self._note(new_id, text)
            self._saved_by(token, saved.version)
            return new_id
        raise AssertionError("unreachable")  # pragma: no cover

    async def user_sessions(self, user: str | int) -> list[UserSession]:
        """The live sessions of ``user`` (the value of the store's ``user_field`` in the session,
        e.g. ``request.session["user_id"]``): ``UserSession`` values (``id``, ``expires``,
        ``created``), from the table's ``user-index`` with one query. The index is eventually
        consistent."""
        return await self._store.user_sessions(user)

    async def end_user_sessions(
        self, user: str | int, *, keep: HTTPConnection | str | None = None
    ) -> int:
        """Ends every session of ``user`` but ``keep`` (the current request, whose session id
        ``get_session_id`` gives, or a session id); returns how many it ended. After a password
        change, ``await store.end_user_sessions(user, keep=request)``; for "log out
        everywhere", without ``keep``, then ``request.session.clear()``."""
        if isinstance(keep, HTTPConnection):
            keep = get_session_id(keep)
        return await self._store.end_user_sessions(user, keep=keep)

    async def remove(self, session_id: str) -> None:
        self._forget(session_id)
        try:
            await self._store.destroy(session_id)
        except InvalidArgumentError:
            pass
