#!/usr/bin/env python3
"""Where a store call's CPU goes (`make profile`): two profiles, written as results files of
`make bench` for BENCHMARKS.md.

    scripts/profile.py core     perf samples of core/examples/call_profile (release), a get and
                                a set of a 1 KB and a 50 KB session, each on a current-thread
                                runtime: the CPU per call split by the code it ran in
                                (profile-core.json)
    scripts/profile.py flask    thread CPU of each step of a Flask request through the Python
                                face (release wheel), read-only and write, 1 KB and 50 KB
                                (profile-flask.json)

Run inside `scripts/dynamodb-local.sh run` (it sets DYNAMODB_ENDPOINT). BENCH_OUT: the
directory of the results files (default benchmarks/results). `core` needs Linux perf (Debian's
linux-perf; it is installed with apt-get when missing) and the release example
(PROFILE_EXAMPLE, its path); `flask` runs in the Python bench's environment (the release wheel
and Flask), which `make profile` prepares. Knobs: PROFILE_CALLS (calls per core profile,
default 3000), PROFILE_REQUESTS (requests per Flask scenario, default 400 at 1 KB, half that at
50 KB), PROFILE_ROUNDS (Flask rounds, a fresh app each, default 5; the median is reported).
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
from typing import Any

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


# Flask --------------------------------------------------------------------------------------

# The steps of a request, timed by wrapping them (thread CPU); what no step covers is Flask's,
# Werkzeug's, the test client's and the view's.
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
    import connect_dynamodb
    import connect_dynamodb.contrib.flask as contrib
    import flask
    from connect_dynamodb import SessionStore

    bench = _bench()
    machine = bench._machine()
    machine["runtimes"].update(
        connect_dynamodb=connect_dynamodb.__version__, flask=importlib.metadata.version("flask")
    )
    endpoint = os.environ["DYNAMODB_ENDPOINT"]
    rounds = int(os.environ.get("PROFILE_ROUNDS", "5"))
    requests = int(os.environ.get("PROFILE_REQUESTS", "400"))
    table = f"profile-flask-{os.getpid()}"
    store = SessionStore(table, endpoint=endpoint)
    store.create_table()
    # The table stays in DynamoDB Local, which `scripts/dynamodb-local.sh run` throws away.
    runs: dict[tuple[str, str], list[float]] = defaultdict(list)
    for _ in range(rounds):
        for kb in (1, 50):
            for access in ("read-only", "write"):
                totals = _flask_round(
                    flask, contrib, bench, store, kb, access, requests if kb == 1 else requests // 2
                )
                scenario = f"{kb} KB, {access}"
                for step, value in totals.items():
                    runs[(scenario, step)].append(round(value, 2))
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
    write(
        {
            "bench": "profile-flask",
            "title": (
                "Where a request's CPU goes: Flask 3.1 with this store, 1 KB and 50 KB sessions"
            ),
            "machine": machine,
            "date": now_iso(),
            "method": (
                "One Flask app with DynamoDBSessionInterface (release wheel, Flask's default "
                "refresh on every request), the bench's session (a user, flags and a cart), served "
                f"through Flask's test client in this process: {requests} requests per scenario "
                "at 1 KB, half that at 50 KB, after 20 untimed, in each of "
                f"{rounds} rounds with a fresh app. Each step is timed by wrapping it (thread CPU, "
                "time.thread_time_ns), the store's own calls included; `all` is the whole "
                "request, and the last step is what no other covers. The read-only view reads "
                "the user and the cart's length; the write view also counts a key up. Medians of "
                "the rounds; DynamoDB Local shares the machine and is not counted. The totals are "
                "of this run's machine and day: compare the split, not the totals, with the "
                "Flask bench above."
            ),
            "baseline": None,
            "stores": ["all", *FLASK_STEPS],
            "figures": figures,
            "targets": [],
            "notes": [
                "A store call costs more inside a request than in a loop of calls (the caches the "
                "SDK's long code path leaves cold); the split shows it as the store's steps, the "
                "rest of the request growing with them.",
            ],
        }
    )


def _flask_round(
    flask: Any, contrib: Any, bench: Any, store: Any, kb: int, access: str, requests: int
) -> dict[str, float]:
    """One scenario in a fresh app: µs of thread CPU per request, by step."""
    from datetime import timedelta

    app = flask.Flask(f"profile-{kb}-{access}")
    app.secret_key = "profile secret"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=1)
    interface = contrib.DynamoDBSessionInterface(store)
    app.session_interface = interface
    session = flask.session

    @app.post("/login")
    def login() -> Any:
        session.permanent = True
        session.update(bench.session_data(kb))
        return flask.jsonify(ok=True)

    @app.get("/read")
    def read() -> Any:
        return flask.jsonify(user=session.get("user"), items=len(session.get("cart", ())))

    @app.post("/write")
    def write_view() -> Any:
        session["n"] = session.get("n", 0) + 1
        return flask.jsonify(user=session.get("user"), n=session["n"])

    client = app.test_client()
    if client.post("/login").status_code != 200:
        raise RuntimeError("login failed")
    call = (
        (lambda: client.get("/read")) if access == "read-only" else (lambda: client.post("/write"))
    )

    spent: dict[str, int] = defaultdict(int)

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time_ns()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.thread_time_ns() - started

        return wrapper

    class TimedStore:
        """The store, its calls timed."""

        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            value = getattr(self._inner, name)
            if name == "get":
                return timed("store.get", value)
            if name in ("save", "touch"):
                return timed("store.save or store.touch", value)
            return value

    for _ in range(20):
        call()
    interface._store = TimedStore(store)
    patched = {
        (contrib, "parse_natively"): "reading the stored text",
        # json's reading of a text the native reader leaves (Flask calls it without native=True,
        # so it never runs parse_natively inside: nothing is counted twice).
        (contrib, "parse"): "reading the stored text",
        (interface, "_changed_text"): "finding the changes",
        (interface, "open_session"): "open_session",
        (interface, "save_session"): "save_session",
    }
    originals = {key: getattr(*key) for key in patched}
    for (owner, attribute), name in patched.items():
        setattr(owner, attribute, timed(name, getattr(owner, attribute)))
    try:
        started = time.thread_time_ns()
        for _ in range(requests):
            response = call()
            if response.status_code != 200:
                raise RuntimeError(f"unexpected status {response.status_code}")
        total = time.thread_time_ns() - started
    finally:
        for (owner, attribute), original in originals.items():
            setattr(owner, attribute, original)
        interface._store = store
    steps = {
        "store.get": spent["store.get"],
        "reading the stored text": spent["reading the stored text"],
        "finding the changes": spent["finding the changes"],
        "store.save or store.touch": spent["store.save or store.touch"],
    }
    steps["the rest of open_session"] = (
        spent["open_session"] - spent["store.get"] - spent["reading the stored text"]
    )
    steps["the rest of save_session"] = (
        spent["save_session"] - spent["finding the changes"] - spent["store.save or store.touch"]
    )
    steps["Flask, Werkzeug and the view"] = total - spent["open_session"] - spent["save_session"]
    result = {name: value / requests / 1000 for name, value in steps.items()}
    result["all"] = total / requests / 1000
    return result


def main() -> None:
    which = sys.argv[1:] or ["core", "flask"]
    for name in which:
        if name == "core":
            profile_core()
        elif name == "flask":
            profile_flask()
        else:
            sys.exit(f"profile: unknown profile {name!r} (core, flask)")


if __name__ == "__main__":
    main()
