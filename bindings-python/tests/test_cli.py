"""``python -m connect_dynamodb`` (``connect_dynamodb.__main__``) against DynamoDB Local, beside
``npx connect-dynamodb``: both run the core's commands, so with the same arguments on the same
table they print the same bytes and exit with the same status, failures included. (The
commands themselves are tested in ``core/tests/cli.rs``.)"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from connect_dynamodb import _native
from connect_dynamodb.__main__ import main

NODE_DIR = Path(__file__).resolve().parents[2] / "bindings-node"
BIN = NODE_DIR / "bin" / "connect-dynamodb.js"
# No keys from the environment of whoever runs the tests.
ENV = {**os.environ, "CONNECT_DYNAMODB_ENCRYPTION_KEYS": "", "CONNECT_DYNAMODB_ID_HASH_KEY": ""}


def run(command: list[str], args: list[str]) -> tuple[int, str, str]:
    done = subprocess.run(
        [*command, *args], capture_output=True, text=True, env=ENV, timeout=60, check=False
    )
    return done.returncode, done.stdout, done.stderr


def python(args: list[str]) -> tuple[int, str, str]:
    return run([sys.executable, "-m", "connect_dynamodb"], args)


def node(args: list[str]) -> tuple[int, str, str]:
    executable = shutil.which("node")
    assert executable, "node is needed to compare with the Node face"
    assert list(NODE_DIR.glob("connect-dynamodb.*.node")), "run `make node-build` first"
    return run([executable, str(BIN)], args)


def test_python_and_node_print_the_same_bytes(
    endpoint: str, table_name: str, dynamodb: Any
) -> None:
    table = table_name
    target = ["--table", table, "--endpoint", endpoint, "--user-field", "userId"]
    assert python(["create-table", *target]) == (
        0,
        f"table {table}: created\nfit for sessions\n",
        "",
    )
    future = str(math.ceil(time.time()) + 86400)
    for item in [
        {"id": "sess:a", "sess": '{"userId":"ada"}', "created": "1700000000", "user": "ada"},
        {"id": "sess:b", "sess": "x" * 2000, "created": "1700000100"},
        {"id": "sess:c", "sess": "null", "ended": "1700000000"},
        {"id": "sess:d"},
    ]:
        raw = {k: ({"N": v} if k in ("created", "ended") else {"S": v}) for k, v in item.items()}
        dynamodb.put_item(TableName=table, Item={**raw, "expires": {"N": future}})

    cases: list[tuple[list[str], int]] = [
        (["create-table", *target], 0),
        (["verify", *target], 0),
        (["stats", *target], 0),
        (["stats", "--json", *target], 0),
        (["reap", "--json", *target], 0),
        (["end-user-sessions", "nobody", *target], 0),
        (["iac", "--format", "terraform", *target], 0),
        (["iac", "--format=cloudformation", *target], 0),
        (["-h"], 0),
        (["rotate-keys", "--help"], 0),
        (["stats", "extra", *target], 2),
        (["", *target], 2),
        (["stats", "--table", f"{table}-missing", "--endpoint", endpoint], 14),
        (["end-user-sessions", "ada", "--except", "", *target], 11),
        (["rotate-keys", *target], 10),
    ]
    for args, status in cases:
        from_python = python(args)
        assert from_python[0] == status, (args, from_python[2])
        assert node(args) == from_python, args
        if status == 0:
            assert from_python[1], args
        else:
            assert from_python[2].startswith("connect-dynamodb: "), args

    stats = json.loads(python(["stats", "--json", *target])[1])
    assert [stats[k] for k in ("items", "live", "expired", "tombstones", "other")] == [
        4,
        2,
        0,
        1,
        1,
    ]
    assert stats["newest"] == {"at": "2023-11-14T22:15:00Z", "epoch": 1700000100, "by": "created"}
    # With the user index: ada's one session ends, from either face.
    assert python(["end-user-sessions", "ada", *target])[1] == (
        f"table {table}: ended 1 sessions of the user\n"
    )


def test_progress_goes_to_stderr_only(endpoint: str, table_name: str) -> None:
    target = ["--table", table_name, "--endpoint", endpoint]
    assert python(["create-table", *target])[0] == 0
    status, out, err = python(["reap", "--json", "--progress", "1", *target])
    assert status == 0
    assert json.loads(out) == {"table": table_name, "scanned": 0, "deleted": 0}
    assert err
    for line in err.splitlines():
        assert line.startswith("connect-dynamodb reap: ") and line.endswith(" items scanned")


def test_run_cli_writes_to_the_file_descriptors(capfd: pytest.CaptureFixture[str]) -> None:
    assert _native.run_cli(["iac", "--format", "terraform"]) == 0
    out, err = capfd.readouterr()
    assert out.startswith('resource "aws_dynamodb_table" "sessions" {\n')
    assert err == ""
    assert main(["--bogus"]) == 2
    out, err = capfd.readouterr()
    assert (out, err.splitlines()[0]) == ("", "connect-dynamodb: unknown option `--bogus`")
