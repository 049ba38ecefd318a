# Sourced by the dist scripts: the environment that cross-builds all three faces for one target
# with zig (from PyPI's ziglang, driven by cargo-zigbuild's `zig cc`), so that the C library,
# the Node addon and the Python wheel link against glibc 2.17 (or musl) and share one compiled
# dependency tree per target.
#
#   . scripts/dist-env.sh aarch64-unknown-linux-gnu
#
# One fixed set of CC_<t>/CXX_<t>/AR_<t>/linker variables for every face: `napi build -x` and
# `maturin --zig` would each write wrappers at paths of their own, and ring's build script reruns
# (and everything above it rebuilds) whenever those paths change. cargo, napi and maturin see
# the plain triple; the glibc version lives only in the wrapper's `-target`.

dist_target=${1:?usage: . scripts/dist-env.sh TARGET}
dist_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dist_tools=$dist_root/.cache/dist-tools

case $dist_target in
  x86_64-unknown-linux-gnu)   dist_zig_target=x86_64-linux-gnu.2.17 ;;
  aarch64-unknown-linux-gnu)  dist_zig_target=aarch64-linux-gnu.2.17 ;;
  x86_64-unknown-linux-musl)  dist_zig_target=x86_64-linux-musl ;;
  aarch64-unknown-linux-musl) dist_zig_target=aarch64-linux-musl ;;
  *) echo "dist-env.sh: unsupported target $dist_target" >&2; return 2 ;;
esac
case $dist_target in
  # A cdylib on musl must not link libc statically (Node and CPython bring their own); napi
  # and maturin add this flag only when it is missing, so all three faces build with one set.
  *-musl) export RUSTFLAGS="-C target-feature=-crt-static" ;;
  *) unset RUSTFLAGS ;;
esac

dist_wrappers=$dist_root/target/dist/zig/$dist_target
mkdir -p "$dist_wrappers"
dist_zig_version=$("$dist_tools/bin/python" -m ziglang version)
dist_rustc_version=$(rustc -V | cut -d' ' -f2)
for dist_tool in cc c++ ar ranlib; do
  case $dist_tool in cc | c++) dist_args="-g -fno-sanitize=all -target $dist_zig_target" ;; *) dist_args= ;; esac
  cat > "$dist_wrappers/$dist_tool.new" <<WRAPPER
#!/bin/sh
export CARGO_ZIGBUILD_ZIG_VERSION=$dist_zig_version CARGO_ZIGBUILD_RUSTC_VERSION=$dist_rustc_version
export CARGO_ZIGBUILD_ZIG_COMMAND="$dist_tools/bin/python" CARGO_ZIGBUILD_ZIG_COMMAND_ARGS='-m ziglang'
exec "$dist_tools/bin/cargo-zigbuild" zig $dist_tool -- $dist_args "\$@"
WRAPPER
  chmod +x "$dist_wrappers/$dist_tool.new"
  # Rewritten only when different, so the wrappers' mtimes do not trigger rebuilds.
  if cmp -s "$dist_wrappers/$dist_tool.new" "$dist_wrappers/$dist_tool"; then rm "$dist_wrappers/$dist_tool.new"
  else mv "$dist_wrappers/$dist_tool.new" "$dist_wrappers/$dist_tool"; fi
done

dist_t=${dist_target//-/_}
dist_tu=${dist_t^^}
export "CC_$dist_t=$dist_wrappers/cc" "CXX_$dist_t=$dist_wrappers/c++" "AR_$dist_t=$dist_wrappers/ar" \
  "RANLIB_$dist_t=$dist_wrappers/ranlib" "CARGO_TARGET_${dist_tu}_LINKER=$dist_wrappers/cc"
export CARGO_ZIGBUILD_PYTHON_PATH=$dist_tools/bin/python
# Each target has a cargo target directory of its own, apart from the caches of `make test`.
# One directory for all would not share more: for x86_64-unknown-linux-gnu (the host) cargo
# links build scripts and proc macros with the target's linker too, so they would be rebuilt,
# and everything above them, whenever the next build is for another target.
export CARGO_TARGET_DIR=$dist_root/target/dist/$dist_target CARGO_BUILD_TARGET=$dist_target
unset PYO3_CROSS PYO3_CROSS_LIB_DIR PYO3_CROSS_PYTHON_VERSION
