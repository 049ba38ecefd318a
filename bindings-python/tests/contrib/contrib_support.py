"""Helpers of the framework-integration tests: DynamoDB Local tables, ports, child processes."""

from __future__ import annotations

import itertools
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from connect_dynamodb import SessionStore

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]

_tables = itertools.count()


def local_endpoint() -> str:
    endpoint = os.environ.get("DYNAMODB_ENDPOINT")
    if not endpoint:
        raise RuntimeError(
            "DYNAMODB_ENDPOINT is not set: run the tests with `make test-python`, which starts "
            "DynamoDB Local"
        )
    return endpoint


def cache_dir() -> Path:
    return Path(os.environ.get("CONNECT_DYNAMODB_CACHE") or ROOT / ".cache")


def create_table(prefix: str = "contrib", **options: Any) -> str:
    """Creates a fresh table (with TTL, and with the options' indexes) on DynamoDB Local and
    returns its name; :func:`delete_table` deletes it."""
    name = f"{prefix}-{os.getpid()}-{next(_tables)}-{time.time_ns() % 10**9}"
    with SessionStore(name, endpoint=local_endpoint(), **options) as store:
        assert store.create_table() is True
    return name


def delete_table(name: str) -> None:
    """Deletes a table :func:`create_table` made."""
    import boto3

    client = boto3.client("dynamodb", endpoint_url=local_endpoint(), region_name="us-east-1")
    client.delete_table(TableName=name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_line(process: subprocess.Popen[Any], prefix: str, deadline_s: float) -> str:
    """The first line of ``process``'s stdout that starts with ``prefix``; fails at the deadline.

    Reads the pipe's file descriptor directly (a buffered reader may hold a line the selector
    does not see), then keeps draining it in a thread so the child never blocks on a full pipe.
    """
    assert process.stdout is not None
    fd = process.stdout.fileno()
    deadline = time.monotonic() + deadline_s
    buffer = b""
    seen: list[str] = []
    while True:
        while b"\n" in buffer:
            raw, buffer = buffer.split(b"\n", 1)
            line = raw.decode("utf-8", "replace").rstrip()
            seen.append(line)
            if line.startswith(prefix):
                threading.Thread(target=_drain, args=(fd,), daemon=True).start()
                return line.strip()
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {prefix!r} line in time; output: {seen}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise AssertionError(f"process ended (code {process.wait()}); output: {seen}")
            buffer += chunk


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 65536):
            pass
    except OSError:
        pass


def stop(process: subprocess.Popen[Any]) -> None:
    """Ends ``process`` (SIGTERM, then SIGKILL after 10 s). A process started with
    ``start_new_session=True`` is killed with its whole group, so no child outlives it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                if os.getpgid(process.pid) == process.pid:
                    os.killpg(process.pid, signal.SIGKILL)
                else:
                    process.kill()
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serves the WSGI ``app`` (a Flask app, Django's ``WSGIHandler``) over HTTP with werkzeug's
    threaded server, a thread per request, on a free loopback port; yields its base URL."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log(self, type: str, message: str, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Answer:
    """An HTTP answer: status, JSON body (None when not JSON), and the cookies it set."""

    def __init__(self, status: int, body: bytes, set_cookies: list[str]) -> None:
        self.status = status
        try:
            self.json: Any = json.loads(body)
        except ValueError:
            self.json = None
        self.cookies = dict(c.split(";", 1)[0].split("=", 1) for c in set_cookies)


def call(base: str, method: str, path: str, cookies: dict[str, str] | None = None) -> Answer:
    """One request to a served app, with ``cookies``; 4xx and 5xx answers are returned too."""
    request = urllib.request.Request(
        base + path, method=method, data=b"" if method == "POST" else None
    )
    if cookies:
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(
                response.status, response.read(), response.headers.get_all("Set-Cookie") or []
            )
    except urllib.error.HTTPError as err:
        return Answer(err.code, err.read(), err.headers.get_all("Set-Cookie") or [])


T = TypeVar("T")


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Runs every call in a thread of its own, all at the same time; their results in order."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(c) for c in calls]
        return [f.result(timeout=60) for f in futures]
