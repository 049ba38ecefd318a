"""The installed wheel in a round trip (scripts/dist-check.sh): run by a Python that has only
the wheel installed (a fresh venv on x86_64, arm64 CPython under qemu-user), against DynamoDB
Local (DYNAMODB_ENDPOINT). Set, get, touch and destroy one session; prints one JSON line and
exits non-zero on any mismatch."""

import datetime as dt
import json
import os
import platform

import connect_dynamodb
from connect_dynamodb import SessionStore

table = f"dist-{platform.machine()}-{os.getpid()}"
# Under qemu every instruction is emulated: give DynamoDB Local's answers time to arrive.
store = SessionStore(
    table, endpoint=os.environ["DYNAMODB_ENDPOINT"], region="us-east-1", operation_timeout=60
)
expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
store.set("dist-check-sid", '{"user": "ada"}', expires)
got = store.get("dist-check-sid")
assert got is not None and json.loads(got.data) == {"user": "ada"}, got
assert store.touch("dist-check-sid") in ("updated", "throttled")
store.destroy("dist-check-sid")
assert store.get("dist-check-sid") is None
print(
    json.dumps(
        {
            "ok": True,
            "machine": platform.machine(),
            "python": platform.python_version(),
            "module": connect_dynamodb._native.__file__,
        }
    )
)
