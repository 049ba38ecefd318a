"""A Flask app that keeps its sessions in DynamoDB (connect_dynamodb.contrib.flask).

Run it under gunicorn, the store created once in the master and shared by the forked workers::

    SECRET_KEY=... DYNAMODB_ENDPOINT=http://127.0.0.1:8000 CONNECT_DYNAMODB_CREATE_TABLE=1 \\
        gunicorn --preload -w 2 -b 127.0.0.1:5000 --chdir bindings-python/examples flask_app:app

Environment: ``CONNECT_DYNAMODB_TABLE`` (default ``sessions``), ``DYNAMODB_ENDPOINT`` (DynamoDB
Local; unset for AWS), ``AWS_REGION`` and the usual AWS credentials, ``SECRET_KEY`` (required),
``CONNECT_DYNAMODB_CREATE_TABLE=1`` to create the table at start when it is missing.

Routes: ``POST /login?user=NAME``, ``GET /whoami``, ``POST /visit``, ``POST /logout``,
``GET /pid`` (the serving process, to see which worker answered).
"""

from __future__ import annotations

import os
from typing import Any

from connect_dynamodb import SessionStore
from connect_dynamodb.contrib.flask import DynamoDBSessionInterface
from flask import Flask, jsonify, request, session


def create_app(store: SessionStore, secret_key: str, **interface_options: Any) -> Flask:
    """The example app on ``store``."""
    app = Flask(__name__)
    app.secret_key = secret_key
    interface = DynamoDBSessionInterface(store, **interface_options)
    app.session_interface = interface

    @app.post("/login")
    def login() -> Any:
        interface.regenerate(session)  # a new session id at login
        session["user"] = request.args.get("user", "anonymous")
        session["visits"] = 0
        return jsonify(user=session["user"], pid=os.getpid())

    @app.get("/whoami")
    def whoami() -> Any:
        return jsonify(user=session.get("user"), visits=session.get("visits"), pid=os.getpid())

    @app.post("/visit")
    def visit() -> Any:
        session["visits"] = session.get("visits", 0) + 1
        return jsonify(visits=session["visits"], pid=os.getpid())

    @app.post("/logout")
    def logout() -> Any:
        session.clear()
        return jsonify(ok=True, pid=os.getpid())

    @app.get("/pid")
    def pid() -> Any:
        return jsonify(pid=os.getpid())

    return app


def _store_from_environment() -> SessionStore:
    store = SessionStore(
        os.environ.get("CONNECT_DYNAMODB_TABLE", "sessions"),
        endpoint=os.environ.get("DYNAMODB_ENDPOINT") or None,
    )
    if os.environ.get("CONNECT_DYNAMODB_CREATE_TABLE") == "1":
        # Talks to DynamoDB at import: under `gunicorn --preload`, in the master, before the
        # workers are forked. The store keeps working in every worker.
        store.create_table()
    return store


def _secret_key() -> str:
    # No built-in fallback: a secret known to everyone lets anyone sign session cookies.
    key = os.environ.get("SECRET_KEY")
    if not key:
        raise RuntimeError("set SECRET_KEY (a long random string, the same in every process)")
    return key


store = _store_from_environment()
app = create_app(store, _secret_key())
