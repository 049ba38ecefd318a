"""The Flask example (bindings-python/examples/flask_app.py) plus a route that holds its worker
until the test releases it, so the test can make the other worker answer."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))

from flask import jsonify, request, session
from flask_app import app


@app.get("/hold")
def hold() -> Any:
    """Reads the session, writes ``<dir>/held`` and waits (20 s at most) for ``<dir>/release``."""
    directory = Path(request.args["dir"])
    user = session.get("user")
    (directory / "held").write_text(str(os.getpid()))
    deadline = time.monotonic() + 20
    while not (directory / "release").exists():
        if time.monotonic() > deadline:
            return jsonify(error="never released"), 500
        time.sleep(0.01)
    return jsonify(pid=os.getpid(), user=user)
