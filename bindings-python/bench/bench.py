"""The Python benchmark: the framework integrations of connect_dynamodb beside a boto3 session
store and the framework's own in-memory sessions, on one DynamoDB Local, in one run; and the
memory of a process that uses the store. Prints medians and ratios; with ``BENCH_OUT`` (a
directory) also writes them as JSON: python-flask.json, python-django.json,
python-starlette.json and python-memory.json.

Each framework serves three views through an in-process test client (Flask's and Django's
test clients; httpx's ``ASGITransport`` for Starlette): a login that stores a session of 1 KB
or 50 KB of JSON values (a user, flags and a cart of items), a read-only view that reads two of
its keys, and a write view that changes one key (so the whole session is written). Three
stores take turns in every framework:

- Flask: Flask-Session 0.8.0 on its DynamoDB backend (boto3), connect_dynamodb.contrib.flask,
  and as the floor Flask-Session's cachelib backend on an in-memory ``SimpleCache``; in Flask's
  default (``SESSION_REFRESH_EACH_REQUEST`` on: Flask-Session writes every session back, this
  package moves the expiry through its throttled touch) and "load only" (off);
- Django: a boto3 store written here as Flask-Session's DynamoDB backend is (django_bench.py),
  connect_dynamodb.contrib.django, and as the floor Django's cache backend on locmem; with
  ``SESSION_SAVE_EVERY_REQUEST`` on ("refresh each request") and off (Django's default,
  "load only");
- Starlette: starsessions 2.2 with a boto3 store written the same way, with
  connect_dynamodb.contrib.starlette, and with its ``InMemoryStore`` as the floor; rolling
  sessions ("refresh each request") and a fixed lifetime (starsessions saves the session on
  every response either way).

Measured per request: the CPU time of the process (``time.process_time``: every thread, the
framework's, boto3's and the native store's runtime alike; the test client runs in the same
process, and the floor, measured the same way, carries the framework's and the test client's
share), the same net of the floor, requests per second of the one client, and, in a separate
pass through a counting proxy in another process, DynamoDB requests and capacity units.

Each figure comes from a fresh process per framework, store and round, which runs every
scenario; the stores take turns in an order that alternates between rounds, and the median over
the rounds is reported (the net figure: the median of each round's difference). An untimed
round of every process comes first, and each timed process starts once DynamoDB Local is idle:
the server shares the machine's cores, and its JIT compiler, busy for seconds after a kind of
request it has not served before, would otherwise slow whichever process runs beside it. Knobs
(environment): BENCH_ROUNDS (5), BENCH_REQUESTS (120 per scenario, half that at 50 KB),
BENCH_WARMUP (20), BENCH_WARMUP_ROUNDS (1 untimed round), BENCH_FRAMEWORKS
(flask,django,starlette), BENCH_SIZES (1,50), BENCH_COUNT_REQUESTS (10), BENCH_MEMORY_CALLS
(100000; 0 skips the memory bench), BENCH_MEMORY_THREADS (4). Never fails on a target, only on
an error.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROXY = HERE.parent / "tests" / "contrib" / "counting_proxy.py"
REGION = "us-east-1"
THIS = "connect-dynamodb 4 (this)"
BOTO3_PEER = "boto3 store (as Flask-Session)"
KINDS = ("floor", "peer", "this")
ACCESSES = ("read-only", "write")
# Net CPU per request of this store at most these times the peer's, by session size (KB).
MAX_RATIO = {1: 0.25, 50: 0.5}
# The memory target: the RSS may grow by at most this much after the warm-up.
MAX_GROWTH_MIB = 1.0
# The Flask floor's read-only request (1 KB, load only) once more with a sleep of WAIT seconds in
# the view: what waiting on an answer costs the app's CPU on this machine (a note of the report).
WAIT = 0.001
# DynamoDB Local counts as idle below this share of one core over QUIET_WINDOW seconds; a timed
# process waits for that at most QUIET_MAX seconds (and the report says when it did not come).
QUIET_SHARE = 0.10
QUIET_WINDOW = 0.25
QUIET_MAX = 20.0
WAIT_SCENARIO = "1 KB, read-only, load only, 1 ms wait"

FRAMEWORKS: dict[str, dict[str, Any]] = {
    "flask": {
        "title": "Python: Flask 3.1 sessions, 1 KB and 50 KB",
        "stores": {
            "floor": "Flask-Session 0.8.0 (cachelib, in memory)",
            "peer": "Flask-Session 0.8.0 (boto3)",
            "this": THIS,
        },
        "modes": {"refresh each request": True, "load only": False},
    },
    "django": {
        "title": "Python: Django 5.2 sessions, 1 KB and 50 KB",
        "stores": {
            "floor": "Django cache sessions (locmem)",
            "peer": BOTO3_PEER,
            "this": THIS,
        },
        "modes": {"refresh each request": True, "load only": False},
    },
    "starlette": {
        "title": "Python: Starlette 1.10 + starsessions 2.2 sessions, 1 KB and 50 KB",
        "stores": {
            "floor": "starsessions InMemoryStore",
            "peer": BOTO3_PEER,
            "this": THIS,
        },
        "modes": {"refresh each request": True, "fixed expiry": False},
    },
}

_SESSIONS: dict[int, dict[str, Any]] = {}


def session_data(kb: int) -> dict[str, Any]:
    """A session of about ``kb`` KB of compact JSON: a user, flags and a cart of items."""
    if kb not in _SESSIONS:
        data: dict[str, Any] = {
            "user": "alice",
            "user_id": 12345,
            "csrf": "c" * 43,
            "flags": {"beta": True, "theme": "dark", "seen": [1, 2, 3]},
            "cart": [],
        }
        i = 0
        while len(json.dumps(data, separators=(",", ":"))) < kb * 1024 - 140:
            data["cart"].append(
                {
                    "sku": f"SKU-{i:06d}",
                    "name": f"Product {i}, a longer name",
                    "qty": i % 7 + 1,
                    "price": round(9.99 + i * 0.5, 2),
                    "tags": ["red", "large", f"t{i % 13}"],
                }
            )
            i += 1
        _SESSIONS[kb] = data
    return _SESSIONS[kb]


def scenario(kb: int, access: str, mode: str) -> str:
    return f"{kb} KB, {access}, {mode}"


# Measuring ---------------------------------------------------------------------------------


class Proxy:
    """The counting proxy of a counting pass, seen from a worker."""

    def __init__(self, url: str) -> None:
        self.url = url

    def reset(self) -> None:
        request = urllib.request.Request(self.url + "/__reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def get(self, what: str) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.url}/__{what}", timeout=10) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]


def measure(
    call: Callable[[], Any], requests: int, warmup: int, proxy: Proxy | None
) -> dict[str, Any]:
    """Runs ``call`` (one request, which checks its answer) ``warmup`` times, then ``requests``
    times timed; with a proxy, counts the DynamoDB requests of the timed ones instead."""
    for _ in range(warmup):
        call()
    if proxy is not None:
        proxy.reset()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(requests):
        call()
    return _per_request(cpu0, wall0, requests, proxy)


def _per_request(cpu0: float, wall0: float, requests: int, proxy: Proxy | None) -> dict[str, Any]:
    """What :func:`measure` reports for ``requests`` requests timed from ``cpu0``/``wall0``."""
    cpu1, wall1 = time.process_time(), time.perf_counter()
    result: dict[str, Any] = {
        "cpu_us": (cpu1 - cpu0) / requests * 1e6,
        "wall_us": (wall1 - wall0) / requests * 1e6,
    }
    if proxy is not None:
        result["counts"] = {k: v / requests for k, v in proxy.get("counts").items()}
        result["capacity"] = {k: v / requests for k, v in proxy.get("capacity").items()}
    return result


async def measure_async(
    call: Callable[[], Any], requests: int, warmup: int, proxy: Proxy | None
) -> dict[str, Any]:
    """:func:`measure` of a coroutine function, on the running event loop."""
    for _ in range(warmup):
        await call()
    if proxy is not None:
        proxy.reset()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(requests):
        await call()
    return _per_request(cpu0, wall0, requests, proxy)


def _check(status: int, user: Any) -> None:
    if status != 200 or user != "alice":
        raise RuntimeError(f"unexpected answer: {status} {user!r}")


# The workers: one framework, one store, one process ----------------------------------------


def flask_views(app: Any) -> None:
    """Adds the Flask app's views: the login (``?kb=``: the session's size; a permanent
    session), the read-only view, the write view, and the read-only view after a wait
    (scripts/profile.py serves them too)."""
    from flask import jsonify, request, session

    @app.post("/login")
    def login() -> Any:
        session.permanent = True
        session.update(session_data(int(request.args["kb"])))
        return jsonify(ok=True)

    @app.get("/read")
    def read() -> Any:
        return jsonify(user=session.get("user"), items=len(session.get("cart", ())))

    @app.post("/write")
    def write() -> Any:
        session["n"] = session.get("n", 0) + 1
        return jsonify(user=session.get("user"), n=session["n"])

    @app.get("/read-wait")
    def read_wait() -> Any:
        time.sleep(WAIT)  # stands for waiting on a store's answer
        return jsonify(user=session.get("user"), items=len(session.get("cart", ())))


def run_flask(kind: str, ctx: dict[str, Any]) -> dict[str, Any]:
    from flask import Flask

    endpoint = ctx["endpoint"]
    results: dict[str, Any] = {}
    store: Any = None
    resource: Any = None
    if kind == "this":
        from connect_dynamodb import SessionStore
        from connect_dynamodb.contrib.flask import DynamoDBSessionInterface

        store = SessionStore(ctx["tables"]["this"], endpoint=endpoint, first_use="nothing")
    elif kind == "peer":
        import boto3

        resource = boto3.resource("dynamodb", endpoint_url=endpoint, region_name=REGION)

    for mode, refresh in FRAMEWORKS["flask"]["modes"].items():
        app = Flask(f"bench-{kind}")
        app.secret_key = "bench secret"
        app.config["SESSION_REFRESH_EACH_REQUEST"] = refresh
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=1)
        if kind == "this":
            app.session_interface = DynamoDBSessionInterface(store)
        else:
            from flask_session import Session

            if kind == "peer":
                app.config.update(
                    SESSION_TYPE="dynamodb",
                    SESSION_DYNAMODB=resource,
                    SESSION_DYNAMODB_TABLE=ctx["tables"]["peer"],
                )
            else:
                from cachelib import SimpleCache

                app.config.update(
                    SESSION_TYPE="cachelib", SESSION_CACHELIB=SimpleCache(threshold=100_000)
                )
            Session(app)

        flask_views(app)
        if kind == "floor" and not refresh and 1 in ctx["sizes"]:
            client = app.test_client()
            if client.post("/login?kb=1").status_code != 200:
                raise RuntimeError("login failed")

            def call(client: Any = client) -> None:
                response = client.get("/read-wait")
                _check(response.status_code, response.json["user"])

            results[WAIT_SCENARIO] = measure(call, ctx["requests"][1], ctx["warmup"], None)

        for kb in ctx["sizes"]:
            for access in ACCESSES:
                client = app.test_client()
                if client.post(f"/login?kb={kb}").status_code != 200:
                    raise RuntimeError("login failed")
                if access == "read-only":

                    def call(client: Any = client) -> None:
                        response = client.get("/read")
                        _check(response.status_code, response.json["user"])
                else:

                    def call(client: Any = client) -> None:
                        response = client.post("/write")
                        _check(response.status_code, response.json["user"])

                results[scenario(kb, access, mode)] = measure(
                    call, ctx["requests"][kb], ctx["warmup"], ctx["proxy"]
                )
    return results


def configure_django(engine: str, connect_dynamodb: dict[str, Any], **more: Any) -> None:
    """Sets Django up for the bench's app (django_bench's views and URLs) with the session
    engine ``engine``, ``CONNECT_DYNAMODB`` and ``more`` settings (scripts/profile.py's too)."""
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench secret",
        ALLOWED_HOSTS=["testserver"],
        USE_TZ=True,
        INSTALLED_APPS=[],
        DATABASES={},
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
        ROOT_URLCONF="django_bench",
        SESSION_ENGINE=engine,
        SESSION_COOKIE_AGE=86400,
        CONNECT_DYNAMODB=connect_dynamodb,
        **more,
    )
    django.setup()


def run_django(kind: str, ctx: dict[str, Any]) -> dict[str, Any]:
    from django.conf import settings

    engine = {
        "floor": "django.contrib.sessions.backends.cache",
        "peer": "django_bench",
        "this": "connect_dynamodb.contrib.django",
    }[kind]
    configure_django(
        engine,
        {"table": ctx["tables"]["this"], "endpoint": ctx["endpoint"], "first_use": "nothing"},
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "OPTIONS": {"MAX_ENTRIES": 100_000},
            }
        },
        BENCH_BOTO3={"endpoint": ctx["endpoint"], "region": REGION, "table": ctx["tables"]["peer"]},
    )
    from django.test import Client

    results: dict[str, Any] = {}
    for mode, every_request in FRAMEWORKS["django"]["modes"].items():
        settings.SESSION_SAVE_EVERY_REQUEST = every_request
        for kb in ctx["sizes"]:
            for access in ACCESSES:
                client = Client()
                if client.post(f"/login?kb={kb}").status_code != 200:
                    raise RuntimeError("login failed")
                if access == "read-only":

                    def call(client: Any = client) -> None:
                        response = client.get("/read")
                        _check(response.status_code, json.loads(response.content)["user"])
                else:

                    def call(client: Any = client) -> None:
                        response = client.post("/write")
                        _check(response.status_code, json.loads(response.content)["user"])

                results[scenario(kb, access, mode)] = measure(
                    call, ctx["requests"][kb], ctx["warmup"], ctx["proxy"]
                )
    return results


def starlette_routes() -> list[Any]:
    """The Starlette app's routes: the login (``?kb=``: the session's size), the read-only
    view and the write view (scripts/profile.py serves them too)."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def login(request: Request) -> JSONResponse:
        request.session.update(session_data(int(request.query_params["kb"])))
        return JSONResponse({"ok": True})

    async def read(request: Request) -> JSONResponse:
        session = request.session
        return JSONResponse({"user": session.get("user"), "items": len(session.get("cart", ()))})

    async def write(request: Request) -> JSONResponse:
        session = request.session
        session["n"] = session.get("n", 0) + 1
        return JSONResponse({"user": session.get("user"), "n": session["n"]})

    return [
        Route("/login", login, methods=["POST"]),
        Route("/read", read),
        Route("/write", write, methods=["POST"]),
    ]


def run_starlette(kind: str, ctx: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_run_starlette(kind, ctx))


async def _run_starlette(kind: str, ctx: dict[str, Any]) -> dict[str, Any]:
    from decimal import Decimal

    import httpx
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starsessions import SessionAutoloadMiddleware, SessionMiddleware
    from starsessions.stores.base import SessionStore
    from starsessions.stores.memory import InMemoryStore

    class Boto3Store(SessionStore):
        """starsessions' store on DynamoDB through boto3, as Flask-Session's DynamoDB backend:
        ``get_item`` to read, ``update_item`` (``SET val, expiration``) to write the session
        as the middleware serialized it."""

        def __init__(self, table: Any) -> None:
            self.table = table

        async def read(self, session_id: str, lifetime: int) -> bytes:
            item = self.table.get_item(Key={"id": session_id}).get("Item")
            if item is None or float(item["expiration"]) <= time.time():
                return b""
            return bytes(item["val"].value)

        async def write(self, session_id: str, data: bytes, lifetime: int, ttl: int) -> str:
            expires = time.time() + (ttl if lifetime > 0 else 30 * 86400)
            self.table.update_item(
                Key={"id": session_id},
                UpdateExpression="SET val = :value, expiration = :exp",
                ExpressionAttributeValues={":value": data, ":exp": Decimal(int(expires))},
            )
            return session_id

        async def remove(self, session_id: str) -> None:
            self.table.delete_item(Key={"id": session_id})

    table: Any = None
    if kind == "peer":
        import boto3

        resource = boto3.resource("dynamodb", endpoint_url=ctx["endpoint"], region_name=REGION)
        table = resource.Table(ctx["tables"]["peer"])

    results: dict[str, Any] = {}
    for mode, rolling in FRAMEWORKS["starlette"]["modes"].items():
        store: Any
        if kind == "this":
            from connect_dynamodb import AsyncSessionStore
            from connect_dynamodb.contrib.starlette import DynamoDBStore

            store = DynamoDBStore(
                AsyncSessionStore(
                    ctx["tables"]["this"], endpoint=ctx["endpoint"], first_use="nothing"
                )
            )
        elif kind == "peer":
            store = Boto3Store(table)
        else:
            store = InMemoryStore()
        app = Starlette(
            routes=starlette_routes(),
            middleware=[
                Middleware(
                    SessionMiddleware,
                    store=store,
                    lifetime=86400,
                    rolling=rolling,
                    cookie_https_only=False,
                ),
                Middleware(SessionAutoloadMiddleware),
            ],
        )
        transport = httpx.ASGITransport(app=app)
        for kb in ctx["sizes"]:
            for access in ACCESSES:
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://testserver"
                ) as client:
                    if (await client.post(f"/login?kb={kb}")).status_code != 200:
                        raise RuntimeError("login failed")
                    if access == "read-only":

                        async def call(client: Any = client) -> None:
                            response = await client.get("/read")
                            _check(response.status_code, response.json()["user"])
                    else:

                        async def call(client: Any = client) -> None:
                            response = await client.post("/write")
                            _check(response.status_code, response.json()["user"])

                    results[scenario(kb, access, mode)] = await measure_async(
                        call, ctx["requests"][kb], ctx["warmup"], ctx["proxy"]
                    )
    return results


RUNNERS = {"flask": run_flask, "django": run_django, "starlette": run_starlette}


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def run_memory(ctx: dict[str, Any]) -> dict[str, Any]:
    """RSS of a process that uses the store directly: idle, after a warm-up, after the calls."""
    from connect_dynamodb import SessionStore

    store = SessionStore(ctx["tables"]["this"], endpoint=ctx["endpoint"], first_use="nothing")
    store.get("memory-idle")
    idle = _rss_mib()
    seed = random.Random(14)
    ids = [f"memory-{i:04d}" for i in range(1000)]
    text = json.dumps(session_data(1), separators=(",", ":"))

    def calls(n: int) -> None:
        # Spread over a few threads (the store is shared by them, as in a threaded server), so
        # that DynamoDB Local's latency does not set the pace alone.
        def part(start: float, count: int) -> None:
            rnd = random.Random(start)
            for _ in range(count):
                sid = rnd.choice(ids)
                pick = rnd.random()
                if pick < 0.6:
                    store.get(sid)
                elif pick < 0.8:
                    store.set(sid, text, time.time() + 86400)
                else:
                    store.touch(sid, time.time() + 86400)

        workers = [
            threading.Thread(target=part, args=(seed.random(), n // threads))
            for _ in range(threads)
        ]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()

    def fill(part: list[str]) -> None:
        for sid in part:
            store.set(sid, text, time.time() + 86400)

    threads = ctx["memory_threads"]
    seeding = [threading.Thread(target=fill, args=(ids[i::threads],)) for i in range(threads)]
    for thread in seeding:
        thread.start()
    for thread in seeding:
        thread.join()
    warm = 10_000
    started = time.perf_counter()
    calls(warm)
    after_warmup = _rss_mib()
    calls(ctx["memory_calls"])
    after = _rss_mib()
    store.close()
    return {
        "idle": idle,
        "after_warmup": after_warmup,
        "after": after,
        "seconds": time.perf_counter() - started,
    }


# The driver --------------------------------------------------------------------------------


def _run_worker(job: str, kind: str, ctx: dict[str, Any]) -> dict[str, Any]:
    args = [sys.executable, __file__, "--worker", job, kind, json.dumps(ctx)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise RuntimeError(f"the {job}/{kind} worker failed ({out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _cpu_seconds(pid: int) -> float | None:
    """The CPU time (user + system) process ``pid`` has used, from /proc; None without it."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _await_quiet_server(pid: int | None) -> float | None:
    """Waits until DynamoDB Local (process ``pid``) uses under QUIET_SHARE of a core over
    QUIET_WINDOW; returns the seconds waited, or None when it stayed busy for QUIET_MAX (or
    cannot be watched)."""
    if pid is None:
        return None
    started = time.perf_counter()
    before = _cpu_seconds(pid)
    while before is not None and time.perf_counter() - started < QUIET_MAX:
        time.sleep(QUIET_WINDOW)
        after = _cpu_seconds(pid)
        if after is None:
            return None
        if after - before < QUIET_SHARE * QUIET_WINDOW:
            return time.perf_counter() - started
        before = after
    return None


def _create_tables(endpoint: str, stamp: str) -> dict[str, str]:
    import boto3
    from connect_dynamodb import SessionStore

    ours = f"bench-ours-{stamp}"
    theirs = f"bench-boto3-{stamp}"
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
    return {"this": ours, "peer": theirs}


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = None
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    memory = round(int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    runtimes = {"python": platform.python_version(), "dynamodb_local": "3.3.1"}
    try:
        rustc = subprocess.run(["rustc", "-V"], capture_output=True, text=True, timeout=30)
        runtimes["rustc"] = rustc.stdout.split()[1]
    except (OSError, IndexError, subprocess.SubprocessError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "os": f"{platform.system()} {platform.release()}",
        "runtimes": runtimes,
    }


def _versions() -> str:
    from importlib.metadata import version

    names = ("flask", "flask-session", "django", "starlette", "starsessions", "boto3")
    return ", ".join(f"{n} {version(n)}" for n in names)


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def _write(out: str | None, doc: dict[str, Any]) -> None:
    if not out:
        return
    path = Path(out) / f"{doc['bench']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(f"  wrote {path}", flush=True)


CLIENTS = {
    "flask": "Flask's test client",
    "django": "Django's test client",
    "starlette": "httpx's ASGITransport (one event loop)",
}

METHOD = (
    "Process CPU time (time.process_time, every thread) per request of {framework} serving a "
    "read-only view and a write view through {client} in the same process, with a logged-in "
    "session of 1 KB or 50 KB of JSON values; a fresh process per store and round runs every "
    "scenario ({requests} timed requests per scenario at 1 KB, {requests50} at 50 KB, after "
    "{warmup} untimed), {rounds} rounds with the stores in alternating order on one DynamoDB "
    "Local, after an untimed round of every process, each timed process starting once DynamoDB "
    "Local is idle (under {quiet_pct}% of a core over {quiet_window} s), medians reported. The "
    "floor ({floor}) is the framework's in-memory session measured the same way in the same run; "
    "the net figure (store minus floor, the median of each round's difference) is the session "
    "store's own cost. {peer} does what Flask-Session 0.8.0's DynamoDB backend does with boto3: "
    "one get_item per load, one update_item of the framework's serialized session per save. "
    "Requests per second are of the one client in series. DynamoDB requests and capacity units "
    "per request are counted by a proxy in another process in a separate pass ({count} requests "
    "per scenario)."
)


def main() -> None:
    endpoint = os.environ["DYNAMODB_ENDPOINT"]
    out = os.environ.get("BENCH_OUT") or None
    rounds = int(os.environ.get("BENCH_ROUNDS", "5"))
    requests = int(os.environ.get("BENCH_REQUESTS", "120"))
    warmup = int(os.environ.get("BENCH_WARMUP", "20"))
    warmup_rounds = int(os.environ.get("BENCH_WARMUP_ROUNDS", "1"))
    count_requests = int(os.environ.get("BENCH_COUNT_REQUESTS", "10"))
    memory_calls = int(os.environ.get("BENCH_MEMORY_CALLS", "100000"))
    frameworks = [
        f.strip() for f in os.environ.get("BENCH_FRAMEWORKS", "flask,django,starlette").split(",")
    ]
    frameworks = [f for f in frameworks if f]
    unknown = sorted(set(frameworks) - set(FRAMEWORKS))
    if unknown:
        raise SystemExit(f"BENCH_FRAMEWORKS: unknown {unknown}; known: {sorted(FRAMEWORKS)}")
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "1,50").split(",") if s.strip()]
    per_size = {kb: max(10, requests if kb < 10 else requests // 2) for kb in sizes}
    started = time.perf_counter()
    tables = _create_tables(endpoint, f"{os.getpid()}-{time.time_ns() % 10**9}")
    machine = _machine()
    date = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    import connect_dynamodb

    print(
        f"python bench: connect_dynamodb {connect_dynamodb.__version__} (release wheel); "
        f"{_versions()}; {rounds} rounds, {per_size} timed requests per scenario by size (KB), "
        f"DynamoDB Local at {endpoint}",
        flush=True,
    )
    ctx: dict[str, Any] = {
        "endpoint": endpoint,
        "tables": tables,
        "sizes": sizes,
        "requests": per_size,
        "warmup": warmup,
        "proxy": None,
    }

    # Every (framework, store) runs once per round in a fresh process; the stores' order
    # alternates between rounds.
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {
        (f, k): [] for f in frameworks for k in KINDS
    }
    server = os.environ.get("DYNAMODB_LOCAL_PID")
    server_pid = int(server) if server else None
    busy = 0
    for r in range(-warmup_rounds, rounds):
        order = KINDS if r % 2 == 0 else tuple(reversed(KINDS))
        for framework in frameworks:
            line = []
            for kind in order:
                waited = _await_quiet_server(server_pid) if r >= 0 else 0.0
                busy += waited is None
                t0 = time.perf_counter()
                result = _run_worker(framework, kind, ctx)
                if r >= 0:
                    runs[(framework, kind)].append(result)
                note = ""
                if waited is None and server_pid is not None:
                    note = " (DynamoDB Local still busy)"
                elif waited is not None and waited > 1:
                    note = f" (DynamoDB Local idle after {waited:.1f}s)"
                line.append(f"{kind} {time.perf_counter() - t0:.0f}s{note}")
            name = f"round {r + 1}" if r >= 0 else "untimed round"
            print(f"  {name} {framework}: {', '.join(line)}", flush=True)

    # The counting pass, through a proxy in another process.
    counted: dict[tuple[str, str], dict[str, Any]] = {}
    if count_requests > 0:
        proxy = subprocess.Popen(
            [sys.executable, str(PROXY), endpoint, "--capacity"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert proxy.stdout is not None
            port = proxy.stdout.readline().split()[1]
            counting = dict(
                ctx,
                endpoint=f"http://127.0.0.1:{port}",
                proxy=f"http://127.0.0.1:{port}",
                requests={kb: count_requests for kb in sizes},
                warmup=3,
            )
            for framework in frameworks:
                for kind in ("peer", "this"):
                    counted[(framework, kind)] = _run_worker(framework, kind, counting)
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)

    for framework in frameworks:
        report_framework(
            framework,
            runs,
            counted,
            sizes,
            machine,
            date,
            out,
            rounds,
            per_size,
            warmup,
            count_requests,
            busy if server_pid is not None else None,
        )

    if memory_calls > 0:
        threads = int(os.environ.get("BENCH_MEMORY_THREADS", "4"))
        report_memory(
            dict(ctx, memory_calls=memory_calls, memory_threads=threads), machine, date, out
        )
    print(f"python bench took {time.perf_counter() - started:.0f} s", flush=True)


def report_framework(
    framework: str,
    runs: dict[tuple[str, str], list[dict[str, Any]]],
    counted: dict[tuple[str, str], dict[str, Any]],
    sizes: list[int],
    machine: dict[str, Any],
    date: str,
    out: str | None,
    rounds: int,
    per_size: dict[int, int],
    warmup: int,
    count_requests: int,
    busy: int | None,
) -> None:
    spec = FRAMEWORKS[framework]
    names = spec["stores"]
    floor, peer = names["floor"], names["peer"]
    figures: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    rows: list[tuple[str, ...]] = []

    def figure(scen: str, store: str, metric: str, values: list[float]) -> float:
        median = _median(values)
        figures.append(
            {
                "scenario": scen,
                "store": store,
                "metric": metric,
                "median": round(median, 2),
                "runs": [round(v, 2) for v in values],
            }
        )
        return median

    for mode in spec["modes"]:
        for kb in sizes:
            for access in ACCESSES:
                scen = scenario(kb, access, mode)
                cpu = {k: [run[scen]["cpu_us"] for run in runs[(framework, k)]] for k in KINDS}
                medians = {k: figure(scen, names[k], "cpu_us_per_request", cpu[k]) for k in KINDS}
                nets = {}
                for k in ("peer", "this"):
                    diffs = [a - b for a, b in zip(cpu[k], cpu["floor"])]
                    nets[k] = figure(scen, names[k], "cpu_us_per_request_net", diffs)
                for k in KINDS:
                    rps = [1e6 / run[scen]["wall_us"] for run in runs[(framework, k)]]
                    figure(scen, names[k], "requests_per_second", rps)
                targets.append(
                    {
                        "scenario": scen,
                        "metric": "cpu_us_per_request_net",
                        "store": THIS,
                        "against": peer,
                        "max_ratio": MAX_RATIO.get(kb, 0.5),
                    }
                )
                counts = {}
                for k in ("peer", "this"):
                    got = counted.get((framework, k), {}).get(scen)
                    if got is None:
                        continue
                    total = sum(got["counts"].values())
                    figure(scen, names[k], "dynamodb_requests_per_request", [total])
                    figure(scen, names[k], "rcu_per_request", [got["capacity"]["read"]])
                    figure(scen, names[k], "wcu_per_request", [got["capacity"]["write"]])
                    ops = ", ".join(f"{op} {n:.2f}" for op, n in sorted(got["counts"].items()))
                    counts[k] = (
                        f"{total:.2f} ({ops}; {got['capacity']['read']:.1f} RCU, "
                        f"{got['capacity']['write']:.1f} WCU)"
                    )
                ratio = nets["this"] / nets["peer"] if nets["peer"] > 0 else float("nan")
                limit = MAX_RATIO.get(kb, 0.5)
                rows.append(
                    (
                        scen,
                        f"{medians['floor']:.0f}",
                        f"{medians['peer']:.0f}",
                        f"{medians['this']:.0f}",
                        f"{nets['peer']:.0f}",
                        f"{nets['this']:.0f}",
                        f"{ratio:.2f} (<= {limit}: {'met' if ratio <= limit else 'NOT met'})",
                        counts.get("peer", ""),
                        counts.get("this", ""),
                    )
                )

    header = (
        "scenario",
        "floor",
        "peer",
        "this",
        "peer net",
        "this net",
        "net ratio (target)",
        "peer DynamoDB/request",
        "this DynamoDB/request",
    )
    widths = [max(len(r[i]) for r in [*rows, header]) for i in range(len(header))]
    print()
    print(f"{spec['title']}: CPU us per request, medians of {rounds} rounds")
    print(f"  floor = {floor}; peer = {peer}; this = {THIS}")
    for row in [header, *rows]:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    _write(
        out,
        {
            "bench": f"python-{framework}",
            "title": spec["title"],
            "machine": machine,
            "date": date,
            "method": METHOD.format(
                framework=framework.capitalize(),
                client=CLIENTS[framework],
                requests=per_size.get(1, min(per_size.values())),
                requests50=per_size.get(50, max(per_size.values())),
                warmup=warmup,
                rounds=rounds,
                floor=floor,
                peer=peer,
                count=count_requests,
                quiet_pct=round(QUIET_SHARE * 100),
                quiet_window=QUIET_WINDOW,
            ),
            "baseline": peer,
            "stores": [floor, peer, THIS],
            "figures": figures,
            "targets": targets,
            "notes": _notes(framework)
            + _wait_note(runs.get((framework, "floor"), []))
            + _busy_note(busy),
        },
    )


def _wait_note(floor_runs: list[dict[str, Any]]) -> list[str]:
    """The note on what a wait for an answer costs, from the floor's runs that measured it."""
    pairs = [
        (run[WAIT_SCENARIO]["cpu_us"], run[scenario(1, "read-only", "load only")]["cpu_us"])
        for run in floor_runs
        if WAIT_SCENARIO in run and scenario(1, "read-only", "load only") in run
    ]
    if not pairs:
        return []
    waited = _median([w for w, _ in pairs])
    plain = _median([p for _, p in pairs])
    cost = _median([w - p for w, p in pairs])
    return [
        "Waiting on an answer costs CPU of its own on this machine: in this run the floor's "
        f"read-only request (1 KB, load only) took {plain:.0f} µs, and {waited:.0f} µs with a "
        f"{WAIT * 1000:.0f} ms time.sleep in the view, so about {cost:.0f} µs per wait (the "
        "thread sleeps, wakes, and runs slower for a while after). Both DynamoDB stores pay "
        "it once per DynamoDB request; the floor never waits."
    ]


def _busy_note(busy: int | None) -> list[str]:
    """What the report says when some timed process did not start on an idle DynamoDB Local."""
    if busy is None:
        return ["DYNAMODB_LOCAL_PID was not set: no process waited for DynamoDB Local to be idle."]
    if busy == 0:
        return []
    return [
        f"DynamoDB Local was still busy after {QUIET_MAX:.0f} s before {busy} timed "
        "process(es) of the run, which then started anyway."
    ]


def _notes(framework: str) -> list[str]:
    notes = [
        "Net figures are the store's CPU per request minus the floor's, round by round; the "
        "targets (at most 0.25x the peer's net at 1 KB, 0.5x at 50 KB) are judged on them.",
        "Sessions hold JSON values only (strings, numbers, booleans, lists, dicts).",
    ]
    if framework == "flask":
        notes.append(
            "Flask-Session keeps the session as msgpack; this store keeps Flask's tagged JSON "
            "(TaggedJSONSerializer's text). With refresh each request Flask-Session writes "
            "every session back; this store moves the expiry through its throttled touch."
        )
    elif framework == "django":
        notes.append(
            "The boto3 store keeps Django's SessionBase.encode text (signed, compressed JSON) "
            "as Django's database backend does; this store keeps the session as plain JSON."
        )
    else:
        notes.append(
            "starsessions writes the session on every response; the boto3 store writes each "
            "one, this store only moves the expiry of an unchanged session (throttled touch)."
        )
    return notes


def report_memory(ctx: dict[str, Any], machine: dict[str, Any], date: str, out: str | None) -> None:
    got = _run_worker("memory", "this", ctx)
    calls = ctx["memory_calls"]
    label = f"after {calls // 1000}k"
    growth = got["after"] - got["after_warmup"]
    print()
    print(
        f"Python memory (RSS of one process using SessionStore directly, 1 KB sessions): idle "
        f"{got['idle']:.1f} MiB, after a 10k-call warm-up {got['after_warmup']:.1f} MiB, "
        f"{label} mixed calls {got['after']:.1f} MiB (growth after warm-up {growth:+.1f} MiB; "
        f"{got['seconds']:.0f} s)",
        flush=True,
    )

    def fig(scen: str, metric: str, value: float) -> dict[str, Any]:
        return {
            "scenario": scen,
            "store": THIS,
            "metric": metric,
            "median": round(value, 2),
            "runs": [round(value, 2)],
        }

    _write(
        out,
        {
            "bench": "python-memory",
            "title": "Python: RSS of a process using SessionStore",
            "machine": machine,
            "date": date,
            "method": (
                "The resident set size (VmRSS) of one Python process that uses "
                "connect_dynamodb.SessionStore directly against DynamoDB Local: idle (store "
                "made, one get), after a warm-up of 10,000 calls, and after "
                f"{calls:,} further calls (about 60% get, 20% set, 20% touch, over 1,000 "
                "session ids with 1 KB of JSON each), from "
                f"{ctx['memory_threads']} threads sharing the store; one run."
            ),
            "baseline": None,
            "stores": [THIS],
            "figures": [
                fig("idle", "rss_mib_idle", got["idle"]),
                fig("after 10k warm-up", "rss_mib_after", got["after_warmup"]),
                fig(label, "rss_mib_after", got["after"]),
                fig(label, "rss_mib_growth", growth),
            ],
            # As the C, Node and Rust memory benches: no growth after warm-up, within 1 MiB.
            "targets": [
                {
                    "scenario": label,
                    "metric": "rss_mib_growth",
                    "store": THIS,
                    "max_value": MAX_GROWTH_MIB,
                }
            ],
            "notes": ["Growth is the RSS after the calls minus the RSS after the warm-up."],
        },
    )


def worker(job: str, kind: str, ctx: dict[str, Any]) -> dict[str, Any]:
    ctx["requests"] = {int(k): v for k, v in ctx["requests"].items()}
    ctx["proxy"] = Proxy(ctx["proxy"]) if ctx.get("proxy") else None
    if job == "memory":
        return run_memory(ctx)
    return RUNNERS[job](kind, ctx)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        sys.path.insert(0, str(HERE))
        print(json.dumps(worker(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))))
    else:
        main()
