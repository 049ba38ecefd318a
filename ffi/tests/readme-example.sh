#!/usr/bin/env bash
# Prints the README's C example (the ```c block under "## Quick start (C)"), which the C suite
# (ffi/tests/run.sh) and the release checks (scripts/dist-check.sh) compile and run; fails if
# the README has none.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
example=$(awk '/^## Quick start \(C\)/ {on = 1} on && /^```c$/ {code = 1; next} code && /^```$/ {exit} code' README.md)
[[ -n $example ]] || { echo "no C example found under '## Quick start (C)' in README.md" >&2; exit 1; }
printf '%s\n' "$example"
