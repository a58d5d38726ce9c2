#!/usr/bin/env bash
# The main job: set up, build, and train mnist_cnn (the TF layers-tutorial CNN
# with batch normalization) on Fashion-MNIST for one epoch; the outputs go to
# runs/mnist_cnn/. Extra arguments go to mnist_cnn (e.g. --epochs 5).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -d build ] || meson setup build --buildtype=release
meson compile -C build
out=runs/mnist_cnn
mkdir -p "$out"
./build/examples/mnist_cnn --checkpoint "$out/model.ckpt" --log "$out/metrics.csv" --plot "$out/curves.png" \
  --dot "$out/graph.dot" "$@"
dot -Tpng "$out/graph.dot" -o "$out/graph.png"
echo "drawing:    $out/graph.png (dot -Tpng of the graph above)"
echo "predict:    ./build/examples/mnist_predict --checkpoint $out --index 0   (the folder: its latest checkpoint)"
