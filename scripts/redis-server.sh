#!/usr/bin/env bash
# A throwaway redis-server for the benchmarks (the connect-redis peer of the Node bench).
#
#   scripts/redis-server.sh run -- CMD ARGS   start a fresh redis-server on a free loopback
#                                             port (no persistence: --save '' --appendonly no),
#                                             run CMD with REDIS_URL=redis://127.0.0.1:PORT set,
#                                             then stop the server, also when CMD fails or is
#                                             interrupted; exits with CMD's status
#
# The server is Debian's `redis-server` package. When `redis-server` is not on PATH it is
# installed with apt-get (through sudo when not root).
set -euo pipefail

log() { printf 'redis-server: %s\n' "$*" >&2; }

install() {
  command -v redis-server >/dev/null && return 0
  command -v apt-get >/dev/null || { log "no redis-server and no apt-get: install Redis"; exit 1; }
  # apt-get needs root.
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  local lock=(-o DPkg::Lock::Timeout=600) attempt
  log "installing Debian's redis-server"
  for attempt in 1 2 3; do
    "${sudo[@]}" apt-get "${lock[@]}" update -qq && break
    ((attempt < 3)) || { log "apt-get update failed three times"; exit 1; }
    sleep $((attempt * 10))
  done
  "${sudo[@]}" apt-get "${lock[@]}" install -y -qq --no-install-recommends redis-server >/dev/null
  command -v redis-server >/dev/null || { log "redis-server is still not on PATH"; exit 1; }
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether a Redis server answers PING on 127.0.0.1:$1 (RESP over a plain socket: redis-cli
# comes with the server package, but this needs nothing beyond python3).
answers() {
  python3 - "$1" <<'PY'
import socket, sys
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
        s.sendall(b"PING\r\n")
        sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
PY
}

# Starts the server; sets server_pid and url.
start() {
  install
  local attempt port logfile version
  version=$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
  for attempt in 1 2 3; do
    port=$(free_port)
    logfile=$(mktemp "${TMPDIR:-/tmp}/redis-server.XXXXXX.log")
    # No config file: the defaults, in the foreground, in memory only.
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
      >"$logfile" 2>&1 &
    server_pid=$!
    url=redis://127.0.0.1:$port
    local waited=0
    while kill -0 "$server_pid" 2>/dev/null; do
      if answers "$port"; then
        log "Redis ${version:-?} is answering at $url (pid $server_pid)"
        rm -f "$logfile"
        return 0
      fi
      sleep 0.05
      waited=$((waited + 1))
      if ((waited > 600)); then
        log "no answer after 30 s"
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
  # The command runs in the background and is waited for, so a signal to this script is
  # handled at once.
  REDIS_URL=$url "$@" &
  command_pid=$!
  local status=0
  wait "$command_pid" || status=$?
  command_pid=
  return "$status"
}

case ${1:-} in
  run) shift; run "$@" ;;
  *) log "usage: $0 run -- COMMAND [ARGS...]"; exit 2 ;;
esac
