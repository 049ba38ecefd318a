"""An HTTP proxy in front of DynamoDB (Local) that counts requests by DynamoDB operation.

Used by the contrib tests (in-process: :func:`start`) and by the benchmark (as a separate
process, so its CPU time is not the client's: ``python counting_proxy.py UPSTREAM [--capacity]``
prints ``listening <port>``; ``GET /__counts`` answers the counts as JSON, ``POST /__reset``
zeroes them).

With ``capacity`` (``--capacity``) the proxy also sums the capacity units DynamoDB consumed,
read and write apart (``GET /__capacity``: ``{"read": RCU, "write": WCU}``): it asks for them
(``ReturnConsumedCapacity`` TOTAL) in every request that does not ask already, and reads them
from the reply, which it passes on unchanged (clients ignore the extra member).
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Hop-by-hop headers, which a proxy does not forward.
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}
# The operations whose consumed capacity is read capacity; the others' is write capacity.
_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


class CountingProxy:
    """A running proxy: ``url`` to point a client at, ``counts`` by operation."""

    def __init__(self, upstream: str, capacity: bool = False) -> None:
        parts = urlsplit(upstream)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self.counts: Counter[str] = Counter()
        self.capacity_on = capacity
        self.capacity: dict[str, float] = {"read": 0.0, "write": 0.0}
        self._lock = threading.Lock()
        self._local = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/__counts":
                    body = json.dumps(proxy.snapshot()).encode()
                    self._answer(200, body)
                elif self.path == "/__capacity":
                    with proxy._lock:
                        body = json.dumps(proxy.capacity).encode()
                    self._answer(200, body)
                else:
                    self._forward()

            def do_POST(self) -> None:
                if self.path == "/__reset":
                    proxy.reset()
                    self._answer(204, b"")
                else:
                    self._forward()

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _forward(self) -> None:
                target = self.headers.get("X-Amz-Target", "")
                operation = target.rsplit(".", 1)[-1] or "(none)"
                with proxy._lock:
                    proxy.counts[operation] += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                if proxy.capacity_on:
                    body = _asking_capacity(body)
                    headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
                    headers["Content-Length"] = str(len(body))
                status, reply_headers, reply = proxy._send(self.command, self.path, body, headers)
                if proxy.capacity_on:
                    units = _consumed(reply)
                    with proxy._lock:
                        proxy.capacity["read" if operation in _READS else "write"] += units
                self.send_response(status)
                for name, value in reply_headers:
                    if name.lower() not in _HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _send(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        for attempt in range(2):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
                self._local.conn = conn
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, response.getheaders(), response.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def start(self) -> CountingProxy:
        self._thread.start()
        return self

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def writes(self) -> int:
        """PutItem, UpdateItem, DeleteItem and BatchWriteItem requests."""
        with self._lock:
            return sum(
                self.counts[op] for op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
            )

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.capacity = {"read": 0.0, "write": 0.0}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _asking_capacity(body: bytes) -> bytes:
    """A DynamoDB request body that asks for the consumed capacity (unchanged when it asks
    already, or is not a JSON object)."""
    try:
        request = json.loads(body)
    except ValueError:
        return body
    if not isinstance(request, dict) or "ReturnConsumedCapacity" in request:
        return body
    request["ReturnConsumedCapacity"] = "TOTAL"
    return json.dumps(request).encode()


def _consumed(reply: bytes) -> float:
    """The capacity units a DynamoDB reply says the request consumed (0 when it does not)."""
    try:
        answer = json.loads(reply)
    except ValueError:
        return 0.0
    consumed = answer.get("ConsumedCapacity") if isinstance(answer, dict) else None
    if isinstance(consumed, dict):
        consumed = [consumed]
    if not isinstance(consumed, list):
        return 0.0
    return float(sum(c.get("CapacityUnits") or 0 for c in consumed if isinstance(c, dict)))


def start(upstream: str, capacity: bool = False) -> CountingProxy:
    """Starts a proxy to ``upstream`` on a free loopback port, in this process."""
    return CountingProxy(upstream, capacity).start()


if __name__ == "__main__":
    proxy = CountingProxy(sys.argv[1], capacity="--capacity" in sys.argv[2:])
    print(f"listening {proxy.port}", flush=True)
    proxy._server.serve_forever()
