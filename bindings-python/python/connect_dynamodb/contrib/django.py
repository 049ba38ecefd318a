"""A Django session engine on DynamoDB.

Settings::

    SESSION_ENGINE = "connect_dynamodb.contrib.django"
    CONNECT_DYNAMODB = {
        "table": "sessions",
        "region": "eu-west-1",          # default: the AWS chain (AWS_REGION, ~/.aws/config)
        # "endpoint": "http://127.0.0.1:8000",   # DynamoDB Local
        # any other keyword argument of connect_dynamodb.SessionStore (connect_dynamodb.OPTIONS);
        # a key left out takes the store's default (connect_dynamodb.DEFAULTS);
        # "credentials": {"access_key_id": ..., "secret_access_key": ..., "session_token": ...}
        # "user_field": True,            # index sessions by django.contrib.auth's user id
        # "merge": "mine",                # merge concurrent changes instead of losing one
        # "encryption_keys": [os.environ["SESSION_KEY"]],  # encrypt sessions at rest (AES-256-GCM)
        # "id_hash_key": os.environ["SESSION_ID_KEY"],     # store a keyed hash of each session key
        # "compress_threshold": 1024,     # compress sessions longer than this (bytes of JSON)
    }

Sessions are stored as JSON objects (the session dict itself, as Django's cache backend stores
it, so other languages can read them) and expire through DynamoDB's TTL plus a read-time check:
an expired session is never loaded. ``manage.py clearsessions`` runs one reaper pass
(``clear_expired``), deleting expired sessions before DynamoDB's TTL gets to them.

Writes follow Django's database backend: creating a session is a conditional write that fails
(``CreateError``) when the key is taken; saving an existing session only updates a session
that still exists, so a session deleted by a concurrent logout is not resurrected
(``UpdateError``, which the middleware turns into ``SessionInterrupted``). A save whose data is
unchanged (``SESSION_SAVE_EVERY_REQUEST``) only moves the expiry, through the store's throttled
touch: usually no write at all. A session is decoded once per request, and what is unchanged is
found without encoding it again: a value still equal, in its types too, to its ``marshal`` print
as loaded keeps its stored text, which a write reuses (only the changed values are encoded).

A logout (``flush``, ``cycle_key``) leaves a short-lived tombstone (``tombstone_lifetime``), so a
slower request of the same session that saves afterwards writes nothing: it gets ``UpdateError``
as above. With ``"merge"`` set, two requests of one session that change different keys both keep
their change; under ``"merge": "error"`` a key both changed raises
:class:`connect_dynamodb.ConflictError` from the save. The session object keeps the version it
loaded and hands it to its save, then keeps the version that save wrote for a further save in the
same request; a new key (``create``, ``cycle_key``) starts without one.

``"user_field": True`` indexes every session by the id of its logged-in user
(``django.contrib.auth``'s ``_auth_user_id``; or give another session key's name), so that
:func:`user_sessions` lists a user's sessions and :func:`end_user_sessions` ends them ("log out
everywhere", or every other session after a password change) with one query, never a scan.

``"encryption_keys"`` (a list of 32-byte keys, bytes or base64 text; the first encrypts, all
decrypt), ``"id_hash_key"`` (32 to 64 bytes, bytes or base64 text) and ``"compress_threshold"``
(bytes) keep sessions encrypted, their keys hashed and long ones compressed in the table, as
:class:`connect_dynamodb.SessionStore` does with them. Left out, the keys come from the
environment variables ``CONNECT_DYNAMODB_ENCRYPTION_KEYS`` (base64, separated by commas) and
``CONNECT_DYNAMODB_ID_HASH_KEY``; ``[]`` and ``False`` turn them off whatever the environment
says. Django's error pages hide both keys (their names contain ``KEY``). With hashed keys,
:func:`user_sessions` lists each session by the hash of its key. After putting a new key first,
``get_store().reencrypt()`` rewrites the sessions still encrypted with an older one.

Each process has one store for the synchronous methods and one for the ``a*`` methods, both
created on first use from ``CONNECT_DYNAMODB``; changing the setting (``override_settings``)
drops them.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from datetime import datetime
from json.encoder import encode_basestring
from json.scanner import make_scanner
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import (
    VALID_KEY_CHARS,
    CreateError,
    SessionBase,
    UpdateError,
)
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils import timezone
from django.utils.crypto import get_random_string

from connect_dynamodb import (
    AsyncSessionStore,
    ConflictError,
    Credentials,
    InvalidArgumentError,
    UserSession,
    _native,
)
from connect_dynamodb import SessionStore as DynamoDBSessionStore
from connect_dynamodb.contrib._stored_text import StoredText, parse

__all__ = [
    "SessionStore",
    "aend_user_sessions",
    "auser_sessions",
    "end_user_sessions",
    "get_async_store",
    "get_store",
    "reset_stores",
    "user_sessions",
]

SETTING = "CONNECT_DYNAMODB"

#: The session key ``"user_field": True`` stands for: ``django.contrib.auth.SESSION_KEY``, the
#: id of the logged-in user, as ``login()`` stores it (the primary key as text).
AUTH_USER_FIELD = "_auth_user_id"

#: Keyword arguments of connect_dynamodb.SessionStore that CONNECT_DYNAMODB may give.
STORE_OPTIONS = frozenset(_native.OPTIONS) - {"table"}

_lock = threading.Lock()
_stores: dict[str, Any] = {}


def _after_fork_in_child() -> None:
    # A fork while another thread held the lock would leave it held forever in the child.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

# How often create() draws a new key after a collision before giving up. 32 characters of
# [a-z0-9] make a collision practically impossible; the bound only keeps a broken table from
# looping forever.
_CREATE_ATTEMPTS = 16


def _store_arguments() -> tuple[str, dict[str, Any]]:
    conf = getattr(settings, SETTING, None)
    if conf is None:
        conf = {}
    if not isinstance(conf, Mapping):
        raise ImproperlyConfigured(f"settings.{SETTING} must be a dict")
    options = dict(conf)
    table = options.pop("table", None)
    if table is not None and (not isinstance(table, str) or not table):
        raise ImproperlyConfigured(f"settings.{SETTING}['table'] must be a non-empty string")
    unknown = sorted(set(options) - STORE_OPTIONS)
    if unknown:
        raise ImproperlyConfigured(
            f"settings.{SETTING} has unknown keys {unknown}; known: "
            f"{sorted(STORE_OPTIONS | {'table'})}"
        )
    user_field = options.get("user_field")
    if user_field is True:
        options["user_field"] = AUTH_USER_FIELD
    elif user_field is False:
        del options["user_field"]
    credentials = options.get("credentials")
    if isinstance(credentials, Mapping):
        try:
            options["credentials"] = Credentials(**credentials)
        except TypeError as err:
            raise ImproperlyConfigured(
                f"settings.{SETTING}['credentials'] takes access_key_id, "
                "secret_access_key and session_token"
            ) from err
    return table, options


def _get(kind: str, factory: type) -> Any:
    store = _stores.get(kind)
    if store is None:
        with _lock:
            store = _stores.get(kind)
            if store is None:
                table, options = _store_arguments()
                store = factory(table, **options)
                _stores[kind] = store
    return store


def get_store() -> DynamoDBSessionStore:
    """The process's blocking store, created from ``settings.CONNECT_DYNAMODB`` on first use."""
    return _get("sync", DynamoDBSessionStore)


def get_async_store() -> AsyncSessionStore:
    """The process's asyncio store, created from ``settings.CONNECT_DYNAMODB`` on first use."""
    return _get("async", AsyncSessionStore)


def reset_stores() -> None:
    """Drops the process's stores; the next session call creates them from the settings again."""
    with _lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.close()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING:
        reset_stores()


setting_changed.connect(_on_setting_changed, dispatch_uid="connect_dynamodb.contrib.django")


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


_scan = make_scanner(json.JSONDecoder())


def _decode(text: str) -> tuple[dict[str, Any], StoredText] | None:
    """The session ``text`` holds (what ``json.loads`` gives, when it is a dict), and the stored
    text to find its changes by; None when ``text`` is not a JSON object."""
    try:
        parsed = parse(text, _scan, native=True)
    except ValueError:
        return None
    if parsed is None:
        return None
    data, spans = parsed
    return data, StoredText(text, data, spans, _scan)


class SessionStore(SessionBase):
    """Django's ``SessionBase`` on a DynamoDB table (see the module's documentation)."""

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        # What this object last read or wrote, to tell an unchanged save from a real one; for
        # what it read, what the text held, to tell it without encoding the session again.
        self._stored: tuple[str, str] | None = None
        self._loaded_text: StoredText | None = None
        # With merge on, the version of the session this object loaded or last wrote (the
        # request's token for its next save: the store merges a concurrent change against
        # exactly that); None for a session it did not load (new, or a new key).
        self._version: int | None = None

    # Keys --------------------------------------------------------------------------------

    def _get_new_session_key(self) -> str:
        # No exists() read: create() writes on the condition that the key is free, and
        # draws again on a (practically impossible) collision.
        return get_random_string(32, VALID_KEY_CHARS)

    async def _aget_new_session_key(self) -> str:
        return self._get_new_session_key()

    # Reading -----------------------------------------------------------------------------

    def _loaded(self, key: str, record: Any) -> dict[str, Any]:
        decoded = _decode(record.data) if record is not None else None
        if decoded is None:
            self._session_key = None
            self._stored = None
            self._loaded_text = None
            self._version = None
            return {}
        data, self._loaded_text = decoded
        self._stored = (key, record.data)
        self._version = record.version
        return data

    def load(self) -> dict[str, Any]:
        key = self.session_key
        record = None
        if key is not None:
            try:
                record = get_store().get(key)
            except InvalidArgumentError:
                record = None
        return self._loaded(key, record)

    async def aload(self) -> dict[str, Any]:
        key = self.session_key
        record = None
        if key is not None:
            try:
                record = await get_async_store().get(key)
            except InvalidArgumentError:
                record = None
        return self._loaded(key, record)

    def exists(self, session_key: str | None) -> bool:
        if not session_key:
            return False
        try:
            return get_store().get(session_key) is not None
        except InvalidArgumentError:
            return False

    async def aexists(self, session_key: str | None) -> bool:
        if not session_key:
            return False
        try:
            return await get_async_store().get(session_key) is not None
        except InvalidArgumentError:
            return False

    # Writing -----------------------------------------------------------------------------

    def create(self) -> None:
        for _ in range(_CREATE_ATTEMPTS):
            self._session_key = self._get_new_session_key()  # type: ignore[assignment]
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return
        raise RuntimeError("no free session key found: the session table answers oddly")

    async def acreate(self) -> None:
        for _ in range(_CREATE_ATTEMPTS):
            self._session_key = await self._aget_new_session_key()  # type: ignore[assignment]
            try:
                await self.asave(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return
        raise RuntimeError("no free session key found: the session table answers oddly")

    def _expires(self, data: Mapping[str, Any]) -> datetime:
        expires = self.get_expiry_date(expiry=data.get("_session_expiry"))
        if timezone.is_naive(expires):
            expires = timezone.make_aware(expires, timezone.get_default_timezone())
        return expires

    def _write_plan(
        self, data: Mapping[str, Any], must_create: bool
    ) -> tuple[str, str, datetime, str, int | None]:
        """The key, text and expiry to write, how ("create", "update" or "touch"), and the
        version the session was loaded at (None when this object did not load this key)."""
        key = self.session_key
        if key is None:
            # The key was dropped while loading: the session is gone (Django's db and cache
            # backends raise the same).
            raise UpdateError
        text = _dumps(data) if must_create else self._text(key, data)
        if must_create:
            mode = "create"
        elif self._stored == (key, text):
            mode = "touch"
        else:
            mode = "update"
        loaded = None
        if mode != "create" and self._stored is not None and self._stored[0] == key:
            loaded = self._version
        return key, text, self._expires(data), mode, loaded

    def _text(self, key: str, data: Mapping[str, Any]) -> str:
        """The text of ``data`` (``_dumps``'), found without encoding what is unchanged since
        this object loaded ``key``: the stored text of each unchanged value is kept."""
        loaded = self._loaded_text
        if loaded is None or self._stored is None or self._stored[0] != key:
            return _dumps(data)
        same = loaded.unchanged(data)
        if loaded.all_unchanged(data, same):
            return loaded.text
        text = loaded.spliced(data, same, list(data), encode_basestring, _dumps)
        return _dumps(data) if text is None else text

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        key, text, expires, mode, loaded = self._write_plan(data, must_create)
        store = get_store()
        if mode == "touch":
            if store.touch(key, expires) == "not_found":
                self._stored = None
                raise UpdateError
            return
        try:
            saved = store.save(
                key,
                text,
                expires,
                if_absent=mode == "create",
                if_present=mode == "update",
                loaded=loaded,
            )
        except ConflictError as err:
            if mode == "create":
                raise CreateError from err
            # With merge on, the conflict may be another request's change of a key this one
            # changed too (merge="error"), with the session still there: that is the error
            # to raise. Otherwise the session has ended (a logout, a tombstone, expiry).
            if store.merge is not None and store.get(key) is not None:
                raise
            raise UpdateError from err
        self._written(key, text, saved.version)

    async def asave(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return await self.acreate()
        data = await self._aget_session(no_load=must_create)
        key, text, expires, mode, loaded = self._write_plan(data, must_create)
        store = get_async_store()
        if mode == "touch":
            if await store.touch(key, expires) == "not_found":
                self._stored = None
                raise UpdateError
            return
        try:
            saved = await store.save(
                key,
                text,
                expires,
                if_absent=mode == "create",
                if_present=mode == "update",
                loaded=loaded,
            )
        except ConflictError as err:
            if mode == "create":
                raise CreateError from err
            if store.merge is not None and await store.get(key) is not None:
                raise
            raise UpdateError from err
        self._written(key, text, saved.version)

    def _written(self, key: str, text: str, version: int | None) -> None:
        # A second save in this request (an explicit save() before the middleware's) starts
        # from what the first wrote, never merges against what the request loaded.
        self._stored = (key, text)
        self._loaded_text = None
        self._version = version

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        if self._stored is not None and self._stored[0] == session_key:
            self._stored = None
            self._loaded_text = None
            self._version = None
        try:
            get_store().destroy(session_key)
        except InvalidArgumentError:
            pass

    async def adelete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        if self._stored is not None and self._stored[0] == session_key:
            self._stored = None
            self._loaded_text = None
            self._version = None
        try:
            await get_async_store().destroy(session_key)
        except InvalidArgumentError:
            pass

    # Expiry ------------------------------------------------------------------------------

    @classmethod
    def clear_expired(cls) -> None:
        """Deletes the expired sessions now (one reaper pass); ``manage.py clearsessions``."""
        get_store().reap()

    @classmethod
    async def aclear_expired(cls) -> None:
        await get_async_store().reap()


# A user's sessions ------------------------------------------------------------------------


def _user_id(user: Any) -> str | int:
    """The id a session holds for ``user``: a user object's primary key as ``login()`` stores
    it in the session, or an id given as it is (str or int)."""
    if isinstance(user, (str, int)) and not isinstance(user, bool):
        return user
    if not getattr(user, "is_authenticated", False) or getattr(user, "_meta", None) is None:
        raise ValueError("an anonymous user has no sessions: pass a saved user or its id")
    return str(user._meta.pk.value_to_string(user))


def _kept_key(keep: Any) -> str | None:
    """The session key ``keep`` names: a request (its session), a session, a key, or None."""
    if keep is None or isinstance(keep, str):
        return keep
    session = getattr(keep, "session", keep)
    if isinstance(session, SessionBase):
        return session.session_key
    raise TypeError("keep must be an HttpRequest, a session, a session key or None")


def user_sessions(user: Any) -> list[UserSession]:
    """The live sessions of ``user`` (a user object, or the id its sessions hold), as
    :class:`connect_dynamodb.UserSession` values (``id``, ``expires``, ``created``), listed from
    the table's ``user-index`` with one query.

    Needs ``"user_field"`` in ``CONNECT_DYNAMODB`` (``ConfigError`` otherwise). The index is
    eventually consistent: a session saved a moment ago may not be listed yet.
    """
    return get_store().user_sessions(_user_id(user))


def end_user_sessions(user: Any, keep: Any = None) -> int:
    """Ends every session of ``user`` but the one ``keep`` names (the current ``request``, its
    ``request.session``, or a session key); returns how many it ended.

    After a password change, ``end_user_sessions(request.user, keep=request)`` signs the user
    out everywhere else (call ``update_session_auth_hash`` first, as usual); "log out
    everywhere" is ``end_user_sessions(request.user)`` followed by ``logout(request)``. Each
    ended session leaves a tombstone, so a request of it that is still running cannot save it
    back. One query of the ``user-index`` plus one batch write per 25 sessions.
    """
    return get_store().end_user_sessions(_user_id(user), keep=_kept_key(keep))


async def auser_sessions(user: Any) -> list[UserSession]:
    """:func:`user_sessions` on the asyncio store."""
    return await get_async_store().user_sessions(_user_id(user))


async def aend_user_sessions(user: Any, keep: Any = None) -> int:
    """:func:`end_user_sessions` on the asyncio store."""
    return await get_async_store().end_user_sessions(_user_id(user), keep=_kept_key(keep))
