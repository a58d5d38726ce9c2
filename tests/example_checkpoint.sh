#!/usr/bin/env bash
# The checkpoint example trains, saves, restores into a fresh graph and
# session, and exits 0 only when the restored model gives the same loss and
# accuracy; the training itself must reach 90% accuracy.
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out=$("$1" --steps 300 --checkpoint "$dir/model.ckpt")
echo "$out"
grep -q '^restored: ' <<< "$out"
awk '/^trained:/ { if ($5 < 0.9) exit 1 }' <<< "$out"
test -s "$dir/model.ckpt.index"  # TF's V2 format, the default
! grep -q '^warning:' <<< "$out"  # the lint is on and finds nothing
echo "1 passed, 0 failed"
