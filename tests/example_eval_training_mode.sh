#!/usr/bin/env bash
# examples/teach/eval_training_mode: in training mode an example's output
# depends on its batch (alone, accuracy is a coin's), the
# batch_norm_training_at_eval lint fires, and the is_training false tower
# gives each example one answer whatever its batch.
# usage: example_eval_training_mode.sh EVAL_TRAINING_MODE
set -euo pipefail
out=$("$1")
echo "$out"
line=$(grep '^training mode: accuracy one example per run' <<< "$out")
awk -v a="$(sed -E 's/.*per run ([0-9.]+), 100.*/\1/' <<< "$line")" 'BEGIN { exit !(a < 0.6) }'
awk -v a="$(sed -E 's/.*100 per run ([0-9.]+).*/\1/' <<< "$line")" 'BEGIN { exit !(a > 0.9) }'
grep -q '^\[batch_norm_training_at_eval\] evaluating in training mode: fc1/BatchNorm normalizes with the batch.s statistics, so outputs depend on the rest of the batch. Fix: ' <<< "$out"
grep -Eq '^inference mode: example 0 alone: P\(class 1\) = ([0-9.]+); in a batch of 100: \1$' <<< "$out"
awk -v a="$(grep '^inference mode: accuracy' <<< "$out" | sed -E 's/.*per run ([0-9.]+),.*/\1/')" 'BEGIN { exit !(a > 0.9) }'
grep -q '^the lint on that run: (nothing)$' <<< "$out"
echo "1 passed, 0 failed"
