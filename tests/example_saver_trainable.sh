#!/usr/bin/env bash
# examples/teach/saver_trainable: a checkpoint of the trainable variables
# restores the moving mean as 0, the saver_omits_moving_stats lint names the
# moving statistics, and a checkpoint of the global variables restores the
# trained values.
# usage: example_saver_trainable.sh SAVER_TRAINABLE
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out=$("$1" "$dir/ckpt")
echo "$out"
trained=$(grep '^after training:' <<< "$out" | sed -E 's/.*= (-?[0-9.]+)$/\1/')
grep -q '^trainable-only checkpoint: restored fc1/BatchNorm/moving_mean\[0\] = 0.000,' <<< "$out"
grep -q "^\[saver_omits_moving_stats\] checkpoint of Saver 'save_trainable' omits fc1/BatchNorm/moving_mean, fc1/BatchNorm/moving_variance: not trainable but read by this evaluation run, so a restore leaves them at their initial values. Fix: build the Saver from tg_global_variables" <<< "$out"
grep -q "^global-variables checkpoint: restored fc1/BatchNorm/moving_mean\[0\] = $trained, evaluation accuracy" <<< "$out"
awk -v a="$(grep '^global-variables checkpoint' <<< "$out" | sed -E 's/.*accuracy ([0-9.]+)$/\1/')" 'BEGIN { exit !(a > 0.9) }'
grep -q '^the lint on the evaluation run: (nothing)$' <<< "$out"
echo "1 passed, 0 failed"
