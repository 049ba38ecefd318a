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


def _download_sdist(version: str, directory: Path) -> Path:
    """The sdist of Django ``version`` in ``directory``, fetched with the venv's pip if absent."""

    def found() -> Path | None:
        # Django's sdists are named django-X.tar.gz since 5.1, Django-X.tar.gz before.
        names = [
            p for p in directory.glob("*.tar.gz") if p.name.lower() == f"django-{version}.tar.gz"
        ]
        return names[0] if names else None

    sdist = found()
    if sdist is not None:
        return sdist
    directory.mkdir(parents=True, exist_ok=True)
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
            "--disable-pip-version-check",
            "--timeout",
            "30",
            "--retries",
            "3",
            "-d",
            str(directory),
        ],
        check=True,
        timeout=600,
    )
    sdist = found()
    assert sdist is not None, f"pip left no Django {version} sdist in {directory}"
    return sdist


def _tests_source(cache: Path) -> Path:
    version = django.__version__
    target = cache / f"django-{version}-sessions-tests.py"
    if target.exists():
        return target
    download = cache / f"django-{version}-sdist"
    member = "tests/sessions_tests/tests.py"
    for attempt in range(2):
        sdist = _download_sdist(version, download)
        try:
            with tarfile.open(sdist) as archive:
                # The top directory is named like the archive (django-X or Django-X).
                name = next(n for n in archive.getnames() if n.endswith("/" + member))
                extracted = archive.extractfile(name)
                assert extracted is not None, f"{member} is missing from {sdist.name}"
                text = extracted.read()
            break
        except (tarfile.TarError, EOFError, StopIteration):
            # A damaged or cut-short download: fetched once more.
            sdist.unlink()
            if attempt == 1:
                raise
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
