#!/usr/bin/env python3
"""Where a store call's CPU goes (`make profile`): four profiles, written as results files of
`make bench` for BENCHMARKS.md.

    scripts/profile.py core       perf samples of core/examples/call_profile (release), a get
                                  and a set of a 1 KB and a 50 KB session, each on a
                                  current-thread runtime: the CPU per call split by the code it
                                  ran in (profile-core.json)
    scripts/profile.py flask      thread CPU of each step of a Flask request through the Python
                                  face (release wheel), read-only and write, 1 KB and 50 KB
                                  (profile-flask.json)
    scripts/profile.py django     the same for a Django request (profile-django.json)
    scripts/profile.py starlette  the same for a Starlette + starsessions request, the store's
                                  runtime threads as a step of their own (profile-starlette.json)

Without arguments it runs all four. Run inside `scripts/dynamodb-local.sh run` (it sets
DYNAMODB_ENDPOINT). BENCH_OUT: the directory of the results files (default benchmarks/results).
`core` needs Linux perf (Debian's linux-perf; it is installed with apt-get when missing) and the
release example (PROFILE_EXAMPLE, its path); the framework profiles run in the Python bench's
environment (the release wheel and the frameworks), which `make profile` prepares, and
`starlette` reads Linux's per-thread CPU time (/proc). Knobs: PROFILE_CALLS (calls per core
profile, default 3000), PROFILE_REQUESTS (requests per framework scenario, default 400 at 1 KB,
half that at 50 KB), PROFILE_ROUNDS (framework rounds, default 5; the median
is reported).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parent.parent

# The code a sample ran in, by its symbol (or its binary): the first rule that matches names
# it. Rust symbols carry their crate's path, generic ones those of their type parameters too
# (`drop_in_place<hyper::...>` is hyper's).
COMPONENTS: list[tuple[str, str]] = [
    ("kernel", r"^\[kernel|\[k\]"),
    (
        "SDK: JSON of the request and response",
        r"aws_smithy_json|protocol_serde|SerializeRequest|DeserializeResponse",
    ),
    ("SDK: SigV4 signing", r"aws_sigv4|sha2::|hmac::|SigV4"),
    ("HTTP client (hyper, http)", r"hyper|http_body|httparse|\bwant::|\bh2::|\bhttp::|\bbytes::"),
    (
        "SDK: orchestrator, retries, endpoint, user agent",
        r"aws_smithy|aws_runtime|aws_sdk_dynamodb|aws_types|aws_credential_types|aws_config|tracing",
    ),
    ("Tokio", r"tokio::|\bmio::"),
    # serde's IgnoredAny visitor is the check's too (its symbols need not name serde_json).
    ("core: JSON text check (serde_json)", r"serde_json::|IgnoredAny"),
    ("core", r"connect_dynamodb"),
    (
        "allocator and memcpy",
        r"malloc|\bfree\b|_int_free|cfree|realloc|calloc|\bmi_|mimalloc|memmove|memcpy|memset|memcmp",
    ),
]
# Inlined or generic code of Rust's std (formatting, hashing, collections) and libc's other
# functions: a flat profile cannot tell whose work they did.
OTHER = "Rust std and libc, not attributed"


def component(dso: str, symbol: str) -> str:
    """The component a perf sample's symbol belongs to."""
    text = f"{dso} {symbol}"
    for name, pattern in COMPONENTS:
        if re.search(pattern, text):
            return name
    return OTHER


def ensure_perf() -> str:
    """The perf binary, installed from Debian (linux-perf) when missing."""
    found = shutil.which("perf")
    if found:
        return found
    if not shutil.which("apt-get"):
        sys.exit("profile: no perf and no apt-get: install Linux perf")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("profile: installing Debian's linux-perf", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "linux-perf"],
        check=True,
        env=env,
    )
    found = shutil.which("perf")
    if not found:
        sys.exit("profile: perf is still not on PATH")
    return found


def _bench() -> Any:
    """bindings-python/bench/bench.py (the standard library only, at import): the Python
    bench's machine description, results writer and session, which the profiles share."""
    sys.path.insert(0, str(ROOT / "bindings-python/bench"))
    import bench

    return bench


def write(results: dict[str, Any]) -> None:
    _bench()._write(os.environ.get("BENCH_OUT") or str(ROOT / "benchmarks/results"), results)


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# The core -----------------------------------------------------------------------------------


def profile_core() -> None:
    perf = ensure_perf()
    example = os.environ.get("PROFILE_EXAMPLE") or str(
        ROOT / "target/release/examples/call_profile"
    )
    calls = os.environ.get("PROFILE_CALLS", "3000")
    figures = []
    for kb in (1, 50):
        for call in ("get", "set"):
            scenario = f"{call}, {kb} KB"
            with tempfile.TemporaryDirectory() as tmp:
                data = Path(tmp) / "perf.data"
                env = {
                    **os.environ,
                    "PROFILE_CALL": call,
                    "PROFILE_BYTES": str(kb * 1024),
                    "PROFILE_CALLS": calls,
                }
                run = subprocess.run(
                    [
                        perf,
                        "record",
                        "-q",
                        "-e",
                        "cpu-clock",
                        "-F",
                        "4999",
                        "-o",
                        str(data),
                        example,
                    ],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                measured = json.loads(run.stdout.strip().splitlines()[-1])
                report = subprocess.run(
                    [
                        perf,
                        "report",
                        "-i",
                        str(data),
                        "--no-children",
                        "--sort",
                        "dso,symbol",
                        "--stdio",
                        "-q",
                        "--percent-limit",
                        "0",
                        "--field-separator",
                        "|",
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            shares: dict[str, float] = defaultdict(float)
            for line in report.splitlines():
                parts = [p.strip() for p in line.split("|")]
                if len(parts) < 3 or not parts[0].endswith("%"):
                    continue
                shares[component(parts[1], parts[2])] += float(parts[0].rstrip("%"))
            total = sum(shares.values()) or 1.0
            per_call = measured["cpu_us_per_call"]
            figures.append(
                {
                    "scenario": scenario,
                    "store": "all",
                    "metric": "cpu_us_per_call",
                    "median": round(per_call, 2),
                    "runs": [round(per_call, 2)],
                }
            )
            for name, share in shares.items():
                value = round(per_call * share / total, 2)
                figures.append(
                    {
                        "scenario": scenario,
                        "store": name,
                        "metric": "cpu_us_per_call",
                        "median": value,
                        "runs": [value],
                    }
                )
            top = sorted(shares.items(), key=lambda kv: -kv[1])[:3]
            print(
                f"profile: {scenario}: {per_call:.0f} µs per call; "
                + ", ".join(f"{n} {s / total:.0%}" for n, s in top),
                file=sys.stderr,
            )
    stores = ["all"] + [name for name, _ in COMPONENTS] + [OTHER]
    present = {f["store"] for f in figures}
    write(
        {
            "bench": "profile-core",
            "title": "Where a call's CPU goes: the Rust core, get and set, 1 KB and 50 KB sessions",
            "machine": _bench()._machine(),
            "date": now_iso(),
            "method": (
                "core/examples/call_profile (release) calls SessionStore::get or ::set of the web "
                f"shop session of the other benches, {calls} times after 100 untimed, one after "
                "another on a current-thread Tokio runtime, against DynamoDB Local; `all` is the "
                "process's CPU per call (getrusage, user + system). perf samples the process "
                "(cpu-clock, 4999 Hz, self time of each symbol) and each symbol is counted in the "
                "component its crate belongs to (scripts/profile.py); a component's figure is its "
                "share of the samples times the CPU per call. The samples include the set-up "
                "before the timed calls (under a tenth of the run). One run; DynamoDB Local "
                "shares the machine and is not counted. The totals are of this run's machine "
                "and day: compare the split, not the totals, with the other sections."
            ),
            "baseline": None,
            "stores": [s for s in stores if s in present],
            "figures": figures,
            "targets": [],
            "notes": [
                "At 50 KB the SDK's JSON dominates: escaping the session's text into the PutItem "
                "body (aws_smithy_json's escape_string, a byte at a time) on a set, unescaping it "
                "from the GetItem response on a get. The core's own largest part is its check "
                "that a text is JSON (serde_json): on every set, and on a get of a text other "
                "than the one the store last wrote or read for the session (which it compares "
                "instead; the calls here read what they wrote).",
            ],
        }
    )


# The Python faces ---------------------------------------------------------------------------

# Each framework's request is split into steps, timed by wrapping the functions that do them
# (thread CPU); what no step covers is the framework's, its test client's and the view's. The
# steps of an asyncio store's calls count the event loop's thread, and the store's runtime
# threads (which make the DynamoDB calls) are a step of their own, read from Linux per thread.
RUNTIME_THREADS = "the store's runtime threads (the DynamoDB calls)"
# Python's cyclic garbage collector, inside whichever step allocated when it ran: not a step of
# its own, and not counted in `all` a second time.
GC = "of which Python's garbage collector (inside the steps above)"


class _Spent:
    """Thread CPU (ns) by step, with wrappers that time a function or coroutine function."""

    def __init__(self) -> None:
        self.ns: dict[str, int] = defaultdict(int)

    def timed(self, name: str, function: Any) -> Any:
        spent = self.ns

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time_ns()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.thread_time_ns() - started

        return wrapper

    def timed_async(self, name: str, function: Any) -> Any:
        """For a coroutine function: the thread CPU from its start to its end, on the loop's
        thread (what the loop ran meanwhile included: in the profile's one request at a time,
        the hand-over of the call's outcome)."""
        spent = self.ns

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time_ns()
            try:
                return await function(*args, **kwargs)
            finally:
                spent[name] += time.thread_time_ns() - started

        return wrapper


class _TimedStore:
    """A store whose get and whose save and touch are timed as steps (``asyncio``: awaited)."""

    def __init__(self, inner: Any, spent: _Spent, asyncio: bool = False) -> None:
        self._inner = inner
        self._spent = spent
        self._wrap = spent.timed_async if asyncio else spent.timed

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name == "get":
            return self._wrap("store.get", value)
        if name in ("save", "touch"):
            return self._wrap("store.save or store.touch", value)
        return value


class _Patched:
    """Sets attributes (a step's timed function) for the timed requests, and restores them."""

    def __init__(self, values: dict[tuple[Any, str], Any]) -> None:
        self.values = values
        self.originals: dict[tuple[Any, str], Any] = {}

    def __enter__(self) -> None:
        for (owner, attribute), value in self.values.items():
            self.originals[(owner, attribute)] = owner.__dict__.get(attribute, _MISSING)
            setattr(owner, attribute, value)

    def __exit__(self, *_: object) -> None:
        for (owner, attribute), original in self.originals.items():
            if original is _MISSING:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)


_MISSING = object()


def _runtime_threads() -> dict[int, int]:
    """CPU time (ns) by thread id of this process's threads that run the store's Tokio runtime
    (named connect-dynamodb, or tokio-runtime-worker; Linux truncates names to 15 bytes), from
    Linux (/proc/self/task/*/schedstat)."""
    spent = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            if name.startswith(("connect-dynamod", "tokio-runtime-w")):
                spent[int(task.name)] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return spent


def _runtime_thread_ns(before: dict[int, int], after: dict[int, int]) -> int:
    """The runtime threads' CPU between two readings, thread by thread: a thread that started
    meanwhile counts from zero; one that ended meanwhile (a blocking-pool thread idle for a
    while) is left out, its CPU before the first reading never taken off."""
    return sum(ns - before.get(tid, 0) for tid, ns in after.items())


class _GcTime:
    """Thread CPU (ns) spent in Python's cyclic garbage collector while counting."""

    def __init__(self) -> None:
        self.ns = 0
        self._started = 0
        self.counting = False

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if not self.counting:
            return
        if phase == "start":
            self._started = time.thread_time_ns()
        else:
            self.ns += time.thread_time_ns() - self._started

    def __enter__(self) -> Self:
        import gc

        gc.callbacks.append(self)
        self.counting = True
        return self

    def __exit__(self, *_: object) -> None:
        import gc

        self.counting = False
        gc.callbacks.remove(self)


def _profile_python(
    bench_name: str,
    title: str,
    runtimes: dict[str, str],
    method: str,
    steps: list[str],
    notes: list[str],
    run_round: Any,
) -> None:
    """Runs ``run_round(kb, access, requests)`` (µs per request by step, ``all`` included) for
    each round, size and access, and writes the medians as the results file ``bench_name``."""
    import connect_dynamodb

    bench = _bench()
    machine = bench._machine()
    machine["runtimes"].update(connect_dynamodb=connect_dynamodb.__version__, **runtimes)
    rounds = int(os.environ.get("PROFILE_ROUNDS", "5"))
    requests = int(os.environ.get("PROFILE_REQUESTS", "400"))
    runs: dict[tuple[str, str], list[float]] = defaultdict(list)
    for _ in range(rounds):
        for kb in (1, 50):
            for access in ("read-only", "write"):
                totals = run_round(kb, access, requests if kb == 1 else requests // 2)
                for step, value in totals.items():
                    runs[(f"{kb} KB, {access}", step)].append(round(value, 2))
    figures = []
    for (scenario, step), values in runs.items():
        ordered = sorted(values)
        figures.append(
            {
                "scenario": scenario,
                "store": step,
                "metric": "cpu_us_per_request",
                "median": ordered[len(ordered) // 2],
                "runs": values,
            }
        )
    medians = {(f["scenario"], f["store"]): f["median"] for f in figures}
    shares = {
        kb: sorted(
            round(
                100 * medians[(f"{kb} KB, {access}", GC)] / medians[(f"{kb} KB, {access}", "all")]
            )
            for access in ("read-only", "write")
        )
        for kb in (1, 50)
    }

    def percent(low: int, high: int) -> str:
        if high < 1:
            return "under 1%"
        return f"{low}%" if low == high else f"{low}-{high}%"

    gc_note = (
        "Python's cyclic garbage collector ran for "
        + " and ".join(
            f"{percent(low, high)} of a {kb} KB request's CPU" for kb, (low, high) in shares.items()
        )
        + ": decoding a session allocates its objects, which sets off collections of the "
        "youngest generation that walk them; the session's objects, alive until the request "
        "ends, survive into the older generations, whose collections walk more of the heap "
        "(the oldest's, all of it)."
    )
    write(
        {
            "bench": bench_name,
            "title": title,
            "machine": machine,
            "date": now_iso(),
            "method": (
                f"{method} {requests} requests per scenario at 1 KB, half that at 50 KB, after "
                f"20 untimed, in each of {rounds} rounds; the bench's session "
                "(a user, flags and a cart). Each step on the thread that serves the request is "
                "timed by wrapping it (thread CPU, time.thread_time_ns), the store's own calls "
                "included; `all` is the whole "
                "request, and the last step before the garbage collector's row is what no "
                "other covers. The read-only view reads the user and the cart's length; the "
                "write view also counts a key up. The garbage collector's row is the time "
                "Python's cyclic collector ran (gc.callbacks), which the steps above already "
                "hold. Medians of the rounds; DynamoDB Local shares the machine and is not "
                "counted. The totals are of this run's machine and day: compare the split, not "
                "the totals, with the framework's bench above."
            ),
            "baseline": None,
            "stores": ["all", *steps, GC],
            "figures": figures,
            "targets": [],
            "notes": [
                "A store call costs more inside a request than in a loop of calls (the caches the "
                "SDK's long code path leaves cold); the split shows it as the store's steps, the "
                "rest of the request growing with them.",
                gc_note,
                *notes,
            ],
        }
    )


def _per_request(steps: dict[str, int], total: int, gc_ns: int, requests: int) -> dict[str, float]:
    result = {name: value / requests / 1000 for name, value in steps.items()}
    result["all"] = total / requests / 1000
    result[GC] = gc_ns / requests / 1000
    return result


def _view_call(client: Any, kb: int, access: str) -> Any:
    """Logs a blocking test client in with a ``kb`` KB session (the bench's views) and gives a
    call of the scenario's view, failing on any status but 200, after 20 untimed calls."""
    if client.post(f"/login?kb={kb}").status_code != 200:
        raise RuntimeError("login failed")
    respond = client.get if access == "read-only" else client.post
    path = "/read" if access == "read-only" else "/write"

    def call() -> None:
        status = respond(path).status_code
        if status != 200:
            raise RuntimeError(f"unexpected status {status}")

    for _ in range(20):
        call()
    return call


def _measure(
    call: Any,
    requests: int,
    spent: _Spent,
    patches: dict[tuple[Any, str], Any],
    load_and_save: tuple[str, str],
    names: list[str],
) -> dict[str, float]:
    """µs per request by step (``names``) of ``requests`` calls with ``patches`` (timed by
    ``spent``) in place, the garbage collector's time among them."""
    with _Patched(patches), _GcTime() as gc_time:
        started = time.thread_time_ns()
        for _ in range(requests):
            call()
        total = time.thread_time_ns() - started
    steps = _split(spent.ns, total, *load_and_save, names)
    return _per_request(steps, total, gc_time.ns, requests)


def _split(
    ns: dict[str, int], total: int, load: str, save: str, names: list[str]
) -> dict[str, int]:
    """A blocking face's steps (``names``, in the order of FLASK_STEPS) from the timed
    functions: the store's calls, the reading of the stored text inside ``load`` (the timed
    loading function), the finding of the changes inside ``save``, the rest of each, and what
    neither covers."""
    get, reading, rest_of_load, changes, write, rest_of_save, framework = names
    return {
        get: ns["store.get"],
        reading: ns["reading the stored text"],
        rest_of_load: ns[load] - ns["store.get"] - ns["reading the stored text"],
        changes: ns["finding the changes"],
        write: ns["store.save or store.touch"],
        rest_of_save: ns[save] - ns["finding the changes"] - ns["store.save or store.touch"],
        framework: total - ns[load] - ns[save],
    }


# Flask --------------------------------------------------------------------------------------

FLASK_STEPS = [
    "store.get",
    "reading the stored text",
    "the rest of open_session",
    "finding the changes",
    "store.save or store.touch",
    "the rest of save_session",
    "Flask, Werkzeug and the view",
]


def profile_flask() -> None:
    import connect_dynamodb.contrib.flask as contrib
    import flask
    from connect_dynamodb import SessionStore

    store = SessionStore(f"profile-flask-{os.getpid()}", endpoint=os.environ["DYNAMODB_ENDPOINT"])
    store.create_table()
    # The table stays in DynamoDB Local, which `scripts/dynamodb-local.sh run` throws away.
    _profile_python(
        "profile-flask",
        "Where a request's CPU goes: Flask 3.1 with this store, 1 KB and 50 KB sessions",
        {"flask": importlib.metadata.version("flask")},
        "One Flask app with DynamoDBSessionInterface (release wheel, Flask's default refresh on "
        "every request), a fresh app for each scenario of each round, served through Flask's "
        "test client in this process:",
        FLASK_STEPS,
        [],
        lambda kb, access, requests: _flask_round(flask, contrib, store, kb, access, requests),
    )


def _flask_round(
    flask: Any, contrib: Any, store: Any, kb: int, access: str, requests: int
) -> dict[str, float]:
    """One scenario in a fresh app: µs of thread CPU per request, by step."""
    from datetime import timedelta

    app = flask.Flask(f"profile-{kb}-{access}")
    app.secret_key = "profile secret"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=1)
    interface = contrib.DynamoDBSessionInterface(store)
    app.session_interface = interface
    _bench().flask_views(app)
    call = _view_call(app.test_client(), kb, access)
    spent = _Spent()
    return _measure(
        call,
        requests,
        spent,
        {
            (interface, "_store"): _TimedStore(store, spent),
            (contrib, "parse_natively"): spent.timed(
                "reading the stored text", contrib.parse_natively
            ),
            # json's reading of a text the native reader leaves (Flask calls it without
            # native=True, so it never runs parse_natively inside: nothing counts twice).
            (contrib, "parse"): spent.timed("reading the stored text", contrib.parse),
            (interface, "_changed_text"): spent.timed(
                "finding the changes", interface._changed_text
            ),
            (interface, "open_session"): spent.timed("open_session", interface.open_session),
            (interface, "save_session"): spent.timed("save_session", interface.save_session),
        },
        ("open_session", "save_session"),
        FLASK_STEPS,
    )


# Django -------------------------------------------------------------------------------------

DJANGO_STEPS = [
    "store.get",
    "reading the stored text",
    "the rest of load",
    "finding the changes",
    "store.save or store.touch",
    "the rest of save",
    "Django, its session middleware and the view",
]


def profile_django() -> None:
    import django

    bench = _bench()  # and bench.py's folder on sys.path: the URLs are django_bench's
    table = f"profile-django-{os.getpid()}"
    bench.configure_django(
        "connect_dynamodb.contrib.django",
        {"table": table, "endpoint": os.environ["DYNAMODB_ENDPOINT"]},
    )
    import connect_dynamodb.contrib.django as contrib

    contrib.get_store().create_table()
    _profile_python(
        "profile-django",
        "Where a request's CPU goes: Django 5.2 with this store, 1 KB and 50 KB sessions",
        {"django": django.__version__},
        "One Django app with the session engine connect_dynamodb.contrib.django (release "
        "wheel, Django's default: the session saved when it changed), a fresh test client (and "
        "session) for each scenario of each round, in this process:",
        DJANGO_STEPS,
        [],
        lambda kb, access, requests: _django_round(contrib, kb, access, requests),
    )


def _django_round(contrib: Any, kb: int, access: str, requests: int) -> dict[str, float]:
    """One scenario with a fresh client (and session): µs of thread CPU per request, by
    step."""
    from django.test import Client

    call = _view_call(Client(), kb, access)
    spent = _Spent()
    timed_store = _TimedStore(contrib.get_store(), spent)
    engine = contrib.SessionStore
    return _measure(
        call,
        requests,
        spent,
        {
            (contrib, "get_store"): lambda: timed_store,
            (contrib, "_decode"): spent.timed("reading the stored text", contrib._decode),
            (engine, "_text"): spent.timed("finding the changes", engine._text),
            (engine, "load"): spent.timed("load", engine.load),
            (engine, "save"): spent.timed("save", engine.save),
        },
        ("load", "save"),
        DJANGO_STEPS,
    )


# Starlette ----------------------------------------------------------------------------------

STARLETTE_STEPS = [
    "store.get (the event loop's thread)",
    "the rest of the store's read",
    "starsessions' JSON (loads and dumps)",
    "finding the changes",
    "store.save or store.touch (the event loop's thread)",
    "the rest of the store's write",
    RUNTIME_THREADS,
    "Starlette, starsessions, httpx and the view",
]


def profile_starlette() -> None:
    import asyncio

    import starlette
    from connect_dynamodb import AsyncSessionStore

    endpoint = os.environ["DYNAMODB_ENDPOINT"]
    table = f"profile-starlette-{os.getpid()}"

    async def create() -> None:
        await AsyncSessionStore(table, endpoint=endpoint).create_table()

    asyncio.run(create())
    _profile_python(
        "profile-starlette",
        "Where a request's CPU goes: Starlette 1.10 + starsessions 2.2 with this store, 1 KB "
        "and 50 KB sessions",
        {
            "starlette": starlette.__version__,
            "starsessions": importlib.metadata.version("starsessions"),
        },
        "One Starlette app with starsessions' SessionMiddleware (rolling) over "
        "connect_dynamodb.contrib.starlette.DynamoDBStore and an AsyncSessionStore (release "
        "wheel), a fresh app for each scenario of each round, served through httpx's "
        "ASGITransport in this process, one request at a time; "
        "the store's runtime threads are counted from Linux's per-thread CPU time "
        "(/proc/self/task/*/schedstat), `all` is the event loop's thread plus them:",
        STARLETTE_STEPS,
        [
            "The store's asyncio calls run on its runtime threads; on the event loop's thread a "
            "call costs its start, the hand-over of its outcome and the resumption of the "
            "awaiting task.",
        ],
        lambda kb, access, requests: asyncio.run(_starlette_round(table, kb, access, requests)),
    )


async def _starlette_round(table: str, kb: int, access: str, requests: int) -> dict[str, float]:
    """One scenario in a fresh app: µs of CPU per request (the loop's thread by step, and the
    store's runtime threads), by step."""
    import httpx
    from connect_dynamodb import AsyncSessionStore
    from connect_dynamodb.contrib import starlette as contrib
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starsessions import SessionAutoloadMiddleware, SessionMiddleware
    from starsessions.serializers import JsonSerializer

    inner = AsyncSessionStore(table, endpoint=os.environ["DYNAMODB_ENDPOINT"])
    store = contrib.DynamoDBStore(inner)
    app = Starlette(
        routes=_bench().starlette_routes(),
        middleware=[
            Middleware(
                SessionMiddleware,
                store=store,
                lifetime=86400,
                rolling=True,
                cookie_https_only=False,
            ),
            Middleware(SessionAutoloadMiddleware),
        ],
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        if (await client.post(f"/login?kb={kb}")).status_code != 200:
            raise RuntimeError("login failed")
        respond = client.get if access == "read-only" else client.post
        path = "/read" if access == "read-only" else "/write"

        async def call() -> None:
            status = (await respond(path)).status_code
            if status != 200:
                raise RuntimeError(f"unexpected status {status}")

        for _ in range(20):
            await call()
        spent = _Spent()
        patched = _Patched(
            {
                (store, "_store"): _TimedStore(store._store, spent, asyncio=True),
                (contrib, "_unchanged"): spent.timed("finding the changes", contrib._unchanged),
                (JsonSerializer, "serialize"): spent.timed(
                    "starsessions' JSON (loads and dumps)", JsonSerializer.serialize
                ),
                (JsonSerializer, "deserialize"): spent.timed(
                    "starsessions' JSON (loads and dumps)", JsonSerializer.deserialize
                ),
                (store, "read"): spent.timed_async("read", store.read),
                (store, "write"): spent.timed_async("write", store.write),
            }
        )
        with patched, _GcTime() as gc_time:
            runtime_started = _runtime_threads()
            started = time.thread_time_ns()
            for _ in range(requests):
                await call()
            loop_thread = time.thread_time_ns() - started
            runtime = _runtime_thread_ns(runtime_started, _runtime_threads())
    await inner.aclose()
    ns = spent.ns
    steps = {
        "store.get (the event loop's thread)": ns["store.get"],
        "the rest of the store's read": ns["read"] - ns["store.get"],
        "starsessions' JSON (loads and dumps)": ns["starsessions' JSON (loads and dumps)"],
        "finding the changes": ns["finding the changes"],
        "store.save or store.touch (the event loop's thread)": ns["store.save or store.touch"],
        "the rest of the store's write": ns["write"]
        - ns["finding the changes"]
        - ns["store.save or store.touch"],
        RUNTIME_THREADS: runtime,
        "Starlette, starsessions, httpx and the view": loop_thread
        - ns["read"]
        - ns["write"]
        - ns["starsessions' JSON (loads and dumps)"],
    }
    return _per_request(steps, loop_thread + runtime, gc_time.ns, requests)


def main() -> None:
    profiles = {
        "core": profile_core,
        "flask": profile_flask,
        "django": profile_django,
        "starlette": profile_starlette,
    }
    for name in sys.argv[1:] or list(profiles):
        if name not in profiles:
            sys.exit(f"profile: unknown profile {name!r} ({', '.join(profiles)})")
        profiles[name]()


if __name__ == "__main__":
    main()
