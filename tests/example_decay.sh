#!/usr/bin/env bash
# examples/teach/decay: with decay 0.999 and 100 steps the moving statistics
# are still 0.999^100 = 0.905 their initial values, evaluation accuracy
# falls well below the training-mode one, the bn_decay lint says so, the
# table shows t = 100 and decay^t = 0.905, and decay 0.9 brings it back.
# usage: example_decay.sh DECAY
set -euo pipefail
out=$("$1")
echo "$out"
acc() { grep "^decay $1, " <<< "$out" | sed -E 's/.*evaluation accuracy ([0-9.]+).*/\1/'; }
awk -v a="$(acc 0.999)" 'BEGIN { exit !(a < 0.8) }'
awk -v a="$(acc 0.9)" 'BEGIN { exit !(a > 0.9) }'
grep -q '^\[bn_decay\] fc1/BatchNorm: 100 updates at decay 0.999: the moving statistics are still 90% their initial values (0 and 1). Fix: train longer or lower decay' <<< "$out"
grep -Eq '^fc1/BatchNorm +contrib fused +tensor is_training:0 +per run +UPDATE_OPS .* 0\.999 +0\.001 +100 +0\.905 +Bessel +NHWC +1$' <<< "$out"
echo "1 passed, 0 failed"
