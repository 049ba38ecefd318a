"""connect_dynamodb.contrib.django against DynamoDB Local: Django's own SessionTestsMixin, the
session middleware through Django's test client, and ``manage.py clearsessions``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import django_settings
import pytest
from contrib_support import cache_dir, create_table, delete_table, local_endpoint

if not django_settings.settings.configured:
    django_settings.configure(__name__)

from connect_dynamodb.contrib import django as engine
from connect_dynamodb.contrib.django import SessionStore
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.core import management
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, SimpleTestCase, override_settings
from django.urls import path
from django_mixin import load_session_tests_mixin

SessionTestsMixin, MIXIN_SOURCE = load_session_tests_mixin(cache_dir())


# Views for the middleware tests ------------------------------------------------------------


def set_view(request: HttpRequest) -> HttpResponse:
    for key, value in request.GET.items():
        request.session[key] = value
    return JsonResponse({"key": request.session.session_key})


def get_view(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"data": dict(request.session.items())})


def cycle_view(request: HttpRequest) -> HttpResponse:
    request.session.cycle_key()
    return JsonResponse({"key": request.session.session_key})


def flush_view(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return HttpResponse("flushed")


urlpatterns = [
    path("set", set_view),
    path("get", get_view),
    path("cycle", cycle_view),
    path("flush", flush_view),
]


@pytest.fixture(scope="module", autouse=True)
def django_table() -> Iterator[str]:
    """One table for this module's tests, named by CONNECT_DYNAMODB."""
    table = create_table("django")
    with override_settings(
        CONNECT_DYNAMODB={"table": table, "endpoint": local_endpoint()}, ROOT_URLCONF=__name__
    ):
        yield table
    engine.reset_stores()
    delete_table(table)


# Django's own backend tests ------------------------------------------------------------------


class ConnectDynamoDBSessionTests(SessionTestsMixin, SimpleTestCase):  # type: ignore[misc, valid-type]
    """Every test of Django's SessionTestsMixin, run on this engine."""

    backend = SessionStore


def test_every_test_of_the_mixin_is_collected() -> None:
    import ast

    tree = ast.parse(MIXIN_SOURCE.read_text(encoding="utf-8"))
    (mixin,) = [
        n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "SessionTestsMixin"
    ]
    in_source = {
        n.name
        for n in mixin.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test_")
    }
    assert len(in_source) >= 60  # Django 5.2.19 has 65
    assert in_source == {n for n in dir(ConnectDynamoDBSessionTests) if n.startswith("test_")}


# The engine's own behaviour -----------------------------------------------------------------


def test_the_session_is_stored_as_json_until_its_expiry_date() -> None:
    session = SessionStore()
    session["user"] = "alice"
    session.set_expiry(3600)
    session.save()
    record = engine.get_store().get(session.session_key)
    assert json.loads(record.data) == {"user": "alice", "_session_expiry": 3600}
    assert abs(record.expires.timestamp() - (time.time() + 3600)) < 30
    session.delete()


@pytest.mark.parametrize("use_tz", [True, False])
def test_expiry_dates_with_and_without_time_zone_support(use_tz: bool) -> None:
    from django.utils import timezone

    # A zone far from UTC, so that a naive local time read as UTC would be hours off.
    with override_settings(USE_TZ=use_tz, TIME_ZONE="America/Chicago"):
        session = SessionStore()
        session["n"] = 1
        moment = timezone.now() + timedelta(hours=5)  # naive local time without USE_TZ
        assert timezone.is_aware(moment) is use_tz
        session.set_expiry(moment)
        session.save()
        record = engine.get_store().get(session.session_key)
        assert abs(record.expires.timestamp() - (time.time() + 5 * 3600)) < 30
        loaded = SessionStore(session.session_key)
        assert loaded["n"] == 1
        assert abs(loaded.get_expiry_age() - 5 * 3600) < 30
        session.delete()


def test_must_create_refuses_a_taken_key() -> None:
    first = SessionStore()
    first["n"] = 1
    first.save()
    second = SessionStore(first.session_key)
    with pytest.raises(CreateError):
        second.save(must_create=True)
    assert SessionStore(first.session_key)["n"] == 1
    first.delete()


def test_an_unchanged_save_writes_nothing(
    dynamodb_endpoint: str, proxy: Any, django_table: str
) -> None:
    # Counts every request: no first-use table check.
    conf = {"table": django_table, "endpoint": proxy.url, "first_use": "nothing"}
    with override_settings(CONNECT_DYNAMODB=conf):
        session = SessionStore()
        session["user"] = "alice"
        session.save()
        loaded = SessionStore(session.session_key)
        assert loaded["user"] == "alice"
        proxy.reset()
        loaded.save()  # SESSION_SAVE_EVERY_REQUEST saves unchanged sessions
        assert proxy.writes() == 0
        loaded["user"] = "bob"
        loaded.save()
        assert proxy.snapshot() == {"PutItem": 1}
        loaded.delete()


def test_an_unchanged_save_of_a_deleted_session_is_an_update_error(django_table: str) -> None:
    with override_settings(
        CONNECT_DYNAMODB={"table": django_table, "endpoint": local_endpoint(), "touch_after": 0}
    ):
        session = SessionStore()
        session["user"] = "alice"
        session.save()
        loaded = SessionStore(session.session_key)
        assert loaded["user"] == "alice"
        SessionStore(session.session_key).delete()
        with pytest.raises(UpdateError):
            loaded.save()


def test_unknown_settings_are_refused(django_table: str) -> None:
    with override_settings(CONNECT_DYNAMODB={"table": django_table, "tabel": "x"}):
        with pytest.raises(ImproperlyConfigured, match="tabel"):
            SessionStore("x" * 32).load()
    with override_settings(CONNECT_DYNAMODB=["not", "a", "dict"]):
        with pytest.raises(ImproperlyConfigured):
            engine.get_store()


def test_the_middleware_reads_once_and_writes_only_changes(proxy: Any, django_table: str) -> None:
    # Counts every request: no first-use table check.
    conf = {"table": django_table, "endpoint": proxy.url, "first_use": "nothing"}
    with override_settings(CONNECT_DYNAMODB=conf):
        client = Client()
        client.get("/set?user=alice")
        assert len(client.cookies["sessionid"].value) == 32
        assert proxy.snapshot() == {"PutItem": 1}  # no exists() read for the new key
        proxy.reset()
        assert client.get("/get").json() == {"data": {"user": "alice"}}
        assert proxy.snapshot() == {"GetItem": 1}
        proxy.reset()
        with override_settings(SESSION_SAVE_EVERY_REQUEST=True):
            assert client.get("/get").json() == {"data": {"user": "alice"}}
        assert proxy.snapshot() == {"GetItem": 1}  # the expiry's move is throttled
        proxy.reset()
        client.get("/set?user=bob")
        assert proxy.snapshot() == {"GetItem": 1, "PutItem": 1}


def test_cycle_and_flush_through_the_middleware() -> None:
    client = Client()
    client.get("/set?user=alice")
    old = client.cookies["sessionid"].value
    new = client.get("/cycle").json()["key"]
    assert new != old and client.cookies["sessionid"].value == new
    assert not SessionStore().exists(old)
    assert client.get("/get").json() == {"data": {"user": "alice"}}
    client.get("/flush")
    assert client.cookies["sessionid"].value == ""
    assert not SessionStore().exists(new)


def test_a_logout_elsewhere_interrupts_a_concurrent_change() -> None:
    client = Client()
    client.get("/set?user=alice")
    key = client.cookies["sessionid"].value
    SessionStore(key).delete()  # a logout in another request
    # This request loaded nothing (the session is gone), so it starts a new session rather
    # than reviving the old key.
    client.get("/set?user=eve")
    assert client.cookies["sessionid"].value not in ("", key)
    assert not SessionStore().exists(key)

    # Loaded before the logout, saved after it: Django's SessionInterrupted (a 400).
    session = SessionStore()
    session["user"] = "alice"
    session.save()
    request_session = SessionStore(session.session_key)
    assert request_session["user"] == "alice"
    session.delete()
    request_session["user"] = "eve"
    with pytest.raises(UpdateError):
        request_session.save()


def _raw_item_count(table: str) -> int:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=local_endpoint(), region_name="us-east-1")
    return int(client.scan(TableName=table, Select="COUNT")["Count"])


def test_clearsessions_deletes_expired_sessions(django_table: str) -> None:
    engine.get_store().clear()
    live = SessionStore()
    live["state"] = "live"
    live.save()
    for _ in range(3):
        expired = SessionStore()
        expired["state"] = "expired"
        expired.set_expiry(-timedelta(seconds=10))
        expired.save()
    assert _raw_item_count(django_table) == 4
    management.call_command("clearsessions")
    assert _raw_item_count(django_table) == 1
    assert SessionStore(live.session_key)["state"] == "live"
    live.delete()


async def _aclear_and_count(table: str) -> int:
    expired = SessionStore()
    await expired.aset("state", "expired")
    await expired.aset_expiry(-timedelta(seconds=10))
    await expired.asave()
    await SessionStore.aclear_expired()
    return _raw_item_count(table)


def test_aclear_expired_deletes_expired_sessions(django_table: str) -> None:
    import asyncio

    engine.get_store().clear()
    assert asyncio.run(_aclear_and_count(django_table)) == 0


def test_the_store_is_one_per_process_and_thread_safe() -> None:
    from concurrent.futures import ThreadPoolExecutor

    engine.reset_stores()
    with ThreadPoolExecutor(8) as pool:
        stores = list(pool.map(lambda _: engine.get_store(), range(32)))
    assert len({id(s) for s in stores}) == 1
