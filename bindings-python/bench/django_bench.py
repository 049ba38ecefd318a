"""The Django side of the benchmark (bench.py): the views and URLs of the measured app, and the
session engine it compares with, a boto3 store written as Flask-Session 0.8.0's DynamoDB backend
is (``SESSION_ENGINE = "django_bench"``).

The boto3 engine keeps what Django's database backend keeps, the session as Django serializes it
for storage (``SessionBase.encode``: signed, compressed JSON), in one item per session with the
boto3 resource API as Flask-Session does: ``get_item`` to load, ``update_item`` (``SET val,
expiration``) to save, ``delete_item`` to delete; a new key is checked free with ``get_item``
(``SessionBase``'s default) and written on the condition that it still is. Imported once Django
is configured (``settings.BENCH_BOTO3``: ``endpoint``, ``region``, ``table``).
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import ClientError
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase
from django.http import HttpRequest, JsonResponse
from django.urls import path

from bench import session_data

# The views ---------------------------------------------------------------------------------


def login(request: HttpRequest) -> JsonResponse:
    request.session.update(session_data(int(request.GET["kb"])))
    return JsonResponse({"ok": True})


def read(request: HttpRequest) -> JsonResponse:
    session = request.session
    return JsonResponse({"user": session.get("user"), "items": len(session.get("cart", ()))})


def write(request: HttpRequest) -> JsonResponse:
    session = request.session
    session["n"] = session.get("n", 0) + 1
    return JsonResponse({"user": session.get("user"), "n": session["n"]})


urlpatterns = [path("login", login), path("read", read), path("write", write)]


# The boto3 engine --------------------------------------------------------------------------

_table: Any = None


def _get_table() -> Any:
    global _table
    if _table is None:
        conf = settings.BENCH_BOTO3
        resource = boto3.resource(
            "dynamodb", endpoint_url=conf["endpoint"], region_name=conf["region"]
        )
        _table = resource.Table(conf["table"])
    return _table


class SessionStore(SessionBase):
    """Django sessions in DynamoDB through boto3, one ``get_item`` per load."""

    def load(self) -> dict[str, Any]:
        key = self.session_key
        if key:
            item = _get_table().get_item(Key={"id": key}).get("Item")
            if item is not None and float(item["expiration"]) > time.time():
                return self.decode(item["val"])  # type: ignore[no-any-return]
        self._session_key = None
        return {}

    def exists(self, session_key: str | None) -> bool:
        if not session_key:
            return False
        return "Item" in _get_table().get_item(Key={"id": session_key})

    def create(self) -> None:
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        condition = {"ConditionExpression": "attribute_not_exists(id)"} if must_create else {}
        try:
            _get_table().update_item(
                Key={"id": self.session_key},
                UpdateExpression="SET val = :value, expiration = :exp",
                ExpressionAttributeValues={
                    ":value": self.encode(data),
                    ":exp": Decimal(int(self.get_expiry_date().timestamp())),
                },
                **condition,
            )
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise CreateError from err
            raise
        return None

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        if key:
            _get_table().delete_item(Key={"id": key})

    @classmethod
    def clear_expired(cls) -> None:
        pass
