"""Sessions at rest through real Django, Flask and Starlette apps on DynamoDB Local, with all
three options on (``encryption_keys``, ``id_hash_key``, ``compress_threshold``), each passed the
way the framework takes the store's options: a login, the session read back by its cookie, a
logout; and the raw item: a binary ``sess`` without the session's text, under a key that is not
the prefix and the session id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import django_settings
import pytest
from contrib_support import create_table, delete_table, local_endpoint

if not django_settings.settings.configured:
    django_settings.configure(__name__)

from connect_dynamodb import AsyncSessionStore
from connect_dynamodb.contrib import django as engine
from connect_dynamodb.contrib.django import user_sessions
from connect_dynamodb.contrib.flask import init_app
from connect_dynamodb.contrib.starlette import DynamoDBStore
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.models import User
from django.core import management
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, override_settings
from django.urls import path
from flask import Flask, jsonify, request, session
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starsessions import SessionAutoloadMiddleware, SessionMiddleware

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

K1 = secrets.token_bytes(32)
K2 = secrets.token_bytes(32)
H = secrets.token_bytes(32)
PASSWORD = "correct horse"
USER = "grace-hopper"


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def hashed_key(sid: str, prefix: str = "sess:") -> str:
    """The table key of a session id hashed with ``H`` (the format of core/src/at_rest.rs)."""
    digest = hmac.new(H, sid.encode(), hashlib.sha256).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def raw_item(dynamodb: Any, table: str, key: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = dynamodb.get_item(
        TableName=table, Key={"id": {"S": key}}, ConsistentRead=True
    ).get("Item")
    return item


def assert_stored_at_rest(
    dynamodb: Any, table: str, sid: str, plaintexts: list[bytes], prefix: str = "sess:"
) -> None:
    """The session ``sid`` is stored under its hashed key (nothing under prefix + sid), its
    ``sess`` binary, encrypted and compressed, without any of ``plaintexts``."""
    assert raw_item(dynamodb, table, prefix + sid) is None
    item = raw_item(dynamodb, table, hashed_key(sid, prefix))
    assert item is not None
    sess = item["sess"]["B"]
    assert sess[:2] == bytes([1, 0x03])  # format 1: compressed, then encrypted
    for text in plaintexts:
        assert text not in sess
    assert sid.encode() not in repr(item).encode()


def at_rest_options() -> dict[str, Any]:
    """The three options, in both spellings of a key (bytes and base64 text)."""
    return {"encryption_keys": [K1, b64(K2)], "id_hash_key": b64(H), "compress_threshold": 0}


# Django ---------------------------------------------------------------------------------------


def login_view(request: HttpRequest) -> HttpResponse:
    user = authenticate(request, username=request.GET["user"], password=PASSWORD)
    assert user is not None
    login(request, user)
    request.session["note"] = "a private note"
    return JsonResponse({"key": request.session.session_key})


def whoami_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    return JsonResponse(
        {
            "user": user.get_username() if user.is_authenticated else None,
            "note": request.session.get("note"),
        }
    )


def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return JsonResponse({"ok": True})


urlpatterns = [
    path("login", login_view),
    path("whoami", whoami_view),
    path("logout", logout_view),
]


@pytest.fixture
def django_app() -> Iterator[str]:
    """This module's URLs, the auth middleware, a user, and a table with the user index, named
    by CONNECT_DYNAMODB with the three options."""
    table = create_table("django-at-rest", user_field="_auth_user_id")
    management.call_command("migrate", verbosity=0, interactive=False)
    User.objects.filter(username=USER).delete()
    User.objects.create_user(USER, password=PASSWORD)
    with override_settings(
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        CONNECT_DYNAMODB={
            "table": table,
            "endpoint": local_endpoint(),
            "user_field": True,
            **at_rest_options(),
        },
    ):
        yield table
        engine.reset_stores()
    delete_table(table)


def test_django_login_read_back_and_logout_at_rest(django_app: str, dynamodb: Any) -> None:
    store = engine.get_store()
    assert len(store.encryption_key_ids) == 2 and store.hashes_ids
    assert store.compress_threshold == 0
    client = Client()
    key = client.get(f"/login?user={USER}").json()["key"]
    assert client.cookies["sessionid"].value == key
    assert client.get("/whoami").json() == {"user": USER, "note": "a private note"}

    assert_stored_at_rest(
        dynamodb, django_app, key, [b"_auth_user_id", b"private note", USER.encode()]
    )
    # The user index holds a keyed hash of the user id, and lists the session by its hash.
    user = User.objects.get(username=USER)
    (listed,) = user_sessions(user)
    assert "sess:" + listed.id == hashed_key(key)
    item = raw_item(dynamodb, django_app, hashed_key(key))
    assert item is not None and item["user"]["S"] != str(user.pk)

    assert client.get("/logout").json() == {"ok": True}
    assert client.get("/whoami").json() == {"user": None, "note": None}
    assert store.get(key) is None
    # Another client with the old cookie gets no session.
    late = Client()
    late.cookies["sessionid"] = key
    assert late.get("/whoami").json() == {"user": None, "note": None}


# Flask ----------------------------------------------------------------------------------------


def flask_app(table: str) -> Flask:
    app = Flask(__name__)
    app.secret_key = "at-rest flask secret"
    # The options go in the config dict init_app makes the store from, as user_field and merge.
    app.config["CONNECT_DYNAMODB"] = {"table": table, "endpoint": local_endpoint()}
    app.config["CONNECT_DYNAMODB"].update(at_rest_options())
    interface = init_app(app)

    @app.post("/login")
    def login_() -> Any:
        interface.regenerate(session)
        session["user"] = request.args["user"]
        session["note"] = "a private note"
        return jsonify(ok=True)

    @app.get("/whoami")
    def whoami() -> Any:
        return jsonify(user=session.get("user"), note=session.get("note"))

    @app.post("/logout")
    def logout_() -> Any:
        session.clear()
        return jsonify(ok=True)

    return app


def test_flask_login_read_back_and_logout_at_rest(fresh_table: str, dynamodb: Any) -> None:
    app = flask_app(fresh_table)
    interface = app.extensions["connect_dynamodb"]
    store = interface.store
    assert store.hashes_ids and store.compress_threshold == 0
    try:
        client = app.test_client()
        assert client.post(f"/login?user={USER}").json == {"ok": True}
        cookie = client.get_cookie("session")
        assert cookie is not None
        sid = interface.unsign(app, cookie.value)
        assert sid is not None
        assert client.get("/whoami").json == {"user": USER, "note": "a private note"}

        # Read back by the cookie alone, in a new client.
        other = app.test_client()
        other.set_cookie("session", cookie.value)
        assert other.get("/whoami").json == {"user": USER, "note": "a private note"}

        assert_stored_at_rest(dynamodb, fresh_table, sid, [b"private note", USER.encode()])

        assert client.post("/logout").json == {"ok": True}
        assert client.get_cookie("session") is None
        assert store.get(sid) is None
        late = app.test_client()
        late.set_cookie("session", cookie.value)
        assert late.get("/whoami").json == {"user": None, "note": None}
    finally:
        store.close()


# Starlette ------------------------------------------------------------------------------------


async def starlette_login(request: Request) -> Response:
    request.session.update({"user": request.query_params["user"], "note": "a private note"})
    return JSONResponse({"ok": True})


async def starlette_whoami(request: Request) -> Response:
    return JSONResponse({"user": request.session.get("user"), "note": request.session.get("note")})


async def starlette_logout(request: Request) -> Response:
    request.session.clear()
    return JSONResponse({"ok": True})


def starlette_app(store: DynamoDBStore) -> Starlette:
    return Starlette(
        routes=[
            Route("/login", starlette_login, methods=["POST"]),
            Route("/whoami", starlette_whoami),
            Route("/logout", starlette_logout, methods=["POST"]),
        ],
        middleware=[
            Middleware(
                SessionMiddleware, store=store, lifetime=3600, rolling=True, cookie_https_only=False
            ),
            Middleware(SessionAutoloadMiddleware),
        ],
    )


def test_starlette_login_read_back_and_logout_at_rest(
    make_async_store: Callable[..., AsyncSessionStore], fresh_table: str, dynamodb: Any
) -> None:
    async_store = make_async_store(**at_rest_options())
    assert async_store.hashes_ids and len(async_store.encryption_key_ids) == 2
    app = starlette_app(DynamoDBStore(async_store))
    with TestClient(app) as client:
        assert client.post(f"/login?user={USER}").json() == {"ok": True}
        sid = client.cookies["session"]
        assert client.get("/whoami").json() == {"user": USER, "note": "a private note"}
        assert_stored_at_rest(dynamodb, fresh_table, sid, [b"private note", USER.encode()])

    # Read back by the cookie alone, in a new client of a new app on the same table.
    with TestClient(starlette_app(DynamoDBStore(async_store))) as other:
        other.cookies["session"] = sid
        assert other.get("/whoami").json() == {"user": USER, "note": "a private note"}
        assert other.post("/logout").json() == {"ok": True}
        assert other.get("/whoami").json() == {"user": None, "note": None}
    item = raw_item(dynamodb, fresh_table, hashed_key(sid))
    assert item is None or item.get("sess", {}).get("B") is None
