"""A real ``gunicorn --preload`` run of the Flask example: the store is created (and has talked to
DynamoDB) in the master before the fork, and both workers serve sessions with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from connect_dynamodb import SessionStore
from contrib_support import HERE, free_port, local_endpoint, stop

TIMEOUT_S = 20  # per request: a hung worker fails the test instead of hanging it


def call(base: str, method: str, path: str, cookie: str | None = None) -> tuple[Any, str | None]:
    req = urllib.request.Request(base + path, method=method, data=b"" if method == "POST" else None)
    if cookie:
        req.add_header("Cookie", cookie)
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as response:
        set_cookie = response.headers.get("Set-Cookie")
        return json.loads(response.read()), set_cookie.split(";", 1)[0] if set_cookie else None


def wait_until_serving(base: str, process: subprocess.Popen[bytes], deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        assert process.poll() is None, "gunicorn exited"
        try:
            call(base, "GET", "/pid")
            return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise AssertionError("gunicorn did not serve in time") from None
            time.sleep(0.05)


def test_two_preloaded_workers_serve_sessions(tmp_path: Path) -> None:
    table = f"gunicorn-{os.getpid()}-{time.time_ns() % 10**9}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        CONNECT_DYNAMODB_TABLE=table,
        CONNECT_DYNAMODB_CREATE_TABLE="1",
        DYNAMODB_ENDPOINT=local_endpoint(),
        SECRET_KEY="gunicorn test secret",
    )
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--preload",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "30",
            "--chdir",
            str(HERE),
            "gunicorn_app:app",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # stop() can then end the workers with the master
    )
    try:
        wait_until_serving(base, process, 60)
        # The master created the table before forking.
        with SessionStore(table, endpoint=local_endpoint()) as store:
            assert store.table_exists()

        # Worker A: held inside a request that read the session.
        login, cookie = call(base, "POST", "/login?user=alice")
        assert cookie is not None and login["user"] == "alice"
        held: dict[str, Any] = {}

        def hold() -> None:
            held["answer"], _ = call(base, "GET", f"/hold?dir={tmp_path}", cookie)

        holder = threading.Thread(target=hold)
        holder.start()
        deadline = time.monotonic() + TIMEOUT_S
        while not (tmp_path / "held").exists():
            assert time.monotonic() < deadline, "the hold request never started"
            time.sleep(0.01)
        held_pid = int((tmp_path / "held").read_text())

        # Worker B answers while A is busy: a session read and a write through the other pid.
        visit, _ = call(base, "POST", "/visit", cookie)
        assert visit["visits"] == 1
        assert visit["pid"] != held_pid
        whoami, _ = call(base, "GET", "/whoami", cookie)
        assert whoami["user"] == "alice"

        (tmp_path / "release").write_text("go")
        holder.join(TIMEOUT_S)
        assert not holder.is_alive()
        assert held["answer"]["pid"] == held_pid
        assert held["answer"]["user"] == "alice"
        assert whoami["pid"] == visit["pid"]

        # Later requests, wherever they land, see one session.
        for expected in (2, 3, 4):
            assert call(base, "POST", "/visit", cookie)[0]["visits"] == expected
    finally:
        (tmp_path / "release").write_text("go")  # a held worker ends its request at once
        stop(process)
        log.close()
    assert process.returncode == 0, (tmp_path / "gunicorn.log").read_text()
