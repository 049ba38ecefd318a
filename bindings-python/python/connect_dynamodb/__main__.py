"""``python -m connect_dynamodb <command> [options]``: the ops CLI (``--help`` lists the commands).

The commands live in the native core, which writes their output to this process's standard
output and error itself, the same bytes as ``npx connect-dynamodb``; this module hands it the
arguments and exits with the status it returns.
"""

from __future__ import annotations

import sys

from connect_dynamodb import _native


def main(argv: list[str] | None = None) -> int:
    """Runs the command ``argv`` names (default: ``sys.argv[1:]``); returns the exit status."""
    # The core writes to the file descriptors: what Python buffered goes first.
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        return _native.run_cli(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
