"""One table, two languages: a Flask app (connect_dynamodb.contrib.flask with ``express=True``)
and a real express + express-session app on this repository's npm package share sessions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from connect_dynamodb import SessionStore, UnreadableError
from connect_dynamodb.contrib.flask import DynamoDBSessionInterface
from contrib_support import HERE, ROOT, local_endpoint, stop, wait_for_line
from flask import Flask, jsonify, request, session

SECRET = "shared cookie secret"
NODE_DIR = ROOT / "bindings-node"


class NodeApp:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, cookie: str | None = None) -> tuple[Any, str | None]:
        """The JSON answer and the ``connect.sid`` value the app set, if any."""
        req = urllib.request.Request(
            self.base + path, method=method, data=b"" if method == "POST" else None
        )
        if cookie:
            req.add_header("Cookie", f"connect.sid={cookie}")
        with urllib.request.urlopen(req, timeout=20) as response:
            body = json.loads(response.read())
            set_cookie = response.headers.get("Set-Cookie")
        value = None
        if set_cookie:
            name, _, rest = set_cookie.partition("=")
            assert name == "connect.sid"
            value = rest.split(";", 1)[0]
        return body, value


@contextmanager
def start_node_app(table: str, **env: str) -> Iterator[NodeApp]:
    """The express app on ``table``, its environment extended by ``env``."""
    node = shutil.which("node")
    assert node, "node is needed for the cross-language test"
    assert (NODE_DIR / "node_modules" / "express-session").is_dir(), "run `make node-build` first"
    process = subprocess.Popen(
        [node, str(HERE / "express_app.js")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(
            os.environ,
            CONNECT_DYNAMODB_NODE_DIR=str(NODE_DIR),
            TABLE=table,
            SECRET=SECRET,
            DYNAMODB_ENDPOINT=local_endpoint(),
            **env,
        ),
        start_new_session=True,
    )
    try:
        port = wait_for_line(process, "listening ", 30).split()[1]
        yield NodeApp(f"http://127.0.0.1:{port}")
    finally:
        stop(process)


@pytest.fixture
def node_app(fresh_table: str) -> Iterator[NodeApp]:
    with start_node_app(fresh_table) as app:
        yield app


@pytest.fixture
def flask_app(make_store: Any) -> Flask:
    return make_flask_app(make_store())


def make_flask_app(store: SessionStore) -> Flask:
    app = Flask(__name__)
    app.secret_key = SECRET
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=30)
    interface = DynamoDBSessionInterface(store, express=True)
    app.session_interface = interface

    @app.get("/whoami")
    def whoami() -> Any:
        return jsonify(data=dict(session), permanent=session.permanent)

    @app.post("/visit")
    def visit() -> Any:
        session["visits"] = session.get("visits", 0) + 1
        session["seen_by"] = "flask"
        return jsonify(visits=session["visits"])

    @app.post("/login")
    def login() -> Any:
        session["user"] = request.args["user"]
        session["visits"] = 0
        session.permanent = bool(request.args.get("permanent"))
        return jsonify(ok=True)

    return app


def test_flask_reads_and_changes_a_node_session(
    node_app: NodeApp, flask_app: Flask, make_store: Any
) -> None:
    _, cookie = node_app.call("POST", "/login?user=alice")
    assert cookie is not None and cookie.startswith("s%3A")

    client = flask_app.test_client()
    client.set_cookie("connect.sid", cookie)
    answer = client.get("/whoami").json
    # express's cookie object is not part of the Flask session; its maxAge makes it permanent.
    assert answer == {"data": {"user": "alice", "visits": 0, "_permanent": True}, "permanent": True}
    assert client.post("/visit").json == {"visits": 1}
    assert client.get_cookie("connect.sid").value == cookie  # the same session, the same cookie

    seen, _ = node_app.call("GET", "/whoami", cookie)
    assert seen["data"] == {"user": "alice", "visits": 1, "seen_by": "flask"}
    # express-session recomputes originalMaxAge from two clock readings when it touches a
    # session, so it may have lost a few milliseconds on the Node side.
    assert 3_590_000 <= seen["cookie"]["originalMaxAge"] <= 3_600_000
    expires = datetime.fromisoformat(seen["cookie"]["expires"].replace("Z", "+00:00"))
    assert abs(expires.timestamp() - (time.time() + 3600)) < 60

    # And back: Node changes it, Flask sees the change.
    assert node_app.call("POST", "/visit", cookie)[0] == {"visits": 2}
    assert client.get("/whoami").json["data"]["visits"] == 2

    sid = flask_app.session_interface.unsign(flask_app, cookie)
    stored = json.loads(make_store().get(sid).data)
    assert set(stored["cookie"]) >= {"originalMaxAge", "expires", "httpOnly", "path"}


def test_node_loads_a_session_flask_created(node_app: NodeApp, flask_app: Flask) -> None:
    client = flask_app.test_client()
    client.post("/login?user=bob&permanent=1")
    cookie = client.get_cookie("connect.sid").value
    assert cookie.startswith("s%3A")
    sid = flask_app.session_interface.unsign(flask_app, cookie)
    assert sid is not None and len(sid) == 32  # as express-session's uid-safe(24)

    seen, _ = node_app.call("GET", "/whoami", cookie)
    assert seen["data"] == {"user": "bob", "visits": 0}
    assert seen["cookie"]["originalMaxAge"] == 30 * 60 * 1000
    assert node_app.call("POST", "/visit", cookie)[0] == {"visits": 1}
    assert client.get("/whoami").json["data"]["visits"] == 1

    # A browser-session cookie (not permanent): Node loads it too, without an expiry.
    browser = flask_app.test_client()
    browser.post("/login?user=carol")
    seen, _ = node_app.call("GET", "/whoami", browser.get_cookie("connect.sid").value)
    assert seen["data"] == {"user": "carol", "visits": 0}
    assert seen["cookie"] == {"originalMaxAge": None, "expires": None}


def test_a_wrong_secret_does_not_open_node_sessions(node_app: NodeApp, flask_app: Flask) -> None:
    _, cookie = node_app.call("POST", "/login?user=alice")
    flask_app.session_interface.secrets = [b"another secret"]
    client = flask_app.test_client()
    client.set_cookie("connect.sid", cookie)
    assert client.get("/whoami").json["data"] == {}


# Encrypted at rest, both sides -------------------------------------------------------------

K1 = secrets.token_bytes(32)
K2 = secrets.token_bytes(32)
H = secrets.token_bytes(32)


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


@pytest.mark.parametrize("hashed", [False, True], ids=["encrypted", "encrypted-hashed-ids"])
def test_an_encrypted_session_is_shared_both_ways(
    fresh_table: str, make_store: Any, dynamodb: Any, hashed: bool
) -> None:
    # The Node store is given no key option: it reads the keys from the environment, as the
    # core does for every face. The Flask store is given the same keys as options.
    env = {"CONNECT_DYNAMODB_ENCRYPTION_KEYS": f"{b64(K1)},{b64(K2)}"}
    options: dict[str, Any] = {"encryption_keys": [K1, K2], "id_hash_key": False}
    if hashed:
        env["CONNECT_DYNAMODB_ID_HASH_KEY"] = b64(H)
        options["id_hash_key"] = H
    flask_app = make_flask_app(make_store(**options))
    client = flask_app.test_client()

    def raw(sid: str) -> bytes:
        """The stored ``sess``, checked to be encrypted, under the key of ``sid``."""
        key = "sess:" + sid
        if hashed:
            digest = hmac.new(H, sid.encode(), hashlib.sha256).digest()
            key = "sess:" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
            assert "Item" not in dynamodb.get_item(
                TableName=fresh_table, Key={"id": {"S": "sess:" + sid}}
            )
        item = dynamodb.get_item(TableName=fresh_table, Key={"id": {"S": key}}, ConsistentRead=True)
        sess: bytes = item["Item"]["sess"]["B"]
        assert sess[0] == 1 and sess[1] & 0x02  # format 1, encrypted
        return sess

    with start_node_app(fresh_table, **env) as node_app:
        _, cookie = node_app.call("POST", "/login?user=alice")
        assert cookie is not None
        sid = flask_app.session_interface.unsign(flask_app, cookie)
        assert sid is not None
        assert b"alice" not in raw(sid)
        # Without the keys the session cannot be read: it really is encrypted.
        with pytest.raises(UnreadableError):
            make_store(encryption_keys=[], id_hash_key=options["id_hash_key"]).get(sid)

        # Flask reads it, and changes it.
        client.set_cookie("connect.sid", cookie)
        answer = client.get("/whoami").json
        assert answer["data"] == {"user": "alice", "visits": 0, "_permanent": True}
        assert client.post("/visit").json == {"visits": 1}
        sess = raw(sid)
        assert b"alice" not in sess and b"flask" not in sess and b"visits" not in sess

        # Node reads Flask's change, and changes it back.
        seen, _ = node_app.call("GET", "/whoami", cookie)
        assert seen["data"] == {"user": "alice", "visits": 1, "seen_by": "flask"}
        assert node_app.call("POST", "/visit", cookie)[0] == {"visits": 2}
        assert client.get("/whoami").json["data"]["visits"] == 2
        assert b"alice" not in raw(sid)

        # A session Flask starts, Node loads.
        fresh = flask_app.test_client()
        fresh.post("/login?user=bob&permanent=1")
        bob_cookie = fresh.get_cookie("connect.sid").value
        bob_sid = flask_app.session_interface.unsign(flask_app, bob_cookie)
        assert bob_sid is not None and b"bob" not in raw(bob_sid)
        seen, _ = node_app.call("GET", "/whoami", bob_cookie)
        assert seen["data"] == {"user": "bob", "visits": 0}
