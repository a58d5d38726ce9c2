#!/usr/bin/env bash
# The example runs, fits the line it was made for (y = 3x + 2 plus noise of
# at most 0.1), and its DOT output renders with Graphviz.
set -euo pipefail
exe="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$exe" --steps 300 --dot "$dir/g.dot" > "$dir/out.txt"
last=$(tail -n 1 "$dir/out.txt")
echo "$last"
awk '{ w = $6; b = $8; if (w < 2.95 || w > 3.05 || b < 1.95 || b > 2.05) exit 1 }' <<< "$last"
! grep -q '^warning:' "$dir/out.txt"  # the lint is on and finds nothing
grep -q 'subgraph "cluster_linear/"' "$dir/g.dot"
grep -q 'style=dashed' "$dir/g.dot"
dot -Tpng "$dir/g.dot" -o "$dir/g.png"
test -s "$dir/g.png"
echo "1 passed, 0 failed"
