"""Helpers of the framework-integration tests: DynamoDB Local tables, ports, child processes."""

from __future__ import annotations

import itertools
import os
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

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


def create_table(prefix: str = "contrib") -> str:
    """Creates a fresh table (with TTL) on DynamoDB Local and returns its name."""
    name = f"{prefix}-{os.getpid()}-{next(_tables)}-{time.time_ns() % 10**9}"
    with SessionStore(name, endpoint=local_endpoint()) as store:
        assert store.create_table() is True
    return name


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
