#!/usr/bin/env bash
# Debian's chromium for the browser test of the demo (bindings-node/test/demo.test.js).
# Playwright's own browser downloads are not used: playwright-core drives /usr/bin/chromium.
# Idempotent: does nothing when /usr/bin/chromium is already there.
set -euo pipefail

log() { printf 'install-chromium: %s\n' "$*" >&2; }

if [[ -x /usr/bin/chromium ]]; then
  log "chromium is already installed ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
  exit 0
fi

command -v apt-get >/dev/null || { log "no apt-get: install chromium so that /usr/bin/chromium exists"; exit 1; }
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { log "run as root (or install sudo) to install chromium"; exit 1; }
  sudo=(sudo)
fi

log "installing Debian's chromium with apt-get (takes a minute or two)"
export DEBIAN_FRONTEND=noninteractive
# A freshly booted machine may be running its own apt jobs: wait for the lock, and retry the
# index update, which can also fail on a passing network error.
lock=(-o DPkg::Lock::Timeout=600)
for attempt in 1 2 3; do
  "${sudo[@]}" apt-get "${lock[@]}" update -qq && break
  ((attempt < 3)) || { log "apt-get update failed three times"; exit 1; }
  sleep $((attempt * 10))
done
"${sudo[@]}" apt-get "${lock[@]}" install -y -qq --no-install-recommends chromium >/dev/null
[[ -x /usr/bin/chromium ]] || { log "apt-get finished but /usr/bin/chromium is missing"; exit 1; }
log "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
