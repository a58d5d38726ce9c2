#!/usr/bin/env bash
# The README's short MNIST program: one epoch of a batch-normalized MLP on
# Fashion-MNIST reaches at least 0.80 test accuracy (measured: 0.85; chance
# is 0.10). Skipped (77) without Debian's dataset-fashion-mnist.
# usage: example_mnist_short.sh MNIST_SHORT
set -euo pipefail
data=/usr/share/datasets/fashion-mnist
if [ ! -d "$data" ]; then
  echo "SKIPPED: dataset-fashion-mnist not installed"
  exit 77
fi
out=$("$1" "$data")
echo "$out"
acc=$(awk '/^test accuracy / { print $3 }' <<< "$out")
awk -v a="$acc" 'BEGIN { exit !(a >= 0.80 && a <= 1) }' || { echo "FAIL: accuracy '$acc'"; exit 1; }
if grep -q '^warning:' <<< "$out"; then echo "FAIL: the lint found something"; exit 1; fi
# a folder without IDX files: the reader's message, exit 1
set +e
msg=$("$1" /nonexistent 2>&1)
code=$?
set -e
test "$code" -eq 1 && grep -q "/nonexistent" <<< "$msg" || { echo "FAIL: missing data: exit $code, '$msg'"; exit 1; }
echo "1 passed, 0 failed"
