"""Flask sessions on DynamoDB: a ``SessionInterface`` over :class:`connect_dynamodb.SessionStore`.

::

    from connect_dynamodb import SessionStore
    from connect_dynamodb.contrib.flask import init_app

    app = Flask(__name__)
    app.secret_key = "..."
    init_app(app, SessionStore("sessions", region="eu-west-1"))

The browser holds only a random session id (``secrets.token_urlsafe(32)``), signed with
``app.secret_key`` (``SECRET_KEY_FALLBACKS`` are accepted when reading); the data stays in
DynamoDB as JSON. A request costs one read when it sends a session cookie, and no write unless
the session's data changed: the expiry of an unchanged session moves through the store's
throttled touch (``touch_after``), so it is written at most once per ``touch_after`` seconds.

- Permanent sessions (``session.permanent = True``) get a cookie that expires after
  ``PERMANENT_SESSION_LIFETIME``; other sessions get a browser-session cookie. On the server both
  live ``PERMANENT_SESSION_LIFETIME`` past their last use (``SESSION_REFRESH_EACH_REQUEST``,
  default true) or past their last change (when it is false).
- An id the store does not know is never reused: the session starts afresh with a new id.
- The session is stored as Flask's tagged JSON, the text Flask's ``TaggedJSONSerializer`` writes
  (tuples, bytes, ``Markup``, UUIDs and datetimes round-trip), read once per request and
  written back encoding only the values that changed. An app's own tags go on
  ``interface.serializer`` (``interface.serializer.register(MyTag, index=0)``); a serializer so
  changed, or a JSON provider (``app.json``) of another kind, is used as it is.
- A session emptied by ``session.clear()`` is deleted from DynamoDB and its cookie removed.
- A change to a session that was deleted meanwhile (a logout in another tab) is not written
  back: the session stays ended and its cookie is removed.
- ``interface.regenerate(session)`` gives the session a new id (do it at login); the old one is
  deleted when the response is saved.
- A store made with ``user_field`` (e.g. ``SessionStore(..., user_field="user_id")``) indexes
  sessions by that session key: ``interface.user_sessions(user)`` lists a user's sessions and
  ``interface.end_user_sessions(user, keep=session)`` ends all the others (after a password
  change; without ``keep`` for "log out everywhere").
- A store made with ``merge="mine"`` or ``merge="error"`` keeps both changes when two requests of
  one session change different keys; under ``"error"`` a key both changed raises
  :class:`connect_dynamodb.ConflictError` from the save (Flask answers 500). The version the
  request loaded travels on its session object to the save; a regenerated session has none.
- A store made with ``encryption_keys`` (a list of 32-byte keys, bytes or base64 text; the first
  encrypts), ``id_hash_key`` and ``compress_threshold`` keeps sessions encrypted, their ids
  hashed and long ones compressed in the table; nothing changes for the app. ``init_app(app)``
  takes them in ``app.config["CONNECT_DYNAMODB"]`` like the other options. Without
  ``encryption_keys`` / ``id_hash_key`` the store reads ``CONNECT_DYNAMODB_ENCRYPTION_KEYS`` /
  ``CONNECT_DYNAMODB_ID_HASH_KEY`` from the environment (``[]`` / ``False``: off).

With ``express=True`` the interface reads and writes the sessions of an express-session app on
the same table (the npm package ``connect-dynamodb``), given the same secret: the cookie is
express-session's ``connect.sid`` (``s:<sid>.<HMAC-SHA256>``, URL-encoded), the session JSON keeps
express's ``cookie`` object (hidden from the Flask session, updated on save, created for new
sessions) and holds plain JSON only. An express app whose store has the same encryption and id
hash keys (through the same options or environment variables) shares encrypted sessions too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import marshal
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from itertools import chain, compress
from json.encoder import encode_basestring, encode_basestring_ascii
from json.scanner import make_scanner
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote
from uuid import UUID

from flask.json.provider import DefaultJSONProvider
from flask.json.tag import (
    PassDict,
    PassList,
    TagBytes,
    TagDateTime,
    TagDict,
    TaggedJSONSerializer,
    TagMarkup,
    TagTuple,
    TagUUID,
)
from flask.sessions import SessionInterface, SessionMixin
from itsdangerous import BadSignature, Signer
from werkzeug.datastructures import CallbackDict
from werkzeug.http import http_date

from connect_dynamodb import ConflictError, InvalidArgumentError
from connect_dynamodb.contrib._stored_text import StoredText, parse, parse_natively, print_of

if TYPE_CHECKING:
    from flask import Flask, Request, Response

    from connect_dynamodb import SessionStore, UserSession

__all__ = ["DynamoDBSession", "DynamoDBSessionInterface", "init_app"]

_PERMANENT = "_permanent"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    """JavaScript's ``Date.prototype.toISOString``: UTC, milliseconds, ``Z``."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# Flask's tagged JSON, without its per-value cost ----------------------------------------------
#
# A session is stored as Flask's ``TaggedJSONSerializer`` writes it in the app: every value that
# JSON has no type for wrapped in a one-key dict named by its tag (tuple " t", bytes " b",
# Markup " m", UUID " u", datetime " d", and " di" for a one-key dict whose key is a tag), then
# written by the app's JSON provider (``app.json``) with compact separators. Flask finds each
# value's tag by asking every tag in turn, in Python, for every value, and untags every dict and
# list of a loaded session the same way. For the serializer's default tags and Flask's own JSON
# provider the code below gives the same text and the same values for much less:
#
# - reading: once, noting where each top-level value's text lies (``_stored_text``), by the
#   native reader, which calls the tags' ``to_python`` for the one-key objects whose key is a
#   tag's (inside out, as Flask does); a text it leaves to ``json`` is read by ``json``'s scanner
#   with an ``object_hook`` that undoes the tags, or without the hook (a Python call per object)
#   when no object's first key begins with a space or an escape, so that no tag can be there;
# - finding changes: a value whose ``marshal`` print is the one it was loaded with is unchanged;
#   any other is compared with the value as loaded (from its print, or decoded again from its
#   text when marshal cannot copy it: a Markup, UUID or datetime), as Flask's values compare;
# - writing a loaded session: the stored text of each unchanged value is kept as it is and only
#   the others are written, in the order the JSON provider writes keys;
# - writing anything else: one walk over the containers, level by level, whose per-value checks
#   run in C (the set of types of a level's values), finds the common case, plain JSON values,
#   which ``json.dumps`` then writes as they are; otherwise only the containers on the way to a
#   tagged value are copied, with their tags.
#
# A serializer with other tags (``interface.serializer.register(...)``) or another class, and a
# JSON provider of another kind, go through Flask's own ``TaggedJSONSerializer`` as they are.

_DEFAULT_TAGS = (TagDict, PassDict, TagTuple, PassList, TagBytes, TagMarkup, TagUUID, TagDateTime)
_DEFAULT_TAG_CLASSES = {tag.key: tag for tag in _DEFAULT_TAGS if tag.key}
_TAG_KEYS = frozenset(_DEFAULT_TAG_CLASSES)
# The default tags, whose to_python does not depend on the serializer they belong to.
_UNTAGS = TaggedJSONSerializer().tags
# The types that never take a tag (exactly these; a subclass may: Markup is a str).
_PLAIN = frozenset({str, int, float, bool, type(None)})
_JSON = _PLAIN | {dict, list}
_IS_DICT = frozenset({dict}).__contains__
_IS_LIST = frozenset({list}).__contains__
# Levels the walk looks at before it leaves a deeper session to the recursive tagging (which,
# like Flask's, fails on a session that contains itself).
_WALK_LEVELS = 100


def _default_serializer(serializer: Any) -> bool:
    """Whether ``serializer`` is a ``TaggedJSONSerializer`` with exactly its default tags."""
    return (
        type(serializer) is TaggedJSONSerializer
        and tuple(map(type, serializer.order)) == _DEFAULT_TAGS
        and len(serializer.tags) == len(_DEFAULT_TAG_CLASSES)
        and all(type(serializer.tags.get(k)) is c for k, c in _DEFAULT_TAG_CLASSES.items())
    )


def _default_provider(app: Flask | None) -> DefaultJSONProvider | None:
    """The app's JSON provider when it writes and reads with Python's ``json`` as Flask's own
    does (its ``default``, ``ensure_ascii`` and ``sort_keys`` may be set); None otherwise."""
    provider = getattr(app, "json", None)
    if not isinstance(provider, DefaultJSONProvider):
        return None
    kind = type(provider)
    if kind.dumps is not DefaultJSONProvider.dumps or kind.loads is not DefaultJSONProvider.loads:
        return None
    return provider


def _needs_no_tag(value: dict[str, Any] | list[Any]) -> bool:
    """Whether nothing in ``value`` (a dict or a list) takes a tag: nothing but exact JSON types,
    and no one-key dict whose key is a tag's. The walk goes level by level, the checks of a
    level's values running in C."""
    dicts: list[Any] = [value] if type(value) is dict else []
    lists: list[Any] = [] if dicts else [value]
    for _ in range(_WALK_LEVELS):
        if dicts:
            singles = list(compress(dicts, map((1).__eq__, map(len, dicts))))
            if singles and not _TAG_KEYS.isdisjoint(map(next, map(iter, singles))):
                return False
        values = list(
            chain(chain.from_iterable(map(dict.values, dicts)), chain.from_iterable(lists))
        )
        kinds = list(map(type, values))
        found = set(kinds)
        if found <= _PLAIN:
            return True
        if not found <= _JSON:
            return False
        dicts = list(compress(values, map(_IS_DICT, kinds)))
        lists = list(compress(values, map(_IS_LIST, kinds)))
    return False


def _tag(value: Any) -> Any:
    """Flask's ``TaggedJSONSerializer().tag(value)``: ``value`` with its values tagged; a dict or
    list that holds no value to tag is returned as it is, not copied."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if (kind is dict or kind is list) and _needs_no_tag(value):
        return value
    # Flask's tags in Flask's order.
    if isinstance(value, dict):
        if len(value) == 1:
            key = next(iter(value))
            if key in _TAG_KEYS:
                return {" di": {f"{key}__": _tag(value[key])}}
        return {k: _tag(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return {" t": [_tag(item) for item in value]}
    if isinstance(value, list):
        return [_tag(item) for item in value]
    if isinstance(value, bytes):
        return {" b": base64.b64encode(value).decode("ascii")}
    if callable(getattr(value, "__html__", None)):
        return {" m": str(value.__html__())}
    if isinstance(value, UUID):
        return {" u": value.hex}
    if isinstance(value, datetime):
        return {" d": http_date(value)}
    return value


def _untag(value: dict[str, Any]) -> Any:
    """The ``object_hook`` that undoes the default tags, as ``TaggedJSONSerializer.untag``."""
    if len(value) == 1:
        key = next(iter(value))
        tag = _UNTAGS.get(key)
        if tag is not None:
            return tag.to_python(value[key])
    return value


_scan = make_scanner(json.JSONDecoder(object_hook=_untag))
_scan_plain = make_scanner(json.JSONDecoder())
# Where a tagged value may be: it is an object whose one key is a tag's, which begins with a
# space, so its text is "{", JSON's whitespace, a quote, then a space or an escape (of the space).
# A match elsewhere (inside a string) only costs the hook.
_MAY_BE_TAGGED = re.compile(r'\{[ \t\n\r]*"[ \\]').search


def _copy(data: dict[str, Any]) -> dict[str, Any] | None:
    """A deep copy of loaded session data, or None when ``marshal`` cannot copy it exactly."""
    printed = print_of(data)
    return None if printed is None else marshal.loads(printed)  # type: ignore[no-any-return]


class DynamoDBSession(CallbackDict, SessionMixin):  # type: ignore[type-arg]
    """The session Flask hands to views: a dict that tracks changes, plus its id."""

    def __init__(
        self,
        initial: Mapping[str, Any] | None = None,
        sid: str | None = None,
        new: bool = False,
    ) -> None:
        def on_update(session: DynamoDBSession) -> None:
            session.modified = True
            session.accessed = True

        super().__init__(initial, on_update)
        #: The session id (a new session's id is drawn when it is opened).
        self.sid = sid
        #: True until the session is stored.
        self.new = new
        self.modified = False
        self.accessed = False
        # A separate copy of the data as loaded (None: write on save), the express-session
        # cookie object, the id to delete after regenerate(), and whether a save raised (so
        # that the error response Flask then saves the session for writes nothing).
        self._snapshot: dict[str, Any] | None = None
        # Instead of the copy, with Flask's own tagged JSON: the text as loaded and what it held.
        self._stored: StoredText | None = None
        self._cookie: dict[str, Any] | None = None
        self._replaced_sid: str | None = None
        self._save_failed = False
        # With merge on, the version this request loaded the session at, then the one its
        # save wrote: the token the store merges a concurrent change against. None for a
        # session the request did not load (new, regenerated).
        self._version: int | None = None

    def is_empty(self) -> bool:
        """Whether the session holds nothing but its permanent flag."""
        return all(key == _PERMANENT for key in self)


class DynamoDBSessionInterface(SessionInterface):
    """Stores Flask sessions in a :class:`connect_dynamodb.SessionStore`.

    :param store: the store (one per process; it is safe to share between threads, and to
        create before gunicorn forks its workers).
    :param express: read and write express-session's cookie and session format (see the
        module's documentation).
    :param secret: the cookie secret, or a list of them (the first signs, any verifies);
        default ``app.secret_key`` plus ``SECRET_KEY_FALLBACKS``.
    :param cookie_name: default ``SESSION_COOKIE_NAME``, or ``connect.sid`` with ``express``.
    :param salt: the signer's salt (not used with ``express``).
    """

    session_class = DynamoDBSession

    def __init__(
        self,
        store: SessionStore,
        *,
        express: bool = False,
        secret: str | bytes | Iterable[str | bytes] | None = None,
        cookie_name: str | None = None,
        salt: str = "connect-dynamodb.session",
    ) -> None:
        self.store = store
        # The store the sessions go through: with express and merge="error", a copy whose
        # merges always take this request's express `cookie` object, which every save rewrites.
        self._store = store._with_merge_always_mine(["cookie"]) if express else store
        self.express = express
        if isinstance(secret, (str, bytes)):
            secret = [secret]
        self.secrets = None if secret is None else [_bytes(s) for s in secret]
        if self.secrets is not None and not self.secrets:
            raise ValueError("secret must not be an empty list")
        self.cookie_name = cookie_name or ("connect.sid" if express else None)
        self.salt = salt
        # The signer of the last secrets and salt (they change only when the app's do).
        self._signer: tuple[tuple[bytes, ...], str, Signer] | None = None
        #: Flask's tagged JSON serializer the session data goes through (not with ``express``);
        #: register an app's own tags on it, as on Flask's cookie session interface.
        self.serializer = TaggedJSONSerializer()
        self._default_serializer: TaggedJSONSerializer | None = None

    # Cookies ----------------------------------------------------------------------------------

    def get_cookie_name(self, app: Flask) -> str:
        return self.cookie_name or super().get_cookie_name(app)

    def _secrets(self, app: Flask) -> list[bytes] | None:
        """The secrets, newest first; None when the app has no secret key."""
        if self.secrets is not None:
            return self.secrets
        if not app.secret_key:
            return None
        fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or []
        return [_bytes(app.secret_key), *(_bytes(k) for k in fallbacks)]

    def _signer_of(self, keys: list[bytes]) -> Signer:
        """itsdangerous' signer of ``keys`` (newest first) and the salt, made once for them.
        Kept by value: a list of secrets changed in place (``interface.secrets``) gets a new
        one."""
        given = tuple(keys)
        kept = self._signer
        if kept is not None and kept[0] == given and kept[1] == self.salt:
            return kept[2]
        signer = _Signer(
            list(reversed(given)),
            salt=self.salt,
            key_derivation="hmac",
            digest_method=hashlib.sha256,
        )
        self._signer = (given, self.salt, signer)
        return signer

    def sign(self, app: Flask, sid: str) -> str:
        """The cookie value that carries ``sid``."""
        keys = self._secrets(app)
        if keys is None:
            raise RuntimeError("the session needs app.secret_key (or a secret) to sign its cookie")
        return self._sign(keys, sid)

    def _sign(self, keys: list[bytes], sid: str) -> str:
        if self.express:
            return quote("s:" + sid + "." + _express_signature(keys[0], sid), safe="!*'()")
        return self._signer_of(keys).sign(sid).decode("ascii")

    def unsign(self, app: Flask, value: str) -> str | None:
        """The session id a cookie value carries, or None when its signature is wrong."""
        keys = self._secrets(app)
        if keys is None:
            return None
        return self._unsign(keys, value)

    def _unsign(self, keys: list[bytes], value: str) -> str | None:
        if not value:
            return None
        if self.express:
            value = unquote(value)
            if not value.startswith("s:") or "." not in value:
                return None
            sid, _, signature = value[2:].rpartition(".")
            # Compared as bytes: compare_digest refuses non-ASCII text, which a cookie may hold.
            given = signature.encode("utf-8", "surrogateescape")
            for key in keys:
                expected = _express_signature(key, sid).encode("ascii")
                if sid and hmac.compare_digest(expected, given):
                    return sid
            return None
        try:
            return self._signer_of(keys).unsign(value).decode("utf-8")
        except (BadSignature, UnicodeDecodeError):
            return None

    def _new_sid(self) -> str:
        # express-session's ids are uid-safe(24): 32 characters; Flask's get 32 bytes.
        return secrets.token_urlsafe(24 if self.express else 32)

    # Serialization ----------------------------------------------------------------------------

    def _fast(self, app: Flask | None) -> DefaultJSONProvider | None:
        """The app's JSON provider when the session is Flask's tagged JSON with the default tags
        written by Flask's own provider, which the code above reads and writes; else None."""
        if self.express:
            return None
        serializer = self.serializer
        # A serializer found to have the default tags is taken for one while it has as many
        # (``register`` adds to its order, ``force`` or not).
        if (
            serializer is not self._default_serializer
            or len(serializer.order) != len(_DEFAULT_TAGS)
            or len(serializer.tags) != len(_DEFAULT_TAG_CLASSES)
        ):
            if not _default_serializer(serializer):
                return None
            self._default_serializer = serializer
        return _default_provider(app)

    def _dump_value(self, value: Any, provider: DefaultJSONProvider) -> str:
        """``value`` as Flask's tagged JSON, written by ``provider``."""
        return json.dumps(
            _tag(value),
            separators=(",", ":"),
            default=provider.default,
            ensure_ascii=provider.ensure_ascii,
            sort_keys=provider.sort_keys,
        )

    def _dump_data(self, data: Mapping[str, Any], app: Flask | None = None) -> str:
        """The session's own data as stored text (without express's cookie object): what
        ``self.serializer.dumps`` writes in ``app``."""
        if self.express:
            if "cookie" in data:
                raise ValueError(
                    "with express=True the session key 'cookie' is express-session's own"
                )
            data = {k: v for k, v in data.items() if k != _PERMANENT}
            return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        data = dict(data)
        provider = self._fast(app)
        if provider is None:
            return self.serializer.dumps(data)
        return self._dump_value(data, provider)

    def _load_data(
        self, text: str, app: Flask | None = None
    ) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
        """The session dict and express's cookie object, or None when the text is damaged."""
        try:
            if self.express:
                data = json.loads(text)
            elif self._fast(app) is not None:
                data = json.loads(text, object_hook=_untag if _MAY_BE_TAGGED(text) else None)
            else:
                data = self.serializer.loads(text)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        if not isinstance(data, dict):
            return None
        cookie = None
        if self.express:
            cookie = data.pop("cookie", None)
            if not isinstance(cookie, dict):
                cookie = None
            data.pop(_PERMANENT, None)
            if cookie is not None and cookie.get("originalMaxAge") is not None:
                data[_PERMANENT] = True
        return data, cookie

    # The interface ----------------------------------------------------------------------------

    def open_session(self, app: Flask, request: Request) -> DynamoDBSession | None:
        keys = self._secrets(app)
        if keys is None:
            return None  # Flask's null session: using it says that the secret key is missing
        value = request.cookies.get(self.get_cookie_name(app))
        sid = self._unsign(keys, value) if value else None
        if sid is not None:
            try:
                record = self._store.get(sid)
            except InvalidArgumentError:
                record = None
            text = record.data if record is not None else None
            if text is not None and self._fast(app) is not None:
                session = self._open_stored(sid, text)
                if session is not None:
                    session._version = record.version
                    return session
            loaded = self._load_data(text, app) if text is not None else None
            if text is not None and loaded is not None:
                data, cookie = loaded
                # A session without express's cookie object is written back with one.
                if not self.express or cookie is not None:
                    # A copy of the data as loaded, to find changes on save (cheaper than
                    # encoding on every save): marshal's, or failing that a second decoding.
                    snapshot = _copy(data)
                    if snapshot is None:
                        again = self._load_data(text, app)
                        snapshot = again[0] if again else None
                else:
                    snapshot = None
                session = self.session_class(data, sid=sid)
                session._cookie = cookie
                session._version = record.version
                session._snapshot = snapshot
                return session
        # No cookie, a bad signature, or an id the store does not know: a new session with a
        # new id, never the one the client sent.
        return self.session_class(sid=self._new_sid(), new=True)

    def _open_stored(self, sid: str, text: str) -> DynamoDBSession | None:
        """The session ``text`` holds, decoded once, with what it takes to find its changes and
        write them (see above); None when ``text`` is not a JSON object (the caller decodes it
        as Flask does)."""
        try:
            parsed = parse_natively(text, (_untag, _TAG_KEYS))
            if parsed is None:  # left to json: the tag hook only where a tag may be
                parsed = parse(text, _scan if _MAY_BE_TAGGED(text) else _scan_plain)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        if parsed is None:
            return None
        data, spans = parsed
        if len(data) == 1 and next(iter(data)) in _UNTAGS:
            return None  # a tagged value as the whole session
        session = self.session_class(data, sid=sid)
        # The scanner with the hook reads any value as Flask does; the stored text uses it only
        # for a value that marshal cannot copy.
        session._stored = StoredText(text, data, spans, _scan)
        return session

    def regenerate(self, session: DynamoDBSession) -> None:
        """Gives ``session`` a new id, keeping its data; the old id is deleted on save."""
        if not session.new and session.sid is not None and session._replaced_sid is None:
            session._replaced_sid = session.sid
        session.sid = self._new_sid()
        session.new = True
        session.modified = True
        session._version = None

    # A user's sessions ------------------------------------------------------------------------

    def user_sessions(self, user: str | int) -> list[UserSession]:
        """The live sessions of ``user`` (the value of the store's ``user_field`` in the session,
        e.g. ``session["user_id"]``): ``UserSession`` values (``id``, ``expires``, ``created``),
        from the table's ``user-index`` with one query. The index is eventually consistent."""
        return self._store.user_sessions(user)

    def end_user_sessions(
        self, user: str | int, *, keep: DynamoDBSession | str | None = None
    ) -> int:
        """Ends every session of ``user`` but ``keep`` (the current ``session``, or a session
        id); returns how many it ended. ``end_user_sessions(user, keep=session)`` after a
        password change; for "log out everywhere", ``end_user_sessions(user)`` then
        ``session.clear()``. Each ended session leaves a tombstone, so a request of it that is
        still running cannot save it back."""
        if isinstance(keep, DynamoDBSession):
            keep = keep.sid
        return self._store.end_user_sessions(user, keep=keep)

    def _cookie_args(self, app: Flask) -> dict[str, Any]:
        """The session cookie's attributes, as the app's settings give them."""
        args: dict[str, Any] = {
            "domain": self.get_cookie_domain(app),
            "path": self.get_cookie_path(app),
            "secure": self.get_cookie_secure(app),
            "samesite": self.get_cookie_samesite(app),
            "httponly": self.get_cookie_httponly(app),
        }
        if hasattr(self, "get_cookie_partitioned"):  # Flask 3.1 and later
            args["partitioned"] = self.get_cookie_partitioned(app)
        return args

    def _end_cookie(self, app: Flask, response: Response) -> None:
        """Deletes the session cookie in ``response``."""
        response.delete_cookie(self.get_cookie_name(app), **self._cookie_args(app))
        response.vary.add("Cookie")

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, DynamoDBSession) or session._save_failed:
            return
        if session.accessed:
            response.vary.add("Cookie")
        # The id regenerate() replaced: deleted once the session is stored under its new id.
        replaced, session._replaced_sid = session._replaced_sid, None
        sid = session.sid
        if sid is None:  # a session object made outside open_session
            sid = session.sid = self._new_sid()
            session.new = True

        if session.is_empty():
            if replaced is not None:
                self._store.destroy(replaced)
            if not session.new:
                self._store.destroy(sid)
            if not session.new or session.modified:
                self._end_cookie(app, response)
            return

        # What this request does: store a new session, write a changed one, move an unchanged
        # one's expiry (Flask's refresh), set the cookie. A request of an unchanged session in
        # load-only mode does none of them, and needs neither the expiry nor the cookie's
        # attributes.
        text = None if session.new else self._changed_text(app, session)
        refresh = app.config.get("SESSION_REFRESH_EACH_REQUEST", True)
        set_cookie = session.new or session.modified or self.should_set_cookie(app, session)
        if not (session.new or text is not None or refresh or set_cookie):
            return
        expires, cookie_expires = self._expiry(app, session, _now())
        if session.new:
            self._create(session, self._dump_data(session, app), expires)
            if replaced is not None:
                self._store.destroy(replaced)
        elif text is not None:
            try:
                saved = self._store.save(
                    sid,
                    self._full_text(session, text),
                    expires,
                    if_present=True,
                    loaded=session._version,
                )
            except ConflictError:
                # With merge on, another request's change of a key this one changed too
                # (merge="error"), the session still there: raised, and the 500 response
                # Flask makes of it does not save the session again.
                if self._store.merge is not None and self._store.get(sid) is not None:
                    session._save_failed = True
                    raise
                # Ended meanwhile (a logout elsewhere, a tombstone, the absolute timeout):
                # the session stays ended.
                self._end_cookie(app, response)
                return
            session._snapshot = None
            session._stored = None
            session._version = saved.version
        elif refresh:
            if self._store.touch(sid, expires) == "not_found":
                self._end_cookie(app, response)
                return
        if set_cookie:
            response.set_cookie(
                self.get_cookie_name(app),
                self.sign(app, session.sid or sid),
                expires=cookie_expires,
                **self._cookie_args(app),
            )
            response.vary.add("Cookie")
        session.new = False

    def _changed_text(self, app: Flask, session: DynamoDBSession) -> str | None:
        """The text to store when the session's data differs from what was loaded; else None."""
        stored = session._stored
        provider = self._fast(app)
        if stored is None or provider is None:
            return self._dump_data(session, app) if self._changed(app, session) else None
        current = dict(session)
        same = stored.unchanged(current)
        if stored.all_unchanged(current, same):
            return None
        prints = stored.prints
        changed = current.keys() != prints.keys()
        if not changed:
            # As Flask's values compare; after an assignment, also as stored text.
            differing = [key for key in current if key not in same]
            loaded = {key: stored.loaded(key) for key in differing}
            changed = any(current[key] != loaded[key] for key in differing) or (
                session.modified
                and any(
                    self._dump_value(current[key], provider)
                    != self._dump_value(loaded[key], provider)
                    for key in differing
                )
            )
        if not changed and session.modified and not provider.sort_keys:
            changed = list(current) != list(prints)  # the keys' order is part of the text
        if not changed:
            return None
        text = None
        if not (len(current) == 1 and next(iter(current)) in _TAG_KEYS):
            keys = list(current)
            if provider.sort_keys and all(type(key) is str for key in keys):
                keys.sort()
            text = stored.spliced(
                current,
                same,
                keys,
                encode_basestring_ascii if provider.ensure_ascii else encode_basestring,
                lambda value: self._dump_value(value, provider),
            )
        return self._dump_data(current, app) if text is None else text

    def _changed(self, app: Flask, session: DynamoDBSession) -> bool:
        """Whether the session's data differs from what was loaded."""
        snapshot = session._snapshot
        if snapshot is None or dict(session) != snapshot:
            return True
        # Equal as Python values; after an assignment, also as stored text (1 == 1.0 == True).
        return session.modified and self._dump_data(session, app) != self._dump_data(snapshot, app)

    def _expiry(
        self, app: Flask, session: DynamoDBSession, now: datetime
    ) -> tuple[datetime | None, datetime | None]:
        """When the stored session expires, and when its cookie does (None: browser session)."""
        lifetime: timedelta = app.permanent_session_lifetime
        if not self.express:
            cookie_expires = now + lifetime if session.permanent else None
            return now + lifetime, cookie_expires
        # express-session: the cookie object says it; a browser-session cookie leaves the
        # stored expiry to the store's default lifetime, as the Node store does.
        cookie = dict(session._cookie or {"httpOnly": True, "path": "/"})
        if session.permanent:
            max_age = cookie.get("originalMaxAge")
            if not isinstance(max_age, (int, float)) or isinstance(max_age, bool):
                max_age = int(lifetime.total_seconds() * 1000)
            moment = now + timedelta(milliseconds=max_age)
            cookie["originalMaxAge"] = max_age
            cookie["expires"] = _iso(moment)
            expires: datetime | None = moment
        else:
            expires = None
            cookie["originalMaxAge"] = None
            cookie["expires"] = None
        session._cookie = cookie
        return expires, expires

    def _full_text(self, session: DynamoDBSession, text: str) -> str:
        """The stored text: with express, the data plus the cookie object."""
        if not self.express:
            return text
        cookie = json.dumps(session._cookie, separators=(",", ":"))
        return text[:-1] + ("," if text != "{}" else "") + '"cookie":' + cookie + "}"

    def _create(self, session: DynamoDBSession, text: str, expires: datetime | None) -> None:
        for attempt in range(3):
            if attempt > 0 or session.sid is None:
                session.sid = self._new_sid()
            try:
                saved = self._store.save(
                    session.sid, self._full_text(session, text), expires, if_absent=True
                )
            except ConflictError:
                if attempt == 2:
                    raise
                continue
            session._version = saved.version
            return


class _Signer(Signer):
    """itsdangerous' ``Signer``, each secret's derived key computed once: the same signatures,
    one HMAC per cookie instead of two. It holds only the secrets it was made with."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[bytes, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else _bytes(secret_key)
        derived = self._derived.get(secret)
        if derived is None:
            derived = self._derived[secret] = super().derive_key(secret)
        return derived


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _express_signature(key: bytes, sid: str) -> str:
    """cookie-signature's signature: base64 HMAC-SHA256 without the ``=`` padding."""
    digest = hmac.new(key, sid.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii").rstrip("=")


def init_app(
    app: Flask, store: SessionStore | None = None, **options: Any
) -> DynamoDBSessionInterface:
    """Makes ``app`` keep its sessions in ``store``; returns the session interface.

    Without ``store``, one is made from ``app.config["CONNECT_DYNAMODB"]``, a dict of
    :class:`connect_dynamodb.SessionStore` arguments (``table`` and the keyword options, e.g.
    ``user_field``, ``merge``, ``encryption_keys``, ``id_hash_key``, ``compress_threshold``).
    ``options`` go to :class:`DynamoDBSessionInterface` (``express``, ``secret``, ...).
    """
    if store is None:
        from connect_dynamodb import Credentials
        from connect_dynamodb import SessionStore as _SessionStore

        conf = dict(app.config.get("CONNECT_DYNAMODB") or {})
        table = conf.pop("table", None)
        if isinstance(conf.get("credentials"), Mapping):
            conf["credentials"] = Credentials(**conf["credentials"])
        store = _SessionStore(table, **conf)
    interface = DynamoDBSessionInterface(store, **options)
    app.session_interface = interface
    app.extensions["connect_dynamodb"] = interface
    return interface
