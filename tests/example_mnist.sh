#!/usr/bin/env bash
# The MNIST programs on real Fashion-MNIST, a few dozen steps each:
# - mnist_cnn and mnist_mlp exit 0, print a finite loss, a confusion matrix
#   whose cells add up to the 10,000 test images, write checkpoint and CSV;
# - the checkpoint is TF's V2 format named after the global step
#   (model.ckpt-40.index), listed in the folder's "checkpoint" state file;
# - mnist_predict restores the folder's latest checkpoint and reports
#   exactly the test loss and accuracy that training reported for it;
# - --resume: 2 epochs, then a resumed third from the folder's latest
#   checkpoint, equals 3 epochs in one run (global step, Adam's slots and
#   the shuffling order all restored);
# - bad flags: usage and exit 2.
# Skipped (exit 77, meson's skip code) without Debian's dataset-fashion-mnist.
# usage: example_mnist.sh MNIST_CNN MNIST_MLP MNIST_PREDICT
set -euo pipefail
cnn=$1 mlp=$2 predict=$3
data=/usr/share/datasets/fashion-mnist
if [ ! -d "$data" ]; then
  echo "SKIPPED: dataset-fashion-mnist not installed"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

train() { # train NAME EXE MAX_STEPS [FLAGS...]: output in $dir/NAME.out
  local name=$1 exe=$2 steps=$3
  shift 3
  mkdir -p "$dir/$name"
  "$exe" --data "$data" --epochs 1 --max-steps "$steps" --checkpoint "$dir/$name/model.ckpt" \
         --log "$dir/$name.csv" "$@" > "$dir/$name.out"
  cat "$dir/$name.out"
  # "epoch 1/1  train loss L  acc A  |  test loss TL  acc TA  | ..."
  local loss
  loss=$(awk '/^epoch 1\/1 / { print $5 }' "$dir/$name.out")
  [[ "$loss" =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "$name: train loss '$loss' is not a finite number"
  # saver.save(sess, path, global_step=global_step) after the epoch's $steps steps
  grep -q "^checkpoint: $dir/$name/model.ckpt-$steps\$" "$dir/$name.out" || fail "$name: checkpoint line"
  test -s "$dir/$name/model.ckpt-$steps.index" || fail "$name: no checkpoint index written"
  test -s "$dir/$name/model.ckpt-$steps.data-00000-of-00001" || fail "$name: no checkpoint data written"
  grep -qx "model_checkpoint_path: \"$dir/$name/model.ckpt-$steps\"" "$dir/$name/checkpoint" ||
    fail "$name: state file: $(cat "$dir/$name/checkpoint")"
  test "$(wc -l < "$dir/$name.csv")" -eq 2 || fail "$name: CSV log"
  # the confusion matrix: ten rows whose cells sum to the test set's size
  local cells
  cells=$(awk '/^confusion matrix/ { m = 1; next } m && /^[0-9] / { for (i = NF - 10; i < NF; i++) s += $i; r++ }
               END { print r " " s }' "$dir/$name.out")
  test "$cells" = "10 10000" || fail "$name: confusion matrix rows/sum '$cells', want '10 10000'"
}

test_of() { awk '/^epoch 1\/1 / { print $11 " " $13 }' "$1"; } # "test_loss test_acc"

train cnn "$cnn" 40 --batch-size 32 --dot "$dir/cnn.dot"
# the collapsed DOT: conv1 is one node, and its update ops' control edge to
# the train op (Adam) is drawn dashed
conv1=$(grep -o 'n[0-9]* \[label="conv1\\n[0-9]* ops' "$dir/cnn.dot" | cut -d' ' -f1)
adam=$(grep -o 'n[0-9]* \[label="Adam\\n[0-9]* ops' "$dir/cnn.dot" | cut -d' ' -f1)
grep -q "^  $conv1 -> $adam \[style=dashed" "$dir/cnn.dot" || fail "DOT: no dashed edge conv1 ($conv1) -> Adam ($adam)"
train mlp "$mlp" 100

# mnist_predict: the same test loss and accuracy as the epoch that saved the checkpoint.
for m in cnn mlp; do
  "$predict" --data "$data" --checkpoint "$dir/$m" --model $m --index 0 > "$dir/$m.predict"
  got=$(awk '/^restored / { print $(NF - 2) " " $NF }' "$dir/$m.predict")
  want=$(test_of "$dir/$m.out")
  test -n "$want" && test "$got" = "$want" || fail "mnist_predict $m: '$got', training reported '$want'"
  grep -q "^test image 0: label 9 (Ankle boot), predicted" "$dir/$m.predict" ||
    fail "mnist_predict $m: no prediction for --index 0"
done
# the wrong model for the checkpoint: a clear error, exit 1
set +e
"$predict" --data "$data" --checkpoint "$dir/cnn/model.ckpt-40" --model mlp > /dev/null 2> "$dir/wrong.err"
code=$?
set -e
test "$code" -eq 1 && grep -q "fc1/weights" "$dir/wrong.err" || fail "mnist_predict with the wrong --model (exit $code)"

# --resume continues exactly where the saved run stopped.
resume_flags=(--data "$data" --max-steps 30 --seed 5)
"$mlp" "${resume_flags[@]}" --epochs 3 --log "$dir/straight.csv" > /dev/null
mkdir "$dir/r"
"$mlp" "${resume_flags[@]}" --epochs 2 --log "$dir/resumed.csv" --checkpoint "$dir/r/model.ckpt" > /dev/null
test -s "$dir/r/model.ckpt-30.index" && test -s "$dir/r/model.ckpt-60.index" || fail "resume: checkpoints of epochs 1, 2"
"$mlp" "${resume_flags[@]}" --epochs 3 --log "$dir/resumed.csv" --checkpoint "$dir/r/model.ckpt" --resume > "$dir/r.out"
grep -q "resumed from $dir/r/model.ckpt-60 at global step 60 (2 epochs done)" "$dir/r.out" ||
  fail "resume message: $(cat "$dir/r.out")"
cmp "$dir/straight.csv" "$dir/resumed.csv" || fail "3 epochs straight and 2 + 1 resumed differ:
$(paste -d'|' "$dir/straight.csv" "$dir/resumed.csv")"

# --lr-decay is staircase per epoch: epoch 1 trains at the full rate either way,
# epoch 2 at half the rate differs.
"$mlp" "${resume_flags[@]}" --epochs 2 --lr-decay 1 --log "$dir/const.csv" > /dev/null
"$mlp" "${resume_flags[@]}" --epochs 2 --lr-decay 0.5 --log "$dir/half.csv" > /dev/null
test "$(sed -n 2p "$dir/const.csv")" = "$(sed -n 2p "$dir/half.csv")" || fail "--lr-decay changed epoch 1"
test "$(sed -n 3p "$dir/const.csv")" != "$(sed -n 3p "$dir/half.csv")" || fail "--lr-decay 0.5 did not change epoch 2"

# bad flags: usage and exit 2
for args in "--epochs zero" "--optimizer adagrad" "--bogus" "--resume" "--threads -1" "--lr-decay 2" "--lr-decay 0"; do
  set +e
  # shellcheck disable=SC2086
  "$cnn" $args > /dev/null 2>&1
  code=$?
  set -e
  test "$code" -eq 2 || fail "mnist_cnn $args exited $code, not 2"
done
set +e
"$predict" > /dev/null 2>&1
code=$?
set -e
test "$code" -eq 2 || fail "mnist_predict without --checkpoint exited $code, not 2"
echo "1 passed, 0 failed"
