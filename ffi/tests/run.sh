#!/usr/bin/env bash
# The C suite (`make test-c-suite`), run inside DynamoDB Local's lifetime (DYNAMODB_ENDPOINT):
#
# 1. the test programs in ffi/tests/c, compiled with -Wall -Wextra -Werror and
#    AddressSanitizer (its leak checker included) + UndefinedBehaviorSanitizer, against the
#    debug build of libconnect_dynamodb.so (test_fork with UndefinedBehaviorSanitizer only,
#    test_user_index on a DynamoDB Local of its own: see below);
#    test_at_rest (data at rest: encryption, hashed ids, compression, re-encryption) once
#    more with keys in CONNECT_DYNAMODB_ENCRYPTION_KEYS / CONNECT_DYNAMODB_ID_HASH_KEY;
# 2. test_store, test_lifecycle and test_at_rest (its tests that do not encrypt) once more,
#    built without sanitizers, under valgrind memcheck: no errors and no definite leaks;
# 3. a session written by the Node package (ffi/tests/node-writes-session.js), read and
#    changed from C, once stored as plain text and once encrypted with a key Node took from
#    CONNECT_DYNAMODB_ENCRYPTION_KEYS; and the shared vectors of tests/vectors (written raw by
#    ffi/tests/write-vectors.js, one table per configuration), read by test_vectors;
# 4. `make install` (debug build) into a temporary prefix, then the README's C example,
#    compiled with `cc app.c $(pkg-config --cflags --libs connect_dynamodb)` and run, and
#    linked once more against the static library with pkg-config's --static flags.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
: "${DYNAMODB_ENDPOINT:?run the C suite with make test-c, which starts DynamoDB Local}"
target=${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}
libdir=$root/target/$target/debug
out=$root/target/c-tests
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

CC=${CC:-gcc}
warnings=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror)
sanitizers=(-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined)
link=(-L"$libdir" -lconnect_dynamodb -Wl,-rpath,"$libdir" -lpthread)
# Leaks are errors; a sanitizer report fails the program.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

start=$(date +%s)
step() { printf '\n== %s\n' "$*"; }

programs=(test_store test_concurrency test_lifecycle test_user_index test_node_interop test_at_rest)
step "compiling ${programs[*]} with ${sanitizers[*]}"
for p in "${programs[@]}"; do
  "$CC" "${warnings[@]}" "${sanitizers[@]}" -Iinclude "ffi/tests/c/$p.c" "${link[@]}" -o "$out/$p"
done
# test_fork forks while library threads are busy. The libasan of GCC 12 (Debian 12) takes no
# lock around fork() (LLVM added one in llvm/llvm-project#75290), so a child forked while another
# thread is inside ASan's malloc deadlocks in ASan itself (llvm/llvm-project#63224), whatever
# the program does. test_fork therefore runs with UndefinedBehaviorSanitizer and glibc's
# malloc, which is fork-safe; what the child runs is covered by ASan in the other programs.
ub_only=(-g -O1 -fno-omit-frame-pointer -fsanitize=undefined -fno-sanitize-recover=undefined)
"$CC" "${warnings[@]}" "${ub_only[@]}" -Iinclude ffi/tests/c/test_fork.c "${link[@]}" -o "$out/test_fork"

for p in test_store test_concurrency test_lifecycle test_at_rest; do
  step "$p (AddressSanitizer + UndefinedBehaviorSanitizer)"
  "$out/$p"
done
# The test keys of test_at_rest.c (ENV_KEY_B64, ENV_HASH_B64): never for real sessions.
env_key=UFFSU1RVVldYWVpbXF1eX2BhYmNkZWZnaGlqa2xtbm8=
env_hash_key=cHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKTlJWWlw==
step "test_at_rest with keys in the environment (AddressSanitizer + UndefinedBehaviorSanitizer)"
CONNECT_DYNAMODB_ENCRYPTION_KEYS=$env_key CONNECT_DYNAMODB_ID_HASH_KEY=$env_hash_key "$out/test_at_rest"
step "test_fork (UndefinedBehaviorSanitizer)"
"$out/test_fork"
# DynamoDB Local 3.3.1 leaves an index added to an existing table CREATING for ever once it
# has served the suite's other tables (see test_user_index.c): this one gets a server of its own.
step "test_user_index (AddressSanitizer + UndefinedBehaviorSanitizer), on a DynamoDB Local of its own"
scripts/dynamodb-local.sh run -- "$out/test_user_index"

step "test_store, test_lifecycle and test_at_rest under valgrind memcheck (built without sanitizers)"
# test_store: round_trip, expiry handling and every failure status (blocking calls, errors,
# lists, strings); test_lifecycle: every test (saves with an outcome, user session lists, the
# non-blocking twins, merging threads). No suppressions are needed: the Rust and Tokio code of
# the library reports nothing.
valgrind_run() {
  local program=$1
  shift
  "$CC" "${warnings[@]}" -g -O1 -Iinclude "ffi/tests/c/$program.c" "${link[@]}" -o "$out/$program.valgrind"
  valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --log-file="$work/$program.valgrind.log" \
    "$out/$program.valgrind" "$@" || {
    cat "$work/$program.valgrind.log" >&2
    exit 1
  }
  grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable' "$work/$program.valgrind.log" |
    sed "s/^==[0-9]*== */$program: /"
}
valgrind_run test_store round_trip conditions ids_length_clear bad_input every_status
valgrind_run test_lifecycle
# test_at_rest: the new setters, their errors and binary (compressed) items over the wire. Its
# tests that encrypt run under AddressSanitizer only: memcheck reports the AES-GCM output of
# ring's vectorised assembly as uninitialised where the SDK base64-encodes it (the known false
# positive of memcheck on vectorised GHASH over a partial block, cf. openssl/openssl#19719),
# and a suppression at the SDK's base64 encoder would hide real errors.
valgrind_run test_at_rest bad_keys_are_refused compression_alone

step "a session written by the Node package, read from C"
[[ -f bindings-node/native.js ]] && ls bindings-node/*.node >/dev/null 2>&1 || {
  echo "the Node addon is not built: run make node-build (make build and make test-c do)" >&2
  exit 1
}
read -r table sid expires < <(node --no-warnings ffi/tests/node-writes-session.js "$work")
"$out/test_node_interop" "$table" "$sid" "$expires" "$work/session.json"

step "a session written encrypted by the Node package (key from the environment), read and changed from C"
read -r table sid expires < <(CONNECT_DYNAMODB_ENCRYPTION_KEYS=$env_key node --no-warnings ffi/tests/node-writes-session.js "$work")
"$out/test_node_interop" "$table" "$sid" "$expires" "$work/session.json" "$env_key"

step "the shared vectors (tests/vectors/stored-items.json), written raw, read from C"
# ffi/tests/write-vectors.js writes the items of each configuration into a table without TTL
# and the settings and expectations (config.tsv, expected.tsv and one <name>.sess per live
# session) into a directory per configuration.
"$CC" "${warnings[@]}" "${sanitizers[@]}" -Iinclude ffi/tests/c/test_vectors.c "${link[@]}" -o "$out/test_vectors"
mkdir "$work/vectors"
node --no-warnings ffi/tests/write-vectors.js "$work/vectors" > "$work/vectors/tables"
configurations=0
while read -r configuration vectors_table; do
  echo "configuration $configuration"
  "$out/test_vectors" "$vectors_table" "$work/vectors/$configuration"
  configurations=$((configurations + 1))
done < "$work/vectors/tables"
# The defaults, at-rest and at-rest-hashed.
[[ $configurations -eq 3 ]] || { echo "expected 3 vector configurations, got $configurations" >&2; exit 1; }

step "make install (debug build) into a temporary prefix, then the README example via pkg-config"
prefix=$work/prefix
make --no-print-directory install PREFIX="$prefix" C_INSTALL_PROFILE=debug >/dev/null
major=$(sed -n 's/^version = "\([0-9]*\)\..*"/\1/p' Cargo.toml | head -n 1)
soname=libconnect_dynamodb.so.$major
for f in "lib/$soname" lib/libconnect_dynamodb.so lib/libconnect_dynamodb.a include/connect_dynamodb.h \
  lib/pkgconfig/connect_dynamodb.pc; do
  [[ -f $prefix/$f ]] || { echo "make install did not install $f" >&2; exit 1; }
done
# Programs record the SONAME, never the development link.
readelf -d "$prefix/lib/$soname" | grep -q "Library soname: \[$soname\]" || {
  echo "lib/$soname does not carry the SONAME $soname" >&2
  exit 1
}
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
ffi/tests/readme-example.sh > "$work/app.c"
# shellcheck disable=SC2046 # pkg-config's output is meant to be split
"$CC" "${warnings[@]}" "${sanitizers[@]}" "$work/app.c" $(pkg-config --cflags --libs connect_dynamodb) -o "$work/app"
LD_LIBRARY_PATH=$prefix/lib "$work/app" | tee "$work/app.out"
grep -q '^{"user":"ada"} until [0-9]*$' "$work/app.out"

step "the README example linked statically (pkg-config --static)"
# shellcheck disable=SC2046
"$CC" "${warnings[@]}" "$work/app.c" $(pkg-config --cflags --libs-only-L connect_dynamodb) \
  -Wl,--push-state,-Bstatic -lconnect_dynamodb -Wl,--pop-state \
  $(pkg-config --static --libs-only-l connect_dynamodb | sed 's/-lconnect_dynamodb//') -o "$work/app-static"
if ldd "$work/app-static" | grep -q connect_dynamodb; then
  echo "the static build still needs libconnect_dynamodb.so" >&2
  exit 1
fi
"$work/app-static" | grep -q '^{"user":"ada"} until [0-9]*$'

printf '\nC suite passed in %d s\n' "$(($(date +%s) - start))"
