"""Helpers of the framework-integration tests: DynamoDB Local tables, ports, child processes."""

from __future__ import annotations

import itertools
import os
import selectors
import socket
import subprocess
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


def wait_for_line(process: subprocess.Popen[str], prefix: str, deadline_s: float) -> str:
    """The first line of ``process``'s stdout that starts with ``prefix``; fails at the deadline."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + deadline_s
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {prefix!r} line in time; output: {seen}")
        if selector.select(timeout=left):
            line = process.stdout.readline()
            if not line:
                raise AssertionError(f"process ended (code {process.wait()}); output: {seen}")
            seen.append(line.rstrip())
            if line.startswith(prefix):
                return line.strip()


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
