#!/usr/bin/env bash
# The npm package, the Python wheel and the C library carry one version number, whose one
# source is `version` under [workspace.package] in Cargo.toml:
# - the Rust crates, the C library (cdyn_version(), the pkg-config file) and the wheel
#   (pyproject.toml declares the version dynamic; maturin reads the crate's, written in
#   PEP 440 form, e.g. 4.0.0-alpha.0 -> 4.0.0a0) take it from there;
# - package.json and package-lock.json must repeat it, since npm reads no other file.
# `make lint` runs this; it prints what differs and fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[[ -n $version ]] || { echo "check-version: no version in [workspace.package] of Cargo.toml"; exit 1; }
status=0
differs() { echo "check-version: $1 says $2, Cargo.toml says $version"; status=1; }

node_version() { node -p "require('./$1')$2"; }
for spec in "bindings-node/package.json|.version" \
            "bindings-node/package-lock.json|.version" \
            "bindings-node/package-lock.json|.packages[''].version"; do
  file=${spec%%|*} path=${spec#*|}
  got=$(node_version "$file" "$path")
  [[ $got == "$version" ]] || differs "$file ($path)" "$got"
done

for crate in core core/runtime ffi bindings-node bindings-python; do
  grep -q '^version.workspace = true' "$crate/Cargo.toml" || differs "$crate/Cargo.toml" "its own version"
done
grep -q '^dynamic = \["version"\]' bindings-python/pyproject.toml ||
  differs bindings-python/pyproject.toml "a version of its own"
grep -q "connect-dynamodb-core = { path = \"core\", version = \"$version\" }" Cargo.toml ||
  differs "Cargo.toml [workspace.dependencies]" "another version of connect-dynamodb-core"
exit $status
