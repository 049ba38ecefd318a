#!/usr/bin/env bash
# Builds the three faces for one Linux target, release profile (in target/dist/<target>), and
# stages them in target/dist/stage/<target>:
#   c/      libconnect_dynamodb.so (SONAME libconnect_dynamodb.so.<major>), libconnect_dynamodb.a,
#           native-static-libs (what the static library needs, for the pkg-config file)
#   node/   connect-dynamodb.<platform>.node
#   wheel/  the abi3 wheel (manylinux2014 on glibc, musllinux_1_2 on musl)
# All three share one dependency tree per target (scripts/dist-env.sh). `make dist` runs this
# for every target in DIST_TARGETS, then scripts/dist-package.sh.
#
#   scripts/dist-build.sh aarch64-unknown-linux-gnu
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target=${1:?usage: scripts/dist-build.sh TARGET}
# shellcheck source=scripts/dist-env.sh
. scripts/dist-env.sh "$target"
stage=$root/target/dist/stage/$target
rm -rf "$stage" && mkdir -p "$stage/c" "$stage/node" "$stage/wheel"
release=$CARGO_TARGET_DIR/$target/release
log=$stage/build.log
started=$(date +%s)
elapsed() { echo "$(($(date +%s) - started)) s"; }

echo "dist-build $target: C library"
# Only the cdylib and the staticlib (not the crate's rlib, which `cargo test` uses): with an rlib
# among its outputs, cargo compiles every dependency with object code beside the LTO bitcode,
# a second dependency tree that the Node and Python faces (a cdylib each) cannot share.
# --print applies to this crate alone.
cargo rustc -p connect-dynamodb-ffi --release --lib --crate-type cdylib,staticlib -- --print native-static-libs \
  >"$stage/c/cargo.log" 2>&1 || {
  cat "$stage/c/cargo.log" >&2
  echo "dist-build $target: the C library failed to build" >&2
  exit 1
}
cat "$stage/c/cargo.log" >> "$log"
grep -v '^note: \(link against\|native-static-libs\)\|^$' "$stage/c/cargo.log" || true
sed -n 's/^note: native-static-libs: //p' "$log" | tail -n 1 > "$stage/c/native-static-libs"
[[ -s $stage/c/native-static-libs ]] || { echo "dist-build: rustc printed no native-static-libs" >&2; exit 1; }
cp "$release/libconnect_dynamodb.so" "$release/libconnect_dynamodb.a" "$stage/c/"
echo "dist-build $target: C library done ($(elapsed))"

echo "dist-build $target: Node addon"
(cd bindings-node && npx --no-install napi build --platform --release --target "$target" \
  --output-dir "$stage/node" --js native.js --dts native.d.ts) 2>&1 | tee -a "$log"
# The loader and types are generated the same for every target; the committed ones must match.
for f in native.js native.d.ts; do
  cmp -s "bindings-node/$f" "$stage/node/$f" || {
    echo "dist-build: bindings-node/$f differs from the one napi generated for $target" >&2
    exit 1
  }
  rm "$stage/node/$f"
done
echo "dist-build $target: Node addon done ($(elapsed))"

echo "dist-build $target: Python wheel"
case $target in *-musl) compat=musllinux_1_2 ;; *) compat=manylinux2014 ;; esac
# abi3: no interpreter of the target is needed; maturin checks the wheel against the policy.
.cache/python-venv/bin/maturin build --release --manifest-path bindings-python/Cargo.toml \
  --target "$target" --compatibility "$compat" --auditwheel check --out "$stage/wheel" 2>&1 | tee -a "$log"
echo "dist-build $target: Python wheel done ($(elapsed))"

# Each face after the first reuses the target's dependency tree: a second compile of the AWS
# SDK means the faces' features or build environments drifted apart (see core/Cargo.toml).
compiled=$(grep -c 'Compiling aws-sdk-dynamodb ' "$log" || true)
if ((compiled > 1)); then
  echo "dist-build $target: aws-sdk-dynamodb was compiled $compiled times; the faces no longer share one dependency tree" >&2
  exit 1
fi
echo "dist-build $target: done in $(elapsed)"
