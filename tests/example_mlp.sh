#!/usr/bin/env bash
# The MLP example trains with tg_gradients and assign_sub only: its loss
# must fall to under half of the first value.
set -euo pipefail
out=$("$1" --steps 300)
echo "$out"
awk 'NR == 1 { first = $4 } END { last = $4; if (!(last < first / 2)) exit 1 }' <<< "$out"
! grep -q '^warning:' <<< "$out"  # the lint is on and finds nothing
echo "1 passed, 0 failed"
