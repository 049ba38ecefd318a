"""Issue 11 through a real Flask app (connect_dynamodb.contrib.flask) on DynamoDB Local: a logout
that a slower request cannot undo (tombstones), concurrent changes merged (``merge``), the
absolute timeout, and a user's sessions listed and ended (``user_field``)."""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from connect_dynamodb import ConflictError, SessionStore
from connect_dynamodb.contrib.flask import DynamoDBSessionInterface
from connect_dynamodb.testing import ManualClock
from contrib_support import at_once, call, create_table, delete_table, serve
from flask import Flask, got_request_exception, jsonify, request, session

SECRET = "flask-lifecycle-secret"
# The merge tests send ROUNDS rounds of WIDTH requests of one session at once. Each request's
# save finds the load it started from among the loads of the session the store remembers (the
# core's LOADS_PER_SESSION, 16); a round of WIDTH makes at most WIDTH + 1 of them.
ROUNDS = 5
WIDTH = 8


class Gate:
    """Holds every request of a round inside its view, after it loaded the session, until all
    of them have: then they all change and save it at once."""

    def __init__(self) -> None:
        self.barrier: threading.Barrier | None = None

    def wait(self) -> None:
        assert self.barrier is not None
        self.barrier.wait(timeout=30)


def make_app(store: SessionStore, **options: Any) -> tuple[Flask, Gate, list[BaseException]]:
    """The app, its gate, and the exceptions its requests raised."""
    app = Flask(__name__)
    app.secret_key = SECRET
    interface = DynamoDBSessionInterface(store, **options)
    app.session_interface = interface
    gate = Gate()
    raised: list[BaseException] = []

    def record(sender: Any, exception: BaseException, **extra: Any) -> None:
        raised.append(exception)

    got_request_exception.connect(record, app, weak=False)

    @app.post("/set")
    def set_() -> Any:
        for key, value in request.args.items():
            if key == "permanent":
                session.permanent = True
            else:
                session[key] = value
        return jsonify(sid=session.sid)

    @app.get("/get")
    def get() -> Any:
        return jsonify(data=dict(session), sid=session.sid, new=session.new)

    @app.post("/change")
    def change() -> Any:
        # The session was loaded before the view ran; every request of the round waits here.
        assert session.get("base") == "1"
        gate.wait()
        session[request.args["key"]] = request.args["value"]
        return jsonify(ok=True)

    @app.post("/pop")
    def pop() -> Any:
        session.pop(request.args["key"])
        return jsonify(ok=True)

    @app.post("/login")
    def login() -> Any:
        interface.regenerate(session)
        session["user_id"] = request.args["user"]
        return jsonify(sid=session.sid)

    @app.post("/password-changed")
    def password_changed() -> Any:
        ended = interface.end_user_sessions(session["user_id"], keep=session)
        return jsonify(ended=ended)

    @app.post("/logout-everywhere")
    def logout_everywhere() -> Any:
        ended = interface.end_user_sessions(session["user_id"])
        session.clear()
        return jsonify(ended=ended)

    return app, gate, raised


def lost_updates(store: SessionStore, **options: Any) -> tuple[int, dict[str, Any]]:
    """Serves the app (``options`` go to the session interface) and starts a permanent
    session, then sends ROUNDS rounds of WIDTH requests with its cookie at once, each setting
    a key of its own after all of its round loaded the session; how many of those keys the
    session lacks afterwards, and the session."""
    app, gate, raised = make_app(store, **options)
    keys = [f"r{r}k{i}" for r in range(ROUNDS) for i in range(WIDTH)]
    name = app.session_interface.get_cookie_name(app)
    with serve(app) as base:
        started = call(base, "POST", "/set?base=1&permanent=1")
        cookies = {name: started.cookies[name]}
        for r in range(ROUNDS):
            gate.barrier = threading.Barrier(WIDTH)
            answers = at_once(
                [
                    lambda k=k: call(base, "POST", f"/change?key={k}&value=v-{k}", cookies)
                    for k in keys[r * WIDTH : (r + 1) * WIDTH]
                ]
            )
            assert [a.status for a in answers] == [200] * WIDTH, raised
        data = call(base, "GET", "/get", cookies).json["data"]
    assert raised == []
    assert data.pop("_permanent") is True
    assert data["base"] == "1"
    return sum(k not in data for k in keys), data


# Tombstones ---------------------------------------------------------------------------------


def test_a_change_saved_after_a_logout_elsewhere_writes_nothing(
    make_store: Any, proxy: Any
) -> None:
    store = make_store(endpoint=proxy.url, first_use="nothing")
    app, _, raised = make_app(store)
    other = make_store()

    @app.post("/slow-change")
    def slow_change() -> Any:
        assert session["user"] == "alice"  # loaded...
        other.destroy(session.sid)  # ...logged out by another request (another process)...
        proxy.reset()
        session["user"] = "eve"  # ...then changed and saved here
        return "ok"

    client = app.test_client()
    client.post("/set?user=alice")
    sid = app.session_interface.unsign(app, client.get_cookie("session").value)
    response = client.post("/slow-change")
    assert response.status_code == 200
    # The late save: one conditional PutItem, refused by the tombstone.
    assert proxy.snapshot() == {"PutItem": 1}
    assert store.get(sid) is None
    assert client.get_cookie("session") is None  # the cookie goes with the session
    # The id stays ended: the same cookie starts a new session with a new id.
    assert client.get("/get").json["new"] is True
    assert raised == []


def test_regenerate_ends_the_old_id_in_one_write_and_the_new_id_is_unaffected(
    make_store: Any, proxy: Any
) -> None:
    store = make_store(endpoint=proxy.url, first_use="nothing")
    app, _, _ = make_app(store)
    client = app.test_client()
    client.post("/set?cart=3")
    old = app.session_interface.unsign(app, client.get_cookie("session").value)
    proxy.reset()
    client.post("/login?user=alice")
    new = app.session_interface.unsign(app, client.get_cookie("session").value)
    # The new id: one conditional PutItem; the old one's tombstone: one PutItem.
    assert proxy.snapshot() == {"GetItem": 1, "PutItem": 2}
    assert new != old
    assert store.get(old) is None
    assert json.loads(store.get(new).data) == {"cart": "3", "user_id": "alice"}


# Merge --------------------------------------------------------------------------------------


def test_concurrent_changes_of_different_keys_are_lost_without_merge(make_store: Any) -> None:
    lost, data = lost_updates(make_store())
    # In each round every request saved the session it loaded plus its own key: the last
    # save of the round wins.
    assert lost == ROUNDS * (WIDTH - 1)
    assert len(data) == 1 + ROUNDS


@pytest.mark.parametrize("policy", ["mine", "error"])
def test_concurrent_changes_of_different_keys_all_survive_with_merge(
    make_store: Any, policy: str
) -> None:
    lost, data = lost_updates(make_store(merge=policy))
    assert lost == 0
    expected = {f"r{r}k{i}": f"v-r{r}k{i}" for r in range(ROUNDS) for i in range(WIDTH)}
    assert data == {"base": "1", **expected}


@pytest.mark.parametrize("express", [False, True], ids=["flask", "express"])
@pytest.mark.parametrize("policy", ["mine", "error"])
def test_a_key_a_later_request_deletes_stays_deleted(
    make_store: Any, policy: str, express: bool
) -> None:
    """One request adds ``cart``, the next (after it finished) takes it out again; then a
    logout by deleting the user's key. Neither comes back."""
    store = make_store(merge=policy)
    app, _, raised = make_app(store, express=express)
    interface = app.session_interface
    name = interface.get_cookie_name(app)
    client = app.test_client()
    client.post("/set?user=alice&theme=dark")
    sid = interface.unsign(app, client.get_cookie(name).value)
    client.post("/set?cart=1")
    assert json.loads(store.get(sid).data)["cart"] == "1"
    assert client.post("/pop?key=cart").status_code == 200
    assert client.get("/get").json["data"] == {"user": "alice", "theme": "dark"}
    assert client.post("/pop?key=user").status_code == 200
    assert client.get("/get").json["data"] == {"theme": "dark"}
    assert interface.unsign(app, client.get_cookie(name).value) == sid
    data = json.loads(store.get(sid).data)
    data.pop("cookie", None)  # express-session's own
    assert data == {"theme": "dark"}
    assert raised == []


def test_express_sessions_merge_too_though_every_save_rewrites_their_cookie_object(
    make_store: Any,
) -> None:
    # express-session's `cookie` object gets a new `expires` on every save of a permanent
    # session: under "error" it would be a key both requests changed, were it not always
    # taken from the saving request.
    lost, data = lost_updates(make_store(merge="error"), express=True)
    assert lost == 0
    assert len(data) == 1 + ROUNDS * WIDTH


def test_a_key_two_requests_change_is_a_conflict_under_merge_error(make_store: Any) -> None:
    store = make_store(merge="error")
    app, gate, raised = make_app(store)
    gate.barrier = threading.Barrier(2)
    with serve(app) as base:
        started = call(base, "POST", "/set?base=1")
        cookies = {"session": started.cookies["session"]}
        answers = at_once(
            [
                lambda v=v: call(base, "POST", f"/change?key=shared&value={v}", cookies)
                for v in ("first", "second")
            ]
        )
        data = call(base, "GET", "/get", cookies).json["data"]
    assert sorted(a.status for a in answers) == [200, 500]
    (conflict,) = raised
    assert isinstance(conflict, ConflictError) and conflict.code == "CONFLICT"
    assert "`shared`" in str(conflict)
    assert started.cookies["session"].split(".")[0] not in str(conflict)
    # The request that saved first kept its value; the other wrote nothing.
    winner = "first" if answers[0].status == 200 else "second"
    assert data == {"base": "1", "shared": winner}


# Absolute timeout -----------------------------------------------------------------------------


def test_an_active_session_ends_at_the_absolute_timeout_and_a_regenerated_one_starts_fresh(
    make_store: Any,
) -> None:
    clock = ManualClock(math.floor(time.time()))
    store = make_store(clock=clock, absolute_timeout=dt.timedelta(hours=1), touch_after=0)
    app, _, _ = make_app(store)
    client = app.test_client()
    sid = client.post("/set?n=0").json["sid"]
    for n in range(1, 6):  # used, and changed, every ten minutes
        clock.advance(dt.timedelta(minutes=10))
        assert client.post(f"/set?n={n}").json["sid"] == sid
        assert client.get("/get").json["data"] == {"n": str(n)}
    clock.advance(dt.timedelta(minutes=10, seconds=1))  # an hour and a second after its creation
    answer = client.get("/get").json
    assert answer["new"] is True and answer["data"] == {}
    assert store.get(sid) is None

    # A session regenerated at login, 50 minutes into the next one, lives an hour from then.
    first = client.post("/set?n=0").json["sid"]
    clock.advance(dt.timedelta(minutes=50))
    regenerated = client.post("/login?user=alice").json["sid"]
    assert regenerated != first and store.get(first) is None
    clock.advance(dt.timedelta(minutes=50))
    assert client.get("/get").json["data"] == {"n": "0", "user_id": "alice"}
    record = store.get(regenerated)
    assert record is not None and record.created == clock.now() - dt.timedelta(minutes=50)
    clock.advance(dt.timedelta(minutes=10, seconds=1))
    assert client.get("/get").json["new"] is True


# A user's sessions --------------------------------------------------------------------------


@pytest.fixture
def users_table() -> Iterator[str]:
    """A table made by ``create_table`` with the user index of ``user_field="user_id"``."""
    table = create_table("flask-users", user_field="user_id")
    yield table
    delete_table(table)


def test_a_users_sessions_are_listed_and_ended_but_the_current_one(
    make_store: Any, users_table: str, proxy: Any
) -> None:
    clock = ManualClock(math.floor(time.time()))
    assert make_store(table=users_table, user_field="user_id").verify_table() == []
    store = make_store(
        table=users_table,
        endpoint=proxy.url,
        user_field="user_id",
        clock=clock,
        first_use="nothing",
    )
    app, _, _ = make_app(store)
    devices = [app.test_client() for _ in range(3)]
    sids = []
    for device in devices:
        sids.append(device.post("/login?user=alice").json["sid"])
        clock.advance(60)
    bob = app.test_client()
    bob_sid = bob.post("/login?user=bob").json["sid"]
    interface = app.session_interface
    assert isinstance(interface, DynamoDBSessionInterface)

    proxy.reset()
    listed = interface.user_sessions("alice")
    assert proxy.snapshot() == {"Query": 1}
    assert sorted(s.id for s in listed) == sorted(sids)
    lifetime = app.permanent_session_lifetime
    for s in listed:
        assert s.created == clock.now() - dt.timedelta(seconds=60 * (3 - sids.index(s.id)))
        # Flask computes the expiry on the real clock.
        left = s.expires - dt.datetime.now(dt.timezone.utc)
        assert abs((left - lifetime).total_seconds()) < 30
        assert s.id not in repr(s)

    # After a password change on the second device, the other two are signed out.
    assert devices[1].post("/password-changed").json == {"ended": 2}
    assert [s.id for s in interface.user_sessions("alice")] == [sids[1]]
    assert devices[0].get("/get").json["new"] is True
    assert devices[2].get("/get").json["new"] is True
    assert devices[1].get("/get").json["data"] == {"user_id": "alice"}
    assert bob.get("/get").json["data"] == {"user_id": "bob"}

    # Log out everywhere: the current session too.
    assert devices[1].post("/logout-everywhere").json == {"ended": 1}
    assert devices[1].get_cookie("session") is None
    assert interface.user_sessions("alice") == []
    assert [s.id for s in interface.user_sessions("bob")] == [bob_sid]
