#!/usr/bin/env bash
# bench/run.sh: the bench's CNN and MLP, training and inference, in tgraph
# (bench_models, built the way `meson setup` builds it by default) and, when
# Debian's python3-torch is installed, in PyTorch (bench/torch_models.py),
# interleaved (tgraph, PyTorch, tgraph, ...) over REPEATS rounds at each
# thread count of THREADS. Prints, per model and thread count, training and
# inference images/s (median over rounds of each run's median step), peak
# RSS (VmHWM; training and inference each in its own process), the ratios
# tgraph / PyTorch, the build type, OPENBLAS_CORETYPE as run, and warnings
# when other processes used the CPU during a run. bench/README.md has the
# protocol.
#
# Environment (all optional):
#   BUILD_DIR        tgraph build directory (default build-bench-default,
#                    configured with a plain `meson setup`, no options)
#   THREADS          thread counts (default "1 2")
#   REPEATS          rounds (default 3)
#   MODELS           default "cnn mlp"
#   BATCH            training batch (default 64)
#   INFER_BATCH      inference batch (default 1000)
#   CNN_STEPS, CNN_INFER_STEPS, MLP_STEPS, MLP_INFER_STEPS
#                    timed steps per run (default 20, 5, 300, 60)
#   CNN_WARMUP, CNN_INFER_WARMUP, MLP_WARMUP, MLP_INFER_WARMUP
#                    untimed steps before them (default 3, 1, 20, 5)
#   BENCH_OPENBLAS_CORETYPE  OPENBLAS_CORETYPE for both sides; unset (the
#                    default), OPENBLAS_CORETYPE is removed from both sides'
#                    environment and OpenBLAS picks the CPU's own kernels
#   OTHERS_WARN      CPUs that other processes may keep busy during a run
#                    before it is flagged (default 0.10)
#   BENCH_PYTHON     the Python that runs PyTorch (default /usr/bin/python3,
#                    Debian's, where python3-torch lives)
#   RESULTS          file to keep the raw result lines in (default: a
#                    temporary file, removed)
#
# Threads: N is tg_session_options.intra_op_parallelism_threads for tgraph
# and torch.set_num_threads(N) with OMP_WAIT_POLICY=PASSIVE for PyTorch. At
# N=1 both sides also run with OPENBLAS_NUM_THREADS=1 (both link the same
# OpenBLAS, whose own thread pool neither session setting limits). Above 1,
# OpenBLAS keeps its default; tgraph sets it to one thread itself when a
# convolution first runs on its intra-op threads.
set -euo pipefail
cd "$(dirname "$0")/.."

user_build_dir=${BUILD_DIR:+yes}
BUILD_DIR=${BUILD_DIR:-build-bench-default}
THREADS=${THREADS:-"1 2"}
REPEATS=${REPEATS:-3}
MODELS=${MODELS:-"cnn mlp"}
BATCH=${BATCH:-64}
INFER_BATCH=${INFER_BATCH:-1000}
CNN_STEPS=${CNN_STEPS:-20}
CNN_INFER_STEPS=${CNN_INFER_STEPS:-5}
MLP_STEPS=${MLP_STEPS:-300}
MLP_INFER_STEPS=${MLP_INFER_STEPS:-60}
CNN_WARMUP=${CNN_WARMUP:-3}
CNN_INFER_WARMUP=${CNN_INFER_WARMUP:-1}
MLP_WARMUP=${MLP_WARMUP:-20}
MLP_INFER_WARMUP=${MLP_INFER_WARMUP:-5}
OTHERS_WARN=${OTHERS_WARN:-0.10}
PY=${BENCH_PYTHON:-/usr/bin/python3}

# ---- the build: what `meson setup DIR` gives, no options -------------------
# The build type a plain `meson setup` picks (meson.build's default_options).
option_of() { # option_of NAME JSON-FILE
    python3 -c 'import json, sys
for o in json.load(open(sys.argv[2])):
    if o["name"] == sys.argv[1]: print(str(o["value"]).lower())' "$1" "$2"
}
opts=$(mktemp)
results=${RESULTS:-$(mktemp)}
: >"$results"
cleanup() { rm -f "$opts"; [ -n "${RESULTS:-}" ] || rm -f "$results"; }
trap cleanup EXIT

meson introspect --buildoptions meson.build >"$opts"
default_buildtype=$(option_of buildtype "$opts")
if [ ! -f "$BUILD_DIR/meson-private/coredata.dat" ]; then
    echo "configuring $BUILD_DIR: meson setup $BUILD_DIR (no options)" >&2
    meson setup "$BUILD_DIR" >/dev/null
fi
meson introspect --buildoptions "$BUILD_DIR" >"$opts"
buildtype=$(option_of buildtype "$opts")
if [ "$buildtype" != "$default_buildtype" ] && [ -z "$user_build_dir" ]; then
    # configured before meson.build's default changed: start again from the default
    echo "reconfiguring $BUILD_DIR: it has buildtype=$buildtype, meson.build's default is $default_buildtype" >&2
    meson setup --wipe "$BUILD_DIR" >/dev/null
    meson introspect --buildoptions "$BUILD_DIR" >"$opts"
    buildtype=$(option_of buildtype "$opts")
fi
optimization=$(option_of optimization "$opts")
debug=$(option_of debug "$opts")
ninja -C "$BUILD_DIR" bench/bench_models >/dev/null
BENCH="$BUILD_DIR/bench/bench_models"

torch_version=""
if [ -x "$PY" ] && torch_version=$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
    have_torch=1
else
    have_torch=0
fi

# ---- OPENBLAS_CORETYPE: unset for both sides unless asked -----------------
if [ -n "${BENCH_OPENBLAS_CORETYPE:-}" ]; then
    blas_env=(env "OPENBLAS_CORETYPE=$BENCH_OPENBLAS_CORETYPE")
    coretype_note="OPENBLAS_CORETYPE=$BENCH_OPENBLAS_CORETYPE for both sides (BENCH_OPENBLAS_CORETYPE)"
else
    blas_env=(env -u OPENBLAS_CORETYPE)
    coretype_note="OPENBLAS_CORETYPE unset for both sides (OpenBLAS picks the CPU's kernels; the calling environment had ${OPENBLAS_CORETYPE:-it unset}; set BENCH_OPENBLAS_CORETYPE to force one)"
fi

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) online CPUs"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tgraph build: $BUILD_DIR, buildtype=$buildtype (optimization=$optimization, debug=$debug);" \
     "meson.build's default: $default_buildtype"
echo "$coretype_note"
if [ "$have_torch" = 1 ]; then
    echo "pytorch: $torch_version ($PY), OMP_WAIT_POLICY=PASSIVE"
else
    echo "pytorch: not available ($PY -c 'import torch' failed); tgraph only"
fi
echo "protocol: training batch $BATCH (SGD momentum 0.9, BN decay 0.99, eps 1e-3), inference batch $INFER_BATCH" \
     "(BN moving statistics); timed steps cnn $CNN_STEPS train / $CNN_INFER_STEPS infer," \
     "mlp $MLP_STEPS / $MLP_INFER_STEPS; $REPEATS rounds; threads: $THREADS;" \
     "OPENBLAS_NUM_THREADS=1 for both sides at 1 thread"
echo

field() { # field NAME LINE
    local kv
    for kv in $2; do
        if [ "${kv%%=*}" = "$1" ]; then echo "${kv#*=}"; return; fi
    done
}

run_one() { # run_one ROUND SIDE MODEL MODE THREADS
    local round=$1 side=$2 model=$3 mode=$4 t=$5 steps warmup batch line
    local -a envs=("${blas_env[@]}") cmd
    if [ "$model" = cnn ] && [ "$mode" = train ]; then steps=$CNN_STEPS warmup=$CNN_WARMUP
    elif [ "$model" = cnn ]; then steps=$CNN_INFER_STEPS warmup=$CNN_INFER_WARMUP
    elif [ "$mode" = train ]; then steps=$MLP_STEPS warmup=$MLP_WARMUP
    else steps=$MLP_INFER_STEPS warmup=$MLP_INFER_WARMUP; fi
    if [ "$mode" = train ]; then batch=$BATCH; else batch=$INFER_BATCH; fi
    if [ "$t" = 1 ]; then envs+=(OPENBLAS_NUM_THREADS=1); fi
    if [ "$side" = tgraph ]; then
        cmd=("$BENCH")
    else
        envs+=(OMP_WAIT_POLICY=PASSIVE)
        cmd=("$PY" bench/torch_models.py)
    fi
    line=$("${envs[@]}" "${cmd[@]}" --model "$model" --mode "$mode" --threads "$t" --batch "$batch" \
        --steps "$steps" --warmup "$warmup")
    echo "round=$round $line" >>"$results"
    local others cpu note=""
    others=$(field others_cores "$line")
    cpu=$(field cpu_cores "$line")
    if awk -v o="$others" -v w="$OTHERS_WARN" 'BEGIN { exit !(o > w) }'; then
        note="  <- others used $others CPUs"
    fi
    printf 'round %s  %-7s %s %-5s threads=%s  %9s img/s  median %8s ms  peak RSS %7s MiB  cpu %s  others %s%s\n' \
        "$round" "$side" "$model" "$mode" "$t" "$(field images_per_s "$line")" "$(field median_ms "$line")" \
        "$(field peak_rss_mib "$line")" "$cpu" "$others" "$note"
}

for round in $(seq 1 "$REPEATS"); do
    for model in $MODELS; do
        for t in $THREADS; do
            for mode in train infer; do
                run_one "$round" tgraph "$model" "$mode" "$t"
                if [ "$have_torch" = 1 ]; then run_one "$round" pytorch "$model" "$mode" "$t"; fi
            done
        done
    done
done

echo
echo "OpenBLAS kernels: $(field openblas_core "$(grep -m1 ' tgraph ' "$results")") (openblas_get_corename in bench_models)"
awk -v rounds="$REPEATS" -v warn="$OTHERS_WARN" -v infer_batch="$INFER_BATCH" '
    function f(name,   i) { for (i = 1; i <= NF; i++) if (index($i, name "=") == 1) return substr($i, length(name) + 2); return "" }
    function median(list,   v, k, i, j, t) {
        k = split(list, v, " ")
        for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
        return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
    }
    function lo(list,   v, k, i, m) { k = split(list, v, " "); m = v[1] + 0; for (i = 2; i <= k; i++) if (v[i] + 0 < m) m = v[i] + 0; return m }
    function hi(list,   v, k, i, m) { k = split(list, v, " "); m = v[1] + 0; for (i = 2; i <= k; i++) if (v[i] + 0 > m) m = v[i] + 0; return m }
    function n0(x) { return x >= 100 ? sprintf("%.0f", x) : sprintf("%.1f", x) }
    function ips(side, key,   l) { l = speed[side " " key]; return l == "" ? "-" : sprintf("%s (%s-%s)%s", n0(median(l)), n0(lo(l)), n0(hi(l)), (side " " key) in flagged ? " *" : "") }
    function ratio(key,   a, b) {
        a = speed["tgraph " key]; b = speed["pytorch " key]
        return (a == "" || b == "") ? "-" : sprintf("%.2fx", median(a) / median(b))
    }
    function mem(side, key) { return (side " " key) in rss ? sprintf("%.0f", rss[side " " key]) : "-" }
    function memratio(key) {
        return (("tgraph " key) in rss && ("pytorch " key) in rss) ? sprintf("%.2fx", rss["tgraph " key] / rss["pytorch " key]) : "-"
    }
    {
        side = $2; key = f("model") " " f("mode") " " f("threads")
        speed[side " " key] = speed[side " " key] " " f("images_per_s")
        r = f("peak_rss_mib") + 0; if (!((side " " key) in rss) || r > rss[side " " key]) rss[side " " key] = r
        if (side == "pytorch") { s = f("start_rss_mib") + 0; if (s > torch_start) torch_start = s }
        k2 = f("model") " " f("threads"); if (!(k2 in seen)) { seen[k2] = 1; order[n++] = k2 }
        runs++
        o = f("others_cores") + 0; if (o > warn) { busy++; flagged[side " " key] = 1; if (o > maxo) maxo = o }
        st = f("steal_cores") + 0; if (st > warn) { stolen++; if (st > maxs) maxs = st }
        if (f("cpu_cores") + 0 > f("threads") + 0.25) {
            printf "note: %s %s %s threads=%s used %s CPUs (round %s)\n", side, f("model"), f("mode"), f("threads"), f("cpu_cores"), substr($1, 7)
        }
    }
    END {
        printf "\nimages/s: median over %d rounds of each run'"'"'s median step (min-max over rounds); ratio tgraph / PyTorch\n\n", rounds
        print "| model | threads | train tgraph | train PyTorch | ratio | infer tgraph | infer PyTorch | ratio |"
        print "|---|---|---|---|---|---|---|---|"
        for (i = 0; i < n; i++) {
            split(order[i], mt, " "); tk = mt[1] " train " mt[2]; ik = mt[1] " infer " mt[2]
            printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", mt[1], mt[2], ips("tgraph", tk), ips("pytorch", tk), ratio(tk),
                ips("tgraph", ik), ips("pytorch", ik), ratio(ik)
        }
        if (busy) printf "\n* a run of this figure saw other processes keep more than %.2f CPUs busy\n", warn
        printf "\npeak RSS (VmHWM, MiB, max over rounds), training and inference at batch %d each in its own process; ratio tgraph / PyTorch\n\n", infer_batch
        print "| model | threads | train tgraph | train PyTorch | ratio | infer tgraph | infer PyTorch | ratio |"
        print "|---|---|---|---|---|---|---|---|"
        for (i = 0; i < n; i++) {
            split(order[i], mt, " "); tk = mt[1] " train " mt[2]; ik = mt[1] " infer " mt[2]
            printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", mt[1], mt[2], mem("tgraph", tk), mem("pytorch", tk), memratio(tk),
                mem("tgraph", ik), mem("pytorch", ik), memratio(ik)
        }
        if (torch_start > 0) printf "\n(PyTorch'"'"'s figures include %.0f MiB of RSS after `import torch`, before any model.)\n", torch_start
        print ""
        if (busy) printf "WARNING: in %d of %d runs other processes kept more than %.2f CPUs busy (up to %.2f): these figures are not from an idle machine\n", busy, runs, warn, maxo
        else printf "no run saw other processes use more than %.2f CPUs\n", warn
        if (stolen) printf "WARNING: in %d of %d runs the hypervisor stole more than %.2f CPUs (up to %.2f)\n", stolen, runs, warn, maxs
    }' "$results"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
