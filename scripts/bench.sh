#!/usr/bin/env bash
# The Node benchmarks (`make bench` runs this first), against one fresh DynamoDB Local and one
# fresh redis-server, in one run. Each prints medians and ratios against the peers measured in
# the same run; none fails on a target, only on an error.
#   bindings-node/bench/bench.js     this package against connect-dynamodb@3.0.5: DynamoDB
#                                    requests per view, CPU per store.get, express req/s
#   bindings-node/bench/express.js   express 5 + express-session, one app process per store:
#                                    MemoryStore, connect-redis 10, this package, 3.0.5; app CPU
#                                    and requests/s per request, DynamoDB requests and capacity
#   bindings-node/bench/memory.js    RSS of one process calling get/set/touch (node --expose-gc)
#
#   scripts/bench.sh                      build the release addon, then run the three benches
#   BENCH_SKIP_BUILD=1 scripts/bench.sh   reuse the last release build
#   BENCH_NODE="express memory" scripts/bench.sh   run only these (default: bench express memory)
#   BENCH_OUT=DIR scripts/bench.sh        also write DIR/node-express.json, DIR/profile-node.json
#                                         (the express apps' CPU by thread) and DIR/node-memory.json
#
# The benches load the release library from target/ through a private copy (napi-rs's
# NAPI_RS_NATIVE_LIBRARY_PATH), not bindings-node/*.node: that file has the same name for debug
# and release builds, and a concurrent debug build (make test) would silently replace it. For
# the same reason the release build writes its addon, native.js and native.d.ts into the
# private directory, never over bindings-node's own.
#
# Assumes the Node dependencies are installed (`npm ci` in bindings-node/); redis-server comes
# from scripts/redis-server.sh, DynamoDB Local from scripts/dynamodb-local.sh. Knobs of each
# bench: see the head of its file.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# BENCH_OUT as an absolute path: the benches run from the checkout's root.
if [[ -n ${BENCH_OUT:-} && $BENCH_OUT != /* ]]; then
  export BENCH_OUT=$PWD/$BENCH_OUT
fi
cd "$root"

# Inside the servers' lifetime (scripts/dynamodb-local.sh and scripts/redis-server.sh run this
# script again with --under-servers): the benches, one after the other.
if [[ ${1:-} == --under-servers ]]; then
  shift
  # The servers' scripts stop this one with TERM: the running bench (and the apps it forked,
  # which exit with it) goes too.
  child=
  trap '[[ -n $child ]] && kill "$child" 2>/dev/null; exit 143' TERM
  for bench in ${BENCH_NODE:-bench express memory}; do
    started=$SECONDS
    case $bench in
      bench) node bindings-node/bench/bench.js "$@" & ;;
      express) node bindings-node/bench/express.js & ;;
      memory) node --expose-gc bindings-node/bench/memory.js & ;;
      *) echo "bench: unknown Node bench '$bench' (bench, express, memory)" >&2; exit 2 ;;
    esac
    child=$!
    wait "$child"
    child=
    echo "bench: $bench took $((SECONDS - started)) s" >&2
  done
  exit 0
fi

# The same target as the Makefile's builds, so the release build shares their layout.
target=${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}

for module in autocannon connect-dynamodb connect-redis redis; do
  if [[ ! -d bindings-node/node_modules/$module ]]; then
    echo "bench: the Node dependencies are missing: run \`npm ci\` in bindings-node/ first" >&2
    exit 1
  fi
done

stage=$(mktemp -d "${TMPDIR:-/tmp}/connect-dynamodb-bench.XXXXXX")
trap 'rm -rf "$stage"' EXIT

if [[ -z ${BENCH_SKIP_BUILD:-} ]]; then
  echo "bench: building the release addon (takes minutes from cold)" >&2
  (cd bindings-node && CARGO_BUILD_TARGET=$target \
    npx --no-install napi build --platform --release --output-dir "$stage/build" --js native.js --dts native.d.ts)
fi

release=target/$target/release/libconnect_dynamodb_node.so
[[ -f $release ]] || { echo "bench: no release build at $release" >&2; exit 1; }
cp "$release" "$stage/connect-dynamodb.release.node"

[[ -z ${BENCH_OUT:-} ]] || mkdir -p "$BENCH_OUT"
NAPI_RS_NATIVE_LIBRARY_PATH=$stage/connect-dynamodb.release.node \
  scripts/dynamodb-local.sh run -- scripts/redis-server.sh run -- "$root/scripts/bench.sh" --under-servers "$@"
