#!/usr/bin/env bash
# bench/run.sh: the mnist_cnn training step in tgraph (bench_cnn) and, when
# Debian's python3-torch is installed, in PyTorch (bench/torch_cnn.py), at
# each thread count of THREADS, interleaved (tgraph, PyTorch, tgraph, ...)
# and repeated REPEATS times; then the median of the repeats' medians and
# the ratio tgraph / PyTorch in images per second.
#
# Environment (all optional):
#   BUILD_DIR          release build directory to use (default build-bench)
#   THREADS            thread counts (default "1 2")
#   REPEATS            rounds over all runs (default 3)
#   STEPS, WARMUP      timed and untimed steps per run (default 30 and 5)
#   OPENBLAS_CORETYPE  passed through; default Haswell (OpenBLAS's kernel
#                      choice, which it may get wrong on virtual CPUs)
#
# tgraph's 1-thread runs set OPENBLAS_NUM_THREADS=1 so that the process uses
# one CPU, like torch.set_num_threads(1); with more threads tgraph sets
# OpenBLAS to one thread itself. PyTorch runs twice at counts above 1: with
# its defaults (OpenMP workers spin while waiting) and with
# OMP_WAIT_POLICY=PASSIVE (they sleep, as tgraph's do).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build-bench}
THREADS=${THREADS:-"1 2"}
REPEATS=${REPEATS:-3}
STEPS=${STEPS:-30}
WARMUP=${WARMUP:-5}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
PY=/usr/bin/python3

if [ ! -d "$BUILD_DIR" ]; then
    meson setup "$BUILD_DIR" --buildtype=release >/dev/null
fi
ninja -C "$BUILD_DIR" bench/bench_cnn >/dev/null
BENCH="$BUILD_DIR/bench/bench_cnn"

torch_version=""
if [ -x "$PY" ] && torch_version=$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
    have_torch=1
else
    have_torch=0
fi

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) online CPUs"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
echo "protocol: batch 64 of random 28x28x1 images, $WARMUP warm-up + $STEPS timed steps per run," \
     "$REPEATS rounds, thread counts: $THREADS"
if [ "$have_torch" = 1 ]; then
    echo "pytorch: $torch_version ($PY)"
else
    echo "pytorch: not available ($PY -c 'import torch' failed); tgraph only"
fi
echo

results=$(mktemp)
trap 'rm -f "$results"' EXIT
args=(--warmup "$WARMUP" --steps "$STEPS")
for round in $(seq 1 "$REPEATS"); do
    for t in $THREADS; do
        if [ "$t" = 1 ]; then
            line=$(OPENBLAS_NUM_THREADS=1 "$BENCH" --threads 1 "${args[@]}")
        else
            line=$("$BENCH" --threads "$t" "${args[@]}")
        fi
        echo "round $round: $line" | tee -a "$results"
        if [ "$have_torch" = 1 ]; then
            line=$("$PY" bench/torch_cnn.py --threads "$t" "${args[@]}")
            echo "round $round: $line" | tee -a "$results"
            if [ "$t" != 1 ]; then
                line=$(OMP_WAIT_POLICY=PASSIVE "$PY" bench/torch_cnn.py --threads "$t" "${args[@]}")
                echo "round $round: ${line/pytorch/pytorch-passive}" | tee -a "$results"
            fi
        fi
    done
done

echo
echo "median over rounds (ms per step, images/s):"
awk '
    function field(name,   i) { for (i = 1; i <= NF; i++) if (index($i, name "=") == 1) return substr($i, length(name) + 2); return "" }
    { key = $3 " " field("threads"); ms[key] = ms[key] " " field("median_ms"); batch = field("batch")
      if (!(key in seen)) { seen[key] = 1; order[n++] = key } }
    function median(list,   v, k, i, j, t) {
        k = split(list, v, " ")
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
        return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
    }
    END {
        for (i = 0; i < n; i++) {
            split(order[i], kt, " "); m = median(ms[order[i]])
            med[order[i]] = m
            printf "  %-16s threads=%-3s %8.2f ms  %7.1f images/s\n", kt[1], kt[2], m, batch * 1000 / m
        }
        for (i = 0; i < n; i++) {
            split(order[i], kt, " ")
            if (kt[1] != "tgraph") continue
            for (j = 0; j < n; j++) {
                split(order[j], ot, " ")
                if (ot[1] == "tgraph" || ot[2] != kt[2]) continue
                printf "  ratio tgraph / %-16s threads=%-3s %.2f (images/s)\n", ot[1], kt[2], med[order[j]] / med[order[i]]
            }
        }
    }' "$results"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
