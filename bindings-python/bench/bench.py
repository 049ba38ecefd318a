"""The Python benchmark: connect_dynamodb.contrib.flask beside Flask-Session 0.8.0's DynamoDB
backend (boto3), on one DynamoDB Local, in one run. Prints medians and ratios.

Both serve the same Flask view through Flask's test client, with a permanent session that was
logged in first, and Flask's defaults (SESSION_REFRESH_EACH_REQUEST on). Measured:

- client CPU per request (``time.process_time``, every thread of the process: boto3's and the
  native store's runtime alike) over many read-only requests, and the same net of a Flask app
  without a server-side session (the session's own cost, "per session load");
- wall time per request;
- DynamoDB requests per read-only request, counted by a proxy in a separate process.

Each figure comes from a fresh process per store and round, the two stores taking turns in
alternating order; the median over the rounds is printed. Knobs (environment):
BENCH_ROUNDS (5), BENCH_REQUESTS (1000), BENCH_WARMUP (200). Never fails on a target, only on
an error.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROXY = HERE.parent / "tests" / "contrib" / "counting_proxy.py"
REGION = "us-east-1"
STORES = ("connect-dynamodb", "flask-session")


# The worker: one store, one process --------------------------------------------------------


def _flask_app(kind: str, endpoint: str, table: str) -> Any:
    from flask import Flask, jsonify, session

    app = Flask(f"bench-{kind}")
    app.secret_key = "bench secret"
    if kind == "connect-dynamodb":
        from connect_dynamodb import SessionStore
        from connect_dynamodb.contrib.flask import DynamoDBSessionInterface

        app.session_interface = DynamoDBSessionInterface(SessionStore(table, endpoint=endpoint))
    elif kind == "flask-session":
        import boto3
        from flask_session import Session

        app.config.update(
            SESSION_TYPE="dynamodb",
            SESSION_DYNAMODB=boto3.resource("dynamodb", endpoint_url=endpoint, region_name=REGION),
            SESSION_DYNAMODB_TABLE=table,
        )
        Session(app)
    elif kind == "baseline":
        # No session cookie at all: the cost of the request through Flask itself.
        pass
    else:
        raise ValueError(kind)

    @app.post("/login")
    def login() -> Any:
        session.permanent = True
        session["user"] = "alice"
        session["cart"] = [1, 2, 3]
        return jsonify(ok=True)

    @app.get("/whoami")
    def whoami() -> Any:
        if kind == "baseline":
            return jsonify(user="alice")
        return jsonify(user=session.get("user"))

    return app


def _counts(proxy: str | None, reset: bool = False) -> dict[str, int]:
    if proxy is None:
        return {}
    if reset:
        urllib.request.urlopen(
            urllib.request.Request(proxy + "/__reset", method="POST"), timeout=10
        )
        return {}
    with urllib.request.urlopen(proxy + "/__counts", timeout=10) as response:
        return json.loads(response.read())


def worker(
    kind: str, endpoint: str, table: str, requests: int, warmup: int, proxy: str | None
) -> dict[str, Any]:
    app = _flask_app(kind, proxy or endpoint, table)
    client = app.test_client()
    if kind != "baseline":
        assert client.post("/login").status_code == 200
    for _ in range(warmup):
        assert client.get("/whoami").json == {"user": "alice"}
    _counts(proxy, reset=True)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(requests):
        response = client.get("/whoami")
    cpu1, wall1 = time.process_time(), time.perf_counter()
    assert response.json == {"user": "alice"}
    counts = _counts(proxy)
    return {
        "cpu_us": (cpu1 - cpu0) / requests * 1e6,
        "wall_us": (wall1 - wall0) / requests * 1e6,
        "counts": {k: v / requests for k, v in counts.items()},
    }


# The driver --------------------------------------------------------------------------------


def _run_worker(
    kind: str, endpoint: str, table: str, requests: int, warmup: int, proxy: str | None = None
) -> dict[str, Any]:
    args = [sys.executable, __file__, "--worker", kind, endpoint, table, str(requests), str(warmup)]
    if proxy:
        args.append(proxy)
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _create_tables(endpoint: str, stamp: str) -> dict[str, str]:
    import boto3
    from connect_dynamodb import SessionStore

    ours = f"bench-ours-{stamp}"
    theirs = f"bench-flask-session-{stamp}"
    with SessionStore(ours, endpoint=endpoint) as store:
        store.create_table()
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    client.create_table(
        TableName=theirs,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=theirs)
    return {"connect-dynamodb": ours, "flask-session": theirs, "baseline": ours}


def _fmt_counts(counts: dict[str, float]) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(counts.items()))
    return f"{total:.2f} ({parts})" if parts else f"{total:.2f}"


def main() -> None:
    endpoint = os.environ["DYNAMODB_ENDPOINT"]
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    requests = int(os.environ.get("BENCH_REQUESTS", "1000"))
    warmup = int(os.environ.get("BENCH_WARMUP", "200"))
    started = time.perf_counter()
    tables = _create_tables(endpoint, f"{os.getpid()}-{time.time_ns() % 10**9}")

    import connect_dynamodb
    import flask_session

    print(
        f"python bench: connect_dynamodb {getattr(connect_dynamodb, '__version__', '?')} "
        f"(release wheel) vs Flask-Session {flask_session.__version__} (boto3), "
        f"{rounds} rounds x {requests} read-only requests, DynamoDB Local at {endpoint}",
        flush=True,
    )

    results: dict[str, list[dict[str, Any]]] = {k: [] for k in (*STORES, "baseline")}
    for r in range(rounds):
        order = ["baseline", *(STORES if r % 2 == 0 else reversed(STORES))]
        for kind in order:
            results[kind].append(_run_worker(kind, endpoint, tables[kind], requests, warmup))
        line = "  ".join(
            f"{k} {results[k][-1]['cpu_us']:.0f} us cpu/{results[k][-1]['wall_us']:.0f} us wall"
            for k in order
        )
        print(f"  round {r + 1}: {line}", flush=True)

    proxy = subprocess.Popen(
        [sys.executable, str(PROXY), endpoint], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proxy.stdout is not None
        port = proxy.stdout.readline().split()[1]
        proxy_url = f"http://127.0.0.1:{port}"
        counted = {
            k: _run_worker(k, endpoint, tables[k], 200, 20, proxy_url)["counts"] for k in STORES
        }
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)

    def median(kind: str, key: str) -> float:
        return statistics.median(x[key] for x in results[kind])

    base_cpu = median("baseline", "cpu_us")
    ours_cpu, theirs_cpu = median(STORES[0], "cpu_us"), median(STORES[1], "cpu_us")
    ours_net, theirs_net = ours_cpu - base_cpu, theirs_cpu - base_cpu
    ours_wall, theirs_wall = median(STORES[0], "wall_us"), median(STORES[1], "wall_us")
    writes = {
        k: sum(
            v
            for op, v in counted[k].items()
            if op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
        )
        for k in STORES
    }

    rows = [
        (
            "client CPU per request (us)",
            f"{ours_cpu:.0f}",
            f"{theirs_cpu:.0f}",
            f"{ours_cpu / theirs_cpu:.2f}",
        ),
        (
            "client CPU per session load, net of Flask (us)",
            f"{ours_net:.0f}",
            f"{theirs_net:.0f}",
            f"{ours_net / theirs_net:.2f}",
        ),
        (
            "wall time per request (us)",
            f"{ours_wall:.0f}",
            f"{theirs_wall:.0f}",
            f"{ours_wall / theirs_wall:.2f}",
        ),
        (
            "DynamoDB requests per read-only request",
            _fmt_counts(counted[STORES[0]]),
            _fmt_counts(counted[STORES[1]]),
            "",
        ),
        (
            "writes per read-only request",
            f"{writes[STORES[0]]:.2f}",
            f"{writes[STORES[1]]:.2f}",
            "",
        ),
    ]
    header = ("median of rounds", "connect-dynamodb", "Flask-Session", "ratio")
    widths = [max(len(r[i]) for r in [*rows, header]) for i in range(4)]
    print()
    print(f"Flask baseline (no server-side session): {base_cpu:.0f} us CPU per request")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    print()
    verdict = "met" if ours_net <= theirs_net / 3 else "NOT met"
    print(
        f"target: client CPU per session load <= 1/3 of Flask-Session's: {verdict} "
        f"({ours_net / theirs_net:.2f}; per whole request {ours_cpu / theirs_cpu:.2f})"
    )
    verdict = "met" if writes[STORES[0]] == 0 else "NOT met"
    print(f"target: no write on a read-only request: {verdict} ({writes[STORES[0]]:.2f})")
    print(f"python bench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, endpoint, table, requests, warmup = sys.argv[2:7]
        proxy = sys.argv[7] if len(sys.argv) > 7 else None
        print(json.dumps(worker(kind, endpoint, table, int(requests), int(warmup), proxy)))
    else:
        main()
