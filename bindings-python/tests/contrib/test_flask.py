"""connect_dynamodb.contrib.flask through Flask's test client, against DynamoDB Local."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from connect_dynamodb.contrib.flask import DynamoDBSessionInterface, init_app
from contrib_support import local_endpoint
from flask import Flask, jsonify, request, session
from itsdangerous import BadSignature, Signer

SECRET = "flask-test-secret"


def make_app(store: Any, **options: Any) -> Flask:
    app = Flask(__name__)
    app.secret_key = SECRET
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=2)
    interface = DynamoDBSessionInterface(store, **options)
    app.session_interface = interface

    @app.post("/set")
    def set_() -> Any:
        for key, value in request.args.items():
            if key != "permanent":
                session[key] = value
        if request.args.get("permanent"):
            session.permanent = True
        return jsonify(sid=session.sid)

    @app.get("/get")
    def get() -> Any:
        return jsonify(data=dict(session), sid=session.sid, new=session.new)

    @app.get("/static")
    def static_page() -> Any:
        return "no session used"

    @app.post("/append")
    def append() -> Any:
        session.setdefault("items", []).append(request.args["item"])
        session.modified = True
        return jsonify(items=session["items"])

    @app.post("/append-in-place")
    def append_in_place() -> Any:
        session["items"].append(request.args["item"])  # no assignment: modified stays False
        return jsonify(modified=session.modified)

    @app.post("/flag")
    def flag() -> Any:
        session["flag"] = request.args["value"] == "true" if "value" in request.args else 1
        return "ok"

    @app.post("/clear")
    def clear() -> Any:
        session.clear()
        return "cleared"

    @app.post("/login")
    def login() -> Any:
        interface.regenerate(session)
        session["user"] = request.args["user"]
        return jsonify(ok=True)

    return app


def cookie_sid(app: Flask, client: Any) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    sid = app.session_interface.unsign(app, cookie.value)
    assert sid is not None
    return sid


def test_new_session_is_stored_as_json_under_a_signed_cookie(make_store: Any) -> None:
    store = make_store()
    app = make_app(store)
    client = app.test_client()
    response = client.post("/set?user=alice")
    assert response.status_code == 200
    sid = response.json["sid"]
    assert isinstance(sid, str) and len(sid) == 43  # secrets.token_urlsafe(32)
    cookie = client.get_cookie("session")
    assert cookie.value != sid and cookie.value.startswith(sid + ".")
    assert cookie.expires is None  # not permanent: a browser-session cookie
    assert cookie.http_only
    assert json.loads(store.get(sid).data) == {"user": "alice"}
    assert "Cookie" in response.headers["Vary"]
    assert client.get("/get").json == {"data": {"user": "alice"}, "sid": sid, "new": False}


def test_a_read_only_request_reads_once_and_writes_nothing(make_store: Any, proxy: Any) -> None:
    app = make_app(make_store(endpoint=proxy.url, first_use="nothing"))
    client = app.test_client()
    client.post("/set?user=alice")
    assert proxy.snapshot() == {"PutItem": 1}
    proxy.reset()
    for _ in range(5):
        assert client.get("/get").json["data"] == {"user": "alice"}
    assert proxy.snapshot() == {"GetItem": 5}
    proxy.reset()
    client.post("/set?user=alice")  # the same value: nothing changed
    assert proxy.snapshot() == {"GetItem": 1}
    proxy.reset()
    client.post("/set?user=bob")
    assert proxy.snapshot() == {"GetItem": 1, "PutItem": 1}


def test_with_the_defaults_the_first_request_checks_the_table_once(
    make_store: Any, proxy: Any
) -> None:
    # The default first_use ("create"): one DescribeTable before the store's first call, none
    # after it; the table exists, so nothing is created.
    app = make_app(make_store(endpoint=proxy.url))
    client = app.test_client()
    client.post("/set?user=alice")
    assert proxy.snapshot() == {"DescribeTable": 1, "PutItem": 1}
    proxy.reset()
    assert client.get("/get").json["data"] == {"user": "alice"}
    assert proxy.snapshot() == {"GetItem": 1}


def test_without_a_cookie_no_request_reaches_dynamodb(make_store: Any, proxy: Any) -> None:
    app = make_app(make_store(endpoint=proxy.url))
    client = app.test_client()
    assert client.get("/static").status_code == 200
    assert client.get("/get").json["data"] == {}
    assert client.get_cookie("session") is None
    assert proxy.total() == 0


def test_in_place_changes_are_written_when_the_json_differs(make_store: Any) -> None:
    store = make_store()
    app = make_app(store)
    client = app.test_client()
    client.post("/append?item=a")
    client.post("/append?item=b")
    sid = cookie_sid(app, client)
    assert json.loads(store.get(sid).data) == {"items": ["a", "b"]}


def test_the_expiry_moves_through_the_throttled_touch(make_store: Any, proxy: Any) -> None:
    # touch_after=0: every expiry move is written, as UpdateItem of the expiry alone.
    app = make_app(make_store(endpoint=proxy.url, touch_after=0, first_use="nothing"))
    client = app.test_client()
    client.post("/set?user=alice")
    sid = cookie_sid(app, client)
    proxy.reset()
    client.get("/get")
    assert proxy.snapshot() == {"GetItem": 1, "UpdateItem": 1}

    # The default throttle (600 s): the same read writes nothing.
    throttled = make_app(make_store(endpoint=proxy.url, first_use="nothing"))
    client2 = throttled.test_client()
    client2.set_cookie("session", throttled.session_interface.sign(throttled, sid))
    proxy.reset()
    assert client2.get("/get").json["data"] == {"user": "alice"}
    assert proxy.snapshot() == {"GetItem": 1}

    # SESSION_REFRESH_EACH_REQUEST = False: the expiry only moves with a change.
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    proxy.reset()
    client.get("/get")
    assert proxy.snapshot() == {"GetItem": 1}


def test_permanent_and_browser_sessions(make_store: Any) -> None:
    store = make_store()
    app = make_app(store)
    lifetime = app.permanent_session_lifetime.total_seconds()

    browser = app.test_client()
    browser.post("/set?user=alice")
    assert browser.get_cookie("session").expires is None
    stored = store.get(cookie_sid(app, browser))
    assert abs(stored.expires.timestamp() - (time.time() + lifetime)) < 30

    permanent = app.test_client()
    permanent.post("/set?user=bob&permanent=1")
    cookie = permanent.get_cookie("session")
    assert cookie.expires is not None
    assert abs(cookie.expires.timestamp() - (time.time() + lifetime)) < 30
    sid = cookie_sid(app, permanent)
    assert json.loads(store.get(sid).data) == {"_permanent": True, "user": "bob"}
    # A later request refreshes the permanent cookie (SESSION_REFRESH_EACH_REQUEST).
    response = permanent.get("/get")
    assert "session=" in response.headers.get("Set-Cookie", "")


def test_a_bad_signature_or_an_unknown_id_starts_a_new_session(make_store: Any) -> None:
    store = make_store()
    app = make_app(store)
    client = app.test_client()
    client.post("/set?user=alice")
    sid = cookie_sid(app, client)

    forged = app.test_client()
    forged.set_cookie("session", sid + ".forged-signature")
    answer = forged.get("/get").json
    assert answer["data"] == {} and answer["new"] is True and answer["sid"] != sid

    # A correctly signed id the store does not know is never reused.
    unknown = app.test_client()
    unknown.set_cookie("session", app.session_interface.sign(app, "x" * 43))
    assert unknown.get("/get").json["new"] is True
    new_sid = unknown.post("/set?user=mallory").json["sid"]
    assert new_sid != "x" * 43
    assert store.get("x" * 43) is None

    other_key = make_app(store)
    other_key.secret_key = "another secret"
    stranger = other_key.test_client()
    stranger.set_cookie("session", client.get_cookie("session").value)
    assert stranger.get("/get").json["new"] is True


def test_malformed_express_cookies_start_a_new_session(make_store: Any) -> None:
    app = make_app(make_store(), express=True)
    client = app.test_client()
    for value in (
        "s%3Aabc.%C3%A9%C3%A9",  # a non-ASCII signature
        "s%3A%C3%A9.c2ln",  # a non-ASCII id
        "s%3Aabc.%FF",  # not UTF-8
        "s%3A.c2ln",  # an empty id
        "s%3Aabc",  # no signature
        "abc.c2ln",  # unsigned
    ):
        client.set_cookie("connect.sid", value)
        response = client.get("/get")
        assert response.status_code == 200, value
        assert response.json["new"] is True and response.json["data"] == {}


def test_express_reserves_the_cookie_key(make_store: Any) -> None:
    app = make_app(make_store(), express=True)
    app.testing = True
    with pytest.raises(ValueError, match="cookie"):
        app.test_client().post("/set?cookie=mine")


def test_secret_key_fallbacks_are_accepted(make_store: Any) -> None:
    store = make_store()
    app = make_app(store)
    client = app.test_client()
    client.post("/set?user=alice")
    app.config["SECRET_KEY_FALLBACKS"] = [SECRET]
    app.secret_key = "rotated secret"
    assert client.get("/get").json["data"] == {"user": "alice"}


def test_the_cookie_is_signed_as_itsdangerous_signs_with_the_newest_secret(
    make_store: Any,
) -> None:
    def signer(secret: str) -> Signer:
        return Signer(
            secret,
            salt="connect-dynamodb.session",
            key_derivation="hmac",
            digest_method=hashlib.sha256,
        )

    app = make_app(make_store())
    client = app.test_client()
    sid = client.post("/set?user=alice").json["sid"]
    assert signer(SECRET).unsign(client.get_cookie("session").value).decode() == sid
    # A rotated secret signs the next cookie at once; the old one still verifies.
    app.config["SECRET_KEY_FALLBACKS"] = [SECRET]
    app.secret_key = "rotated secret"
    assert client.post("/set?user=bob").json["sid"] == sid
    value = client.get_cookie("session").value
    assert signer("rotated secret").unsign(value).decode() == sid
    with pytest.raises(BadSignature):
        signer(SECRET).unsign(value)
    assert app.session_interface.unsign(app, signer(SECRET).sign(sid).decode()) == sid
    # Dropped from the fallbacks, the old secret no longer verifies.
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert app.session_interface.unsign(app, signer(SECRET).sign(sid).decode()) is None


def test_the_signer_is_made_once_for_the_same_secrets_and_salt(make_store: Any) -> None:
    app = make_app(make_store())
    interface = app.session_interface
    keys = interface._secrets(app)
    signer = interface._signer_of(keys)
    assert interface._signer_of(list(keys)) is signer  # equal secrets: the same signer
    interface.salt = "another salt"
    other = interface._signer_of(keys)
    assert other is not signer and other.salt == b"another salt"


def test_an_interfaces_own_secrets_changed_in_place_sign_at_once(make_store: Any) -> None:
    store = make_store()
    app = make_app(store, secret=["first secret"])
    interface = app.session_interface
    sid = "x" * 43
    old = interface.sign(app, sid)
    interface.secrets.insert(0, b"second secret")
    new = interface.sign(app, sid)
    assert new != old
    assert interface.unsign(app, old) == sid  # the older secret still verifies
    interface.secrets.pop()
    assert interface.unsign(app, old) is None
    assert interface.unsign(app, new) == sid


def test_clear_deletes_the_session_and_its_cookie(make_store: Any) -> None:
    store = make_store()
    app = make_app(store)
    client = app.test_client()
    client.post("/set?user=alice")
    sid = cookie_sid(app, client)
    response = client.post("/clear")
    assert "session=;" in response.headers["Set-Cookie"]
    assert client.get_cookie("session") is None
    assert store.get(sid) is None


def test_regenerate_gives_a_new_id_and_deletes_the_old(make_store: Any) -> None:
    store = make_store()
    app = make_app(store)
    client = app.test_client()
    client.post("/set?cart=3")
    old = cookie_sid(app, client)
    client.post("/login?user=alice")
    new = cookie_sid(app, client)
    assert new != old
    assert store.get(old) is None
    assert json.loads(store.get(new).data) == {"cart": "3", "user": "alice"}


def test_a_session_deleted_elsewhere_is_not_resurrected(make_store: Any) -> None:
    store = make_store()
    app = make_app(store)

    @app.post("/slow-change")
    def slow_change() -> Any:
        _ = session["user"]  # loaded...
        store.destroy(session.sid)  # ...logged out by a concurrent request...
        session["user"] = "eve"  # ...then changed here
        return "ok"

    client = app.test_client()
    client.post("/set?user=alice")
    sid = cookie_sid(app, client)

    response = client.post("/slow-change")
    assert response.status_code == 200
    assert store.get(sid) is None
    assert client.get_cookie("session") is None


def test_without_a_secret_key_the_session_is_unusable(make_store: Any) -> None:
    app = make_app(make_store())
    app.secret_key = None
    app.testing = True
    with pytest.raises(RuntimeError, match="secret key"):
        app.test_client().post("/set?user=alice")


def test_tagged_values_round_trip(make_store: Any) -> None:
    app = make_app(make_store())

    @app.post("/tuple")
    def put_tuple() -> Any:
        session["pair"] = (1, b"\x00bytes")
        return "ok"

    @app.get("/tuple")
    def get_tuple() -> Any:
        pair = session["pair"]
        return jsonify(is_tuple=isinstance(pair, tuple), second=pair[1].hex())

    client = app.test_client()
    client.post("/tuple")
    assert client.get("/tuple").json == {"is_tuple": True, "second": "006279746573"}


def test_init_app_makes_the_store_from_the_config(fresh_table: str, dynamodb_endpoint: str) -> None:
    app = Flask(__name__)
    app.secret_key = SECRET
    app.config["CONNECT_DYNAMODB"] = {
        "table": fresh_table,
        "endpoint": dynamodb_endpoint,
        "prefix": "flask:",
        "credentials": {"access_key_id": "localtest", "secret_access_key": "localtest"},
    }
    interface = init_app(app)
    assert app.session_interface is interface

    @app.route("/count")
    def count() -> Any:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    client = app.test_client()
    assert [client.get("/count").text for _ in range(3)] == ["1", "2", "3"]
    sid = interface.unsign(app, client.get_cookie("session").value)
    assert json.loads(interface.store.get(sid).data) == {"n": 3}
    interface.store.close()


def test_in_place_changes_without_assignment_are_written(make_store: Any) -> None:
    store = make_store()
    app = make_app(store)
    client = app.test_client()
    client.post("/append?item=a")
    assert client.post("/append-in-place?item=b").json == {"modified": False}
    sid = cookie_sid(app, client)
    assert json.loads(store.get(sid).data) == {"items": ["a", "b"]}


def test_an_equal_value_of_another_type_is_written(make_store: Any) -> None:
    store = make_store()
    app = make_app(store)
    client = app.test_client()
    client.post("/flag")  # 1
    client.post("/flag?value=true")  # True == 1 in Python, not in JSON
    sid = cookie_sid(app, client)
    assert json.loads(store.get(sid).data) == {"flag": True}
    assert json.loads(store.get(sid).data)["flag"] is True


def test_the_first_request_on_a_table_that_does_not_exist_creates_it(
    table_name: str, dynamodb: Any
) -> None:
    app = Flask(__name__)
    app.secret_key = SECRET
    app.config["CONNECT_DYNAMODB"] = {"table": table_name, "endpoint": local_endpoint()}
    init_app(app)

    @app.post("/set")
    def set_() -> Any:
        session["user"] = request.args["user"]
        return "ok"

    @app.get("/get")
    def get() -> Any:
        return jsonify(user=session.get("user"))

    client = app.test_client()
    assert client.post("/set?user=ada").status_code == 200
    assert client.get("/get").get_json() == {"user": "ada"}
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    app.extensions["connect_dynamodb"].store.close()
