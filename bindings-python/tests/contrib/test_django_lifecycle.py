"""Issue 11 through a real Django app (connect_dynamodb.contrib.django) on DynamoDB Local: a logout
that a slower request cannot undo (tombstones), concurrent changes merged (``merge``), the
absolute timeout, and a user's sessions listed and ended through real logins
(``"user_field": True``, ``django.contrib.auth``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import django_settings
import pytest
from contrib_support import at_once, call, create_table, delete_table, local_endpoint, serve

if not django_settings.settings.configured:
    django_settings.configure(__name__)

from connect_dynamodb import ConflictError
from connect_dynamodb.contrib import django as engine
from connect_dynamodb.contrib.django import (
    SessionStore,
    aend_user_sessions,
    auser_sessions,
    end_user_sessions,
    user_sessions,
)
from connect_dynamodb.testing import ManualClock
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.models import User
from django.contrib.sessions.backends.base import UpdateError
from django.core import management
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, override_settings
from django.urls import path

PASSWORD = "correct horse"
# The merge tests send ROUNDS rounds of WIDTH requests of one session at once. Each request's
# save finds the load it started from among the loads of the session the store remembers (the
# core's LOADS_PER_SESSION, 16); a round of WIDTH makes at most WIDTH + 1 of them.
ROUNDS = 5
WIDTH = 8


class Gate:
    """Holds every request of a round inside its view, after it loaded the session, until all
    of them have: then they all change and save it at once."""

    barrier: threading.Barrier | None = None


GATE = Gate()


def set_view(request: HttpRequest) -> HttpResponse:
    for key, value in request.GET.items():
        request.session[key] = value
    return JsonResponse({"key": request.session.session_key})


def get_view(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"data": dict(request.session.items()), "key": request.session.session_key})


def change_view(request: HttpRequest) -> HttpResponse:
    assert request.session.get("base") == "1"  # loads the session
    assert GATE.barrier is not None
    GATE.barrier.wait(timeout=30)
    request.session[request.GET["key"]] = request.GET["value"]
    return JsonResponse({"ok": True})


def pop_view(request: HttpRequest) -> HttpResponse:
    request.session.pop(request.GET["key"])
    return JsonResponse({"ok": True})


def save_twice_view(request: HttpRequest) -> HttpResponse:
    """Adds ``flash`` and saves, then takes it out again: the middleware saves once more."""
    request.session["flash"] = "hi"
    request.session.save()
    del request.session["flash"]
    return JsonResponse({"ok": True})


def cycle_and_change_view(request: HttpRequest) -> HttpResponse:
    """A new key (saved at once by ``cycle_key``), then a change saved by the middleware."""
    request.session.cycle_key()
    request.session.pop(request.GET["key"])
    return JsonResponse({"key": request.session.session_key})


def cycle_view(request: HttpRequest) -> HttpResponse:
    request.session.cycle_key()
    return JsonResponse({"key": request.session.session_key})


def login_view(request: HttpRequest) -> HttpResponse:
    user = authenticate(request, username=request.GET["user"], password=PASSWORD)
    assert user is not None
    login(request, user)
    return JsonResponse({"key": request.session.session_key})


def whoami_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    return JsonResponse({"user": user.get_username() if user.is_authenticated else None})


def password_view(request: HttpRequest) -> HttpResponse:
    """A password change that signs the user out on every other device."""
    user = request.user
    assert isinstance(user, User)
    user.set_password(PASSWORD)
    user.save()
    update_session_auth_hash(request, user)  # keeps this session (under a new key)
    ended = end_user_sessions(user, keep=request)
    return JsonResponse({"ended": ended, "key": request.session.session_key})


def logout_everywhere_view(request: HttpRequest) -> HttpResponse:
    ended = end_user_sessions(request.user)
    logout(request)
    return JsonResponse({"ended": ended})


urlpatterns = [
    path("set", set_view),
    path("get", get_view),
    path("change", change_view),
    path("cycle", cycle_view),
    path("pop", pop_view),
    path("save-twice", save_twice_view),
    path("cycle-and-change", cycle_and_change_view),
    path("login", login_view),
    path("whoami", whoami_view),
    path("password", password_view),
    path("logout-everywhere", logout_everywhere_view),
    path("late", lambda request: late_view(request)),
]


@pytest.fixture(scope="module", autouse=True)
def django_app() -> Iterator[str]:
    """This module's URLs and middleware, the auth tables with two users, and one table with the
    user index, named by CONNECT_DYNAMODB."""
    table = create_table("django-lifecycle", user_field="_auth_user_id")  # with the user index
    management.call_command("migrate", verbosity=0, interactive=False)
    for name in ("alice", "bob"):
        User.objects.filter(username=name).delete()
        User.objects.create_user(name, password=PASSWORD)
    with override_settings(
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        CONNECT_DYNAMODB={"table": table, "endpoint": local_endpoint()},
    ):
        yield table
    engine.reset_stores()
    delete_table(table)


def start(client: Client, query: str) -> str:
    """Starts a session through ``/set?<query>``; its key, from the cookie."""
    assert client.get(f"/set?{query}").status_code == 200
    return str(client.cookies["sessionid"].value)


def settings_with(table: str, **options: Any) -> Any:
    return override_settings(
        CONNECT_DYNAMODB={"table": table, "endpoint": local_endpoint(), **options}
    )


# Tombstones ---------------------------------------------------------------------------------


def test_a_save_after_a_logout_elsewhere_is_an_update_error_and_writes_nothing(
    django_app: str, proxy: Any
) -> None:
    with settings_with(django_app, endpoint=proxy.url, first_use="nothing", touch_after=0):
        session = SessionStore()
        session["user"] = "alice"
        session.save()
        key = session.session_key
        slow, unchanged = SessionStore(key), SessionStore(key)
        assert slow["user"] == unchanged["user"] == "alice"  # slower requests load it...
        proxy.reset()
        SessionStore(key).delete()  # ...another request logs out...
        assert proxy.snapshot() == {"PutItem": 1}  # destroy: one write, the tombstone
        proxy.reset()
        slow["user"] = "eve"  # ...and a slower one saves a change late
        with pytest.raises(UpdateError):
            slow.save()
        assert proxy.snapshot() == {"PutItem": 1}  # one conditional write, refused
        # An unchanged late save (SESSION_SAVE_EVERY_REQUEST) cannot move the expiry either.
        with pytest.raises(UpdateError):
            unchanged.save()
        assert SessionStore(key).load() == {}
        assert not SessionStore().exists(key)


def late_view(request: HttpRequest) -> HttpResponse:
    """Loads the session, which another request then logs out, and changes it."""
    assert request.session["user"] == "alice"
    SessionStore(request.session.session_key).delete()
    request.session["user"] = "eve"
    return HttpResponse("changed")


def test_through_the_middleware_a_late_save_is_a_400_and_the_key_stays_ended(
    django_app: str,
) -> None:
    client = Client()
    key = start(client, "user=alice")
    assert client.get("/late").status_code == 400  # Django's SessionInterrupted
    assert engine.get_store().get(key) is None
    # The cookie's key stays ended: the next change starts a session with a new key.
    new_key = start(client, "user=mallory")
    assert new_key != key
    assert engine.get_store().get(key) is None


def test_cycle_key_ends_the_old_key_in_one_write_and_the_new_key_is_unaffected(
    django_app: str, proxy: Any
) -> None:
    with settings_with(django_app, endpoint=proxy.url, first_use="nothing"):
        client = Client()
        old = start(client, "cart=3")
        proxy.reset()
        new = client.get("/cycle").json()["key"]
        # The load, the new key's conditional write, the old key's tombstone.
        assert proxy.snapshot() == {"GetItem": 1, "PutItem": 2}
        assert new != old
        assert client.get("/get").json() == {"data": {"cart": "3"}, "key": new}
        stale = SessionStore(old)
        assert stale.load() == {}
        assert SessionStore(new)["cart"] == "3"


def test_with_tombstone_lifetime_zero_a_logout_deletes(django_app: str, proxy: Any) -> None:
    with settings_with(django_app, endpoint=proxy.url, first_use="nothing", tombstone_lifetime=0):
        session = SessionStore()
        session["user"] = "alice"
        session.save()
        slow = SessionStore(session.session_key)
        assert slow["user"] == "alice"
        proxy.reset()
        session.delete()
        assert proxy.snapshot() == {"DeleteItem": 1}
        # Django's update-only save still refuses a session that is gone.
        slow["user"] = "eve"
        with pytest.raises(UpdateError):
            slow.save()
        assert not SessionStore().exists(session.session_key)


# Merge --------------------------------------------------------------------------------------


def lost_updates(table: str, **options: Any) -> tuple[int, dict[str, Any]]:
    """Serves Django over HTTP and starts a session, then sends ROUNDS rounds of WIDTH requests
    with its cookie at once, each setting a key of its own after all of its round loaded the
    session; how many of those keys the session lacks afterwards, and the session."""
    keys = [f"r{r}k{i}" for r in range(ROUNDS) for i in range(WIDTH)]
    with settings_with(table, **options), serve(WSGIHandler()) as base:
        started = call(base, "GET", "/set?base=1")
        cookies = {"sessionid": started.cookies["sessionid"]}
        for r in range(ROUNDS):
            GATE.barrier = threading.Barrier(WIDTH)
            answers = at_once(
                [
                    lambda k=k: call(base, "GET", f"/change?key={k}&value=v-{k}", cookies)
                    for k in keys[r * WIDTH : (r + 1) * WIDTH]
                ]
            )
            assert [a.status for a in answers] == [200] * WIDTH
        data = call(base, "GET", "/get", cookies).json["data"]
    assert data["base"] == "1"
    return sum(k not in data for k in keys), data


def test_concurrent_changes_of_different_keys_are_lost_without_merge(django_app: str) -> None:
    lost, data = lost_updates(django_app)
    # In each round every request saved the session it loaded plus its own key: the last
    # save of the round wins.
    assert lost == ROUNDS * (WIDTH - 1)
    assert len(data) == 1 + ROUNDS


@pytest.mark.parametrize("policy", ["mine", "error"])
def test_concurrent_changes_of_different_keys_all_survive_with_merge(
    django_app: str, policy: str
) -> None:
    lost, data = lost_updates(django_app, merge=policy)
    assert lost == 0
    expected = {f"r{r}k{i}": f"v-r{r}k{i}" for r in range(ROUNDS) for i in range(WIDTH)}
    assert data == {"base": "1", **expected}


def test_a_key_two_requests_change_is_a_conflict_error_under_merge_error(django_app: str) -> None:
    raised: list[BaseException] = []

    def record(sender: Any, **kwargs: Any) -> None:
        exception = sys.exc_info()[1]
        assert exception is not None
        raised.append(exception)

    got_request_exception.connect(record)
    try:
        with settings_with(django_app, merge="error"), serve(WSGIHandler()) as base:
            started = call(base, "GET", "/set?base=1")
            cookies = {"sessionid": started.cookies["sessionid"]}
            GATE.barrier = threading.Barrier(2)
            answers = at_once(
                [
                    lambda v=v: call(base, "GET", f"/change?key=shared&value={v}", cookies)
                    for v in ("first", "second")
                ]
            )
            data = call(base, "GET", "/get", cookies).json["data"]
    finally:
        got_request_exception.disconnect(record)
    assert sorted(a.status for a in answers) == [200, 500]
    (conflict,) = raised
    assert isinstance(conflict, ConflictError) and conflict.code == "CONFLICT"
    assert "`shared`" in str(conflict)
    assert cookies["sessionid"] not in str(conflict)
    winner = "first" if answers[0].status == 200 else "second"
    assert data == {"base": "1", "shared": winner}


def stored(key: str) -> dict[str, Any]:
    record = engine.get_store().get(key)
    assert record is not None
    return dict(json.loads(record.data))


@pytest.mark.parametrize("policy", ["mine", "error"])
def test_a_key_a_later_request_deletes_stays_deleted(django_app: str, policy: str) -> None:
    """One request adds ``cart``, the next (after it finished) takes it out again; then a
    logout by deleting the user's key. Neither comes back."""
    with settings_with(django_app, merge=policy):
        client = Client()
        key = start(client, "user=alice&theme=dark")
        client.get("/set?cart=1")
        assert stored(key)["cart"] == "1"
        assert client.get("/pop?key=cart").status_code == 200
        assert client.get("/get").json()["data"] == {"user": "alice", "theme": "dark"}
        assert client.get("/pop?key=user").status_code == 200
        assert client.get("/get").json()["data"] == {"theme": "dark"}
        assert client.cookies["sessionid"].value == key
        assert stored(key) == {"theme": "dark"}


@pytest.mark.parametrize("policy", ["mine", "error"])
def test_a_second_save_in_one_request_does_not_merge_against_the_first(
    django_app: str, policy: str
) -> None:
    with settings_with(django_app, merge=policy):
        client = Client()
        key = start(client, "base=1")
        assert client.get("/save-twice").status_code == 200
        assert client.get("/get").json()["data"] == {"base": "1"}
        assert stored(key) == {"base": "1"}
        # cycle_key writes the new key at once (as a session not loaded), the middleware's
        # save then starts from that write.
        client.get("/set?flash=hi")
        answer = client.get("/cycle-and-change?key=flash")
        new_key = answer.json()["key"]
        assert new_key != key and client.cookies["sessionid"].value == new_key
        assert stored(new_key) == {"base": "1"}
        assert client.get("/get").json()["data"] == {"base": "1"}


# Absolute timeout ---------------------------------------------------------------------------


def test_an_active_session_ends_at_the_absolute_timeout_and_a_cycled_key_starts_fresh(
    django_app: str,
) -> None:
    clock = ManualClock(math.floor(time.time()))
    with settings_with(django_app, clock=clock, absolute_timeout=3600, touch_after=0):
        client = Client()
        key = start(client, "n=0")
        for n in range(1, 6):  # used, and changed, every ten minutes
            clock.advance(dt.timedelta(minutes=10))
            assert client.get(f"/set?n={n}").json()["key"] == key
        with override_settings(SESSION_SAVE_EVERY_REQUEST=True):
            clock.advance(dt.timedelta(minutes=9))
            assert client.get("/get").json() == {"data": {"n": "5"}, "key": key}
        clock.advance(dt.timedelta(minutes=1, seconds=1))  # an hour and a second old
        assert client.get("/get").json() == {"data": {}, "key": None}
        assert engine.get_store().get(key) is None

        # A key cycled 50 minutes into a session (a login) lives an hour from then.
        first = start(client, "n=0")
        assert first != key
        clock.advance(dt.timedelta(minutes=50))
        cycled = client.get("/cycle").json()["key"]
        assert cycled != first and SessionStore(first).load() == {}
        clock.advance(dt.timedelta(minutes=50))
        assert client.get("/get").json() == {"data": {"n": "0"}, "key": cycled}
        record = engine.get_store().get(cycled)
        assert record is not None and record.created == clock.now() - dt.timedelta(minutes=50)
        clock.advance(dt.timedelta(minutes=10, seconds=1))
        assert client.get("/get").json() == {"data": {}, "key": None}


# A user's sessions --------------------------------------------------------------------------


def test_user_field_true_is_the_auth_user_id(django_app: str) -> None:
    with settings_with(django_app, user_field=True):
        assert engine.get_store().user_field == "_auth_user_id"
    with settings_with(django_app, user_field=False):
        assert engine.get_store().user_field is None
    with settings_with(django_app, user_field="account.id"):
        assert engine.get_store().user_field == "account.id"


def test_a_users_sessions_through_real_logins(django_app: str, proxy: Any) -> None:
    clock = ManualClock(math.floor(time.time()))
    with settings_with(django_app, user_field=True, clock=clock):
        alice = User.objects.get(username="alice")
        devices = [Client() for _ in range(3)]
        keys = []
        for device in devices:
            keys.append(device.get("/login?user=alice").json()["key"])
            clock.advance(60)
        bob = Client()
        bob_key = bob.get("/login?user=bob").json()["key"]
        anonymous = Client()
        start(anonymous, "cart=1")

        listed = user_sessions(alice)
        assert sorted(s.id for s in listed) == sorted(keys)
        assert sorted(s.id for s in user_sessions(str(alice.pk))) == sorted(keys)
        for s in listed:
            assert s.created == clock.now() - dt.timedelta(seconds=60 * (3 - keys.index(s.id)))
            left = (s.expires - dt.datetime.now(dt.timezone.utc)).total_seconds()
            assert abs(left - 14 * 86400) < 60  # SESSION_COOKIE_AGE, on Django's clock
            assert s.id not in repr(s)
        assert [s.id for s in user_sessions(User.objects.get(username="bob"))] == [bob_key]

        # A password change on the second device signs the user out everywhere else.
        changed = devices[1].get("/password").json()
        assert changed["ended"] == 2
        current = changed["key"]
        assert [s.id for s in user_sessions(alice)] == [current]
        assert engine.get_store().get(keys[0]) is None
        assert engine.get_store().get(keys[2]) is None
        assert devices[0].get("/whoami").json() == {"user": None}
        assert devices[2].get("/whoami").json() == {"user": None}
        assert devices[1].get("/whoami").json() == {"user": "alice"}
        assert bob.get("/whoami").json() == {"user": "bob"}

        # Log out everywhere, the current device included.
        again = Client()
        again.get("/login?user=alice")
        assert devices[1].get("/logout-everywhere").json() == {"ended": 2}
        assert user_sessions(alice) == []
        assert again.get("/whoami").json() == {"user": None}
        assert devices[1].get("/whoami").json() == {"user": None}
        assert bob.get("/whoami").json() == {"user": "bob"}

    # The cost: one Query to list, one Query and one BatchWriteItem to end.
    with settings_with(django_app, user_field=True, endpoint=proxy.url, first_use="nothing"):
        bob_user = User.objects.get(username="bob")
        proxy.reset()
        assert [s.id for s in user_sessions(bob_user)] == [bob_key]
        assert proxy.snapshot() == {"Query": 1}
        proxy.reset()
        assert end_user_sessions(bob_user) == 1
        assert proxy.snapshot() == {"Query": 1, "BatchWriteItem": 1}


def test_the_async_helpers(django_app: str) -> None:
    with settings_with(django_app, user_field=True):
        client = Client()
        key = client.get("/login?user=bob").json()["key"]
        other = Client()
        other_key = other.get("/login?user=bob").json()["key"]
        bob = User.objects.get(username="bob")

        async def run() -> tuple[list[str], int, list[str]]:
            before = sorted(s.id for s in await auser_sessions(bob))
            ended = await aend_user_sessions(bob, keep=other_key)
            after = [s.id for s in await auser_sessions(bob)]
            return before, ended, after

        before, ended, after = asyncio.run(run())
        assert before == sorted([key, other_key])
        assert (ended, after) == (1, [other_key])


def test_the_helpers_need_a_user_and_the_option(django_app: str) -> None:
    from connect_dynamodb import ConfigError
    from django.contrib.auth.models import AnonymousUser

    with settings_with(django_app, user_field=True):
        with pytest.raises(ValueError, match="anonymous"):
            user_sessions(AnonymousUser())
        with pytest.raises(TypeError):
            end_user_sessions("42", keep=42)
    with settings_with(django_app):
        with pytest.raises(ConfigError, match="`user_field`"):
            user_sessions("42")
