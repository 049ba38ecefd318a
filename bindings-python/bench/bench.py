"""The Python benchmark: connect_dynamodb.contrib.flask beside Flask-Session 0.8.0's DynamoDB
backend (boto3), on one DynamoDB Local, in one run. Prints medians and ratios.

Both serve the same Flask view through Flask's test client, with a permanent session that was
logged in first, in two settings: Flask's default (SESSION_REFRESH_EACH_REQUEST on: Flask-Session
writes the session back on every request, this package moves the expiry through its throttled
touch) and "load only" (SESSION_REFRESH_EACH_REQUEST off: neither writes, so both do exactly one
session load per request; the target is judged on this one). Measured:

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


MODES = ("refresh", "load-only")


def _flask_app(kind: str, endpoint: str, table: str, mode: str) -> Any:
    from flask import Flask, jsonify, session

    app = Flask(f"bench-{kind}")
    app.secret_key = "bench secret"
    app.config["SESSION_REFRESH_EACH_REQUEST"] = mode == "refresh"
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
    kind: str, mode: str, endpoint: str, table: str, requests: int, warmup: int, proxy: str | None
) -> dict[str, Any]:
    app = _flask_app(kind, proxy or endpoint, table, mode)
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
    kind: str,
    mode: str,
    endpoint: str,
    table: str,
    requests: int,
    warmup: int,
    proxy: str | None = None,
) -> dict[str, Any]:
    args = [sys.executable, __file__, "--worker", kind, mode, endpoint, table]
    args += [str(requests), str(warmup)]
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

    # Every (store, mode) pair runs once per round, each in a fresh process, in an order that
    # alternates between rounds; the baseline runs first in every round.
    pairs = [(kind, mode) for mode in MODES for kind in STORES]
    results: dict[tuple[str, str], list[dict[str, Any]]] = {p: [] for p in pairs}
    results[("baseline", "refresh")] = []
    for r in range(rounds):
        order = [("baseline", "refresh"), *(pairs if r % 2 == 0 else reversed(pairs))]
        for kind, mode in order:
            results[(kind, mode)].append(
                _run_worker(kind, mode, endpoint, tables[kind], requests, warmup)
            )
        line = "  ".join(f"{k}/{m} {results[(k, m)][-1]['cpu_us']:.0f} us cpu" for k, m in order)
        print(f"  round {r + 1}: {line}", flush=True)

    proxy = subprocess.Popen(
        [sys.executable, str(PROXY), endpoint], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proxy.stdout is not None
        port = proxy.stdout.readline().split()[1]
        proxy_url = f"http://127.0.0.1:{port}"
        counted = {
            (k, m): _run_worker(k, m, endpoint, tables[k], 200, 20, proxy_url)["counts"]
            for k, m in pairs
        }
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)

    def median(kind: str, mode: str, key: str) -> float:
        return statistics.median(x[key] for x in results[(kind, mode)])

    def writes(kind: str, mode: str) -> float:
        ops = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
        return sum(v for op, v in counted[(kind, mode)].items() if op in ops)

    base_cpu = median("baseline", "refresh", "cpu_us")
    ours, theirs = STORES
    rows = []
    net: dict[str, tuple[float, float]] = {}
    for mode in MODES:
        ours_cpu, theirs_cpu = median(ours, mode, "cpu_us"), median(theirs, mode, "cpu_us")
        ours_net, theirs_net = ours_cpu - base_cpu, theirs_cpu - base_cpu
        net[mode] = (ours_net, theirs_net)
        ours_wall, theirs_wall = median(ours, mode, "wall_us"), median(theirs, mode, "wall_us")
        rows += [
            (
                f"[{mode}] client CPU per request (us)",
                f"{ours_cpu:.0f}",
                f"{theirs_cpu:.0f}",
                f"{ours_cpu / theirs_cpu:.2f}",
            ),
            (
                f"[{mode}] client CPU per session, net of Flask (us)",
                f"{ours_net:.0f}",
                f"{theirs_net:.0f}",
                f"{ours_net / theirs_net:.2f}",
            ),
            (
                f"[{mode}] wall time per request (us)",
                f"{ours_wall:.0f}",
                f"{theirs_wall:.0f}",
                f"{ours_wall / theirs_wall:.2f}",
            ),
            (
                f"[{mode}] DynamoDB requests per request",
                _fmt_counts(counted[(ours, mode)]),
                _fmt_counts(counted[(theirs, mode)]),
                "",
            ),
            (
                f"[{mode}] writes per read-only request",
                f"{writes(ours, mode):.2f}",
                f"{writes(theirs, mode):.2f}",
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
    ours_net, theirs_net = net["load-only"]
    verdict = "met" if ours_net <= theirs_net / 3 else "NOT met"
    print(
        f"target: client CPU per session load <= 1/3 of Flask-Session's (load only): {verdict} "
        f"({ours_net / theirs_net:.2f}; with Flask's default refresh "
        f"{net['refresh'][0] / net['refresh'][1]:.2f})"
    )
    no_write = all(writes(ours, mode) == 0 for mode in MODES)
    verdict = "met" if no_write else "NOT met"
    print(
        f"target: no write on a read-only request: {verdict} "
        f"({', '.join(f'{m} {writes(ours, m):.2f}' for m in MODES)})"
    )
    print(f"python bench took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, mode, endpoint, table, requests, warmup = sys.argv[2:8]
        proxy = sys.argv[8] if len(sys.argv) > 8 else None
        print(json.dumps(worker(kind, mode, endpoint, table, int(requests), int(warmup), proxy)))
    else:
        main()
