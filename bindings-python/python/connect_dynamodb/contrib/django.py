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
touch: usually no write at all.

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
    _native,
)
from connect_dynamodb import SessionStore as DynamoDBSessionStore

__all__ = ["SessionStore", "get_async_store", "get_store", "reset_stores"]

SETTING = "CONNECT_DYNAMODB"

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


def _decode(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class SessionStore(SessionBase):
    """Django's ``SessionBase`` on a DynamoDB table (see the module's documentation)."""

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        # What this object last read or wrote, to tell an unchanged save from a real one.
        self._stored: tuple[str, str] | None = None

    # Keys --------------------------------------------------------------------------------

    def _get_new_session_key(self) -> str:
        # No exists() read: create() writes on the condition that the key is free, and
        # draws again on a (practically impossible) collision.
        return get_random_string(32, VALID_KEY_CHARS)

    async def _aget_new_session_key(self) -> str:
        return self._get_new_session_key()

    # Reading -----------------------------------------------------------------------------

    def _loaded(self, key: str, record: Any) -> dict[str, Any]:
        data = _decode(record.data) if record is not None else None
        if data is None:
            self._session_key = None
            self._stored = None
            return {}
        self._stored = (key, record.data)
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
    ) -> tuple[str, str, datetime, str]:
        """The key, text and expiry to write, and how: "create", "update" or "touch"."""
        key = self.session_key
        if key is None:
            # The key was dropped while loading: the session is gone (Django's db and cache
            # backends raise the same).
            raise UpdateError
        text = _dumps(data)
        if must_create:
            mode = "create"
        elif self._stored == (key, text):
            mode = "touch"
        else:
            mode = "update"
        return key, text, self._expires(data), mode

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        key, text, expires, mode = self._write_plan(data, must_create)
        store = get_store()
        if mode == "touch":
            if store.touch(key, expires) == "not_found":
                self._stored = None
                raise UpdateError
            return
        try:
            store.set(key, text, expires, if_absent=mode == "create", if_present=mode == "update")
        except ConflictError as err:
            raise (CreateError if mode == "create" else UpdateError) from err
        self._stored = (key, text)

    async def asave(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return await self.acreate()
        data = await self._aget_session(no_load=must_create)
        key, text, expires, mode = self._write_plan(data, must_create)
        store = get_async_store()
        if mode == "touch":
            if await store.touch(key, expires) == "not_found":
                self._stored = None
                raise UpdateError
            return
        try:
            await store.set(
                key, text, expires, if_absent=mode == "create", if_present=mode == "update"
            )
        except ConflictError as err:
            raise (CreateError if mode == "create" else UpdateError) from err
        self._stored = (key, text)

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        if self._stored is not None and self._stored[0] == session_key:
            self._stored = None
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
