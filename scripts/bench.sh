#!/usr/bin/env bash
# The benchmarks (`make bench`): this package against connect-dynamodb@3.0.5, side by side,
# against one fresh DynamoDB Local, in one run. Prints medians and ratios; never fails on a
# target, only on an error.
#
#   scripts/bench.sh                   build the release addon, then run bindings-node/bench/bench.js
#   BENCH_SKIP_BUILD=1 scripts/bench.sh   reuse the last release build
#
# The bench loads the release library from target/ through a private copy (napi-rs's
# NAPI_RS_NATIVE_LIBRARY_PATH), not bindings-node/*.node: that file has the same name for debug
# and release builds, and a concurrent debug build (make test) would silently replace it.
#
# Assumes the Node dependencies are installed (`npm ci` in bindings-node/). Knobs of the bench
# itself: see the head of bindings-node/bench/bench.js.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# The same target as the Makefile's builds, so the release build shares their layout.
target=${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}

if [[ ! -d bindings-node/node_modules/autocannon || ! -d bindings-node/node_modules/connect-dynamodb ]]; then
  echo "bench: the Node dependencies are missing: run \`npm ci\` in bindings-node/ first" >&2
  exit 1
fi

if [[ -z ${BENCH_SKIP_BUILD:-} ]]; then
  echo "bench: building the release addon (takes minutes from cold)" >&2
  (cd bindings-node && CARGO_BUILD_TARGET=$target \
    npx napi build --platform --release --js native.js --dts native.d.ts)
fi

release=target/$target/release/libconnect_dynamodb_node.so
[[ -f $release ]] || { echo "bench: no release build at $release" >&2; exit 1; }
stage=$(mktemp -d "${TMPDIR:-/tmp}/connect-dynamodb-bench.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp "$release" "$stage/connect-dynamodb.release.node"

NAPI_RS_NATIVE_LIBRARY_PATH=$stage/connect-dynamodb.release.node \
  scripts/dynamodb-local.sh run -- node bindings-node/bench/bench.js "$@"
