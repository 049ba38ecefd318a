#!/usr/bin/env bash
# The Python benchmark (`make bench-python`): the Flask, Django and Starlette integrations beside a
# boto3 store (Flask-Session 0.8.0's DynamoDB backend for Flask) and each framework's in-memory
# sessions, plus the memory of a process using the store, against one fresh DynamoDB Local, in
# one run (bench.py; with BENCH_OUT set, it writes its JSON results into that directory).
#
# Builds the wheel in release mode into .cache/python-bench-wheels and installs it into its own
# virtual environment (.cache/python-bench-venv, with the pinned requirements-dev.txt), so the
# test environment keeps its debug wheel. BENCH_SKIP_BUILD=1 reuses the last release wheel.
# With --profile it runs scripts/profile.py's Flask, Django and Starlette profiles instead
# (`make profile`).
# Knobs of the bench itself: see the head of bench.py.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
started=$(date +%s)
target=${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}
test_venv=.cache/python-venv
venv=.cache/python-bench-venv
wheels=.cache/python-bench-wheels
py=$venv/bin/python
stamp=$venv/.requirements-dev.stamp

[[ -x $test_venv/bin/maturin ]] || { echo "bench: run \`make python-venv\` first (it makes $test_venv)" >&2; exit 1; }

if [[ ! -f $stamp || bindings-python/requirements-dev.txt -nt $stamp ]]; then
  test -x $py || python3 -m venv $venv
  $py -m pip install --quiet --disable-pip-version-check -r bindings-python/requirements-dev.txt
  touch $stamp
fi

if [[ -z ${BENCH_SKIP_BUILD:-} ]]; then
  echo "bench: building the release wheel (takes minutes from cold)" >&2
  rm -rf $wheels
  $test_venv/bin/maturin build --release --manifest-path bindings-python/Cargo.toml \
    --target "$target" --interpreter $py --out $wheels
fi
$py -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
  $wheels/connect_dynamodb-*.whl

if [[ ${1:-} == --profile ]]; then
  # `make profile`: where a Flask, Django and Starlette request's CPU goes, in the same environment.
  scripts/dynamodb-local.sh run -- $py scripts/profile.py flask django starlette
else
  scripts/dynamodb-local.sh run -- $py bindings-python/bench/bench.py "$@"
fi
echo "bench-python: $(( $(date +%s) - started )) s in all (build included)"
