#!/usr/bin/env bash
# A teaching program (examples/teach/) prints the bug's symptom in numbers,
# the diagnostic, and the fixed run: each PATTERN (an extended regex) must
# match a line of its output. It runs in a temporary folder, where it may
# draw its graph.
# usage: example_teach.sh PROGRAM PATTERN...
set -euo pipefail
prog=$(realpath "$1")
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out=$(cd "$dir" && "$prog")
echo "$out"
for p in "$@"; do
  if ! grep -Eq -- "$p" <<< "$out"; then
    echo "no line matches: $p"
    exit 1
  fi
done
echo "$# patterns matched"
