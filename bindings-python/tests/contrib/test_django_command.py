"""``python manage.py createsessiontable`` (``connect_dynamodb.contrib.django_app``) on DynamoDB
Local: found through ``INSTALLED_APPS``, creates the engine's table from
``settings.CONNECT_DYNAMODB`` (TTL, the user index with ``"user_field": True``), leaves an existing
one alone, ``--dry-run`` creates nothing, failures are ``CommandError``s with the store's code,
and ``migrate`` does not create the table."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import django_settings
import pytest
from contrib_support import local_endpoint

if not django_settings.settings.configured:
    django_settings.configure(__name__)

from django.core import management
from django.core.management.base import CommandError
from django.test import override_settings

urlpatterns: list[Any] = []


@pytest.fixture
def table(dynamodb: Any) -> Iterator[str]:
    name = f"django-cmd-{uuid.uuid4().hex[:12]}"
    yield name
    try:
        dynamodb.delete_table(TableName=name)
    except dynamodb.exceptions.ResourceNotFoundException:
        pass


def call(*args: str, **settings: Any) -> str:
    out = io.StringIO()
    with override_settings(CONNECT_DYNAMODB=settings):
        management.call_command("createsessiontable", *args, stdout=out)
    return out.getvalue()


def test_the_command_is_found_through_installed_apps() -> None:
    assert management.get_commands()["createsessiontable"] == "connect_dynamodb.contrib.django_app"


def test_creates_the_table_with_ttl_and_the_user_index(dynamodb: Any, table: str) -> None:
    endpoint = local_endpoint()
    out = call("--verbosity", "2", table=table, endpoint=endpoint, user_field=True)
    assert out == f"Session table '{table}' created.\n"
    described = dynamodb.describe_table(TableName=table)["Table"]
    assert described["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    [index] = described["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "user-index"
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires"
    assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
    # Again: nothing to do, and quiet at the default verbosity, as createcachetable is.
    assert call("--verbosity", "2", table=table, endpoint=endpoint, user_field=True) == (
        f"Session table '{table}' already exists.\n"
    )
    assert call(table=table, endpoint=endpoint, user_field=True) == ""
    assert call("--dry-run", table=table, endpoint=endpoint) == f"Session table '{table}' exists.\n"


def test_dry_run_creates_nothing(dynamodb: Any, table: str) -> None:
    out = call("--dry-run", table=table, endpoint=local_endpoint())
    assert out == f"Session table '{table}' does not exist: it would be created.\n"
    assert table not in dynamodb.list_tables()["TableNames"]


def test_a_table_unfit_for_sessions_is_an_error(dynamodb: Any, table: str) -> None:
    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(CommandError, match="is not fit for sessions: the key schema is"):
        call(table=table, endpoint=local_endpoint())


def test_store_failures_are_command_errors_with_the_code(closed_endpoint: str) -> None:
    with pytest.raises(CommandError, match=r"^TRANSPORT: "):
        call(table="sessions", endpoint=closed_endpoint, max_attempts=1)


def test_migrate_does_not_create_the_table(dynamodb: Any, table: str) -> None:
    with override_settings(CONNECT_DYNAMODB={"table": table, "endpoint": local_endpoint()}):
        management.call_command("migrate", verbosity=0, interactive=False)
    assert table not in dynamodb.list_tables()["TableNames"]
