"""Django's own session backend tests (``SessionTestsMixin``), taken from Django's source.

The mixin lives in ``tests/sessions_tests/tests.py`` of Django's source distribution, which the
wheel does not ship. :func:`load_session_tests_mixin` fetches the sdist of the installed Django
version from PyPI once (``pip download --no-binary :all:``) into the cache directory, and
executes the mixin class from that file, with that file's own imports, so the tests run exactly
as Django wrote them.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import django

MIXIN = "SessionTestsMixin"


def _tests_source(cache: Path) -> Path:
    version = django.__version__
    target = cache / f"django-{version}-sessions-tests.py"
    if target.exists():
        return target
    download = cache / f"django-{version}-sdist"
    download.mkdir(parents=True, exist_ok=True)
    sdist = download / f"django-{version}.tar.gz"
    if not sdist.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                f"django=={version}",
                "--no-binary",
                ":all:",
                "--no-deps",
                "--quiet",
                "-d",
                str(download),
            ],
            check=True,
            timeout=600,
        )
    member = f"django-{version}/tests/sessions_tests/tests.py"
    with tarfile.open(sdist) as archive:
        extracted = archive.extractfile(member)
        assert extracted is not None, f"{member} is missing from the sdist"
        text = extracted.read()
    partial = target.with_suffix(".partial")
    partial.write_bytes(text)
    partial.replace(target)
    return target


def load_session_tests_mixin(cache: Path) -> tuple[type, Path]:
    """Django's ``SessionTestsMixin`` class and the file it came from."""
    path = _tests_source(cache)
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    body: list[ast.stmt] = []
    for node in tree.body:
        # The file's absolute imports (its relative `.models` import is for other backends),
        # then the mixin itself.
        if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and node.level == 0):
            body.append(node)
        elif isinstance(node, ast.ClassDef) and node.name == MIXIN:
            body.append(node)
    module = ast.Module(body=body, type_ignores=[])
    namespace: dict[str, Any] = {"__name__": "django_sessions_tests"}
    exec(compile(module, str(path), "exec"), namespace)
    return namespace[MIXIN], path
