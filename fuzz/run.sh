#!/usr/bin/env bash
# fuzz/run.sh: builds the libFuzzer harnesses (fuzz_idx, fuzz_checkpoint,
# fuzz_checkpoint_v2) with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, straight from the library's sources (the lists
# in src/*/meson.build, and src/formats' protos through protoc-c; no meson), then
# runs them side by side for FUZZ_SECONDS each (default 45) on a working
# corpus in build-fuzz/ seeded from fuzz/corpus_*. Prints the executions
# each did. An input that crashes, leaks, times out or allocates more than
# 64 MiB at once is kept as fuzz/regressions/<harness>-<kind>-<sha1> (the
# unit tests fuzz_replay_* replay it from then on) and fails the run.
# Skipped, with a message, when clang cannot link -fsanitize=fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-45}
out=build-fuzz
mkdir -p "$out/obj" fuzz/regressions

printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
  > "$out/probe.c"
if ! command -v clang > /dev/null || ! clang -fsanitize=fuzzer "$out/probe.c" -o "$out/probe" 2> /dev/null; then
  echo "fuzz: SKIPPED: clang's libFuzzer is not available (clang -fsanitize=fuzzer fails)"
  exit 0
fi

san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
read -r -a deps <<< "$(pkg-config --cflags openblas zlib snappy libprotobuf-c)"
read -r -a libs <<< "$(pkg-config --libs openblas zlib snappy libprotobuf-c)"
cflags=(-std=c11 -g -O1 -fno-omit-frame-pointer "${san[@]}" -Iinclude -Isrc/graph -I"$out/proto" "${deps[@]}")
harnesses=(idx checkpoint checkpoint_v2)

# src/formats' protos, generated as src/formats/meson.build does.
mkdir -p "$out/proto"
if [ -n "$(find src/formats/proto -name '*.proto' -newer "$out/proto/tensor_bundle.pb-c.c" -print -quit 2> /dev/null)" ] ||
   [ ! -e "$out/proto/tensor_bundle.pb-c.c" ]; then
  (cd src/formats/proto && protoc-c --c_out="../../../$out/proto" ./*.proto)
fi

# The library's sources, as meson builds them (a file not listed there yet
# is someone's work in progress, not part of the library).
srcs=()
for part in graph ops layers optim data formats; do
  for f in $(grep -o "'[A-Za-z0-9_]*\.c'" "src/$part/meson.build" | tr -d "'"); do srcs+=("src/$part/$f"); done
done
for f in "$out"/proto/*.pb-c.c; do srcs+=("$f"); done

# An object is rebuilt when its source, or any header, is newer.
stale=()
objs=()
for s in "${srcs[@]}"; do
  o="$out/obj/${s//\//_}.o"
  objs+=("$o")
  if [ ! -e "$o" ] || [ "$s" -nt "$o" ] ||
     [ -n "$(find include src fuzz "$out/proto" -name '*.h' -newer "$o" -print -quit)" ]; then
    stale+=("$s")
  fi
done
start=$SECONDS
if ((${#stale[@]})); then
  printf '%s\n' "${stale[@]}" | xargs -P "$(nproc 2> /dev/null || echo 2)" -I{} sh -c \
    'o="$1/obj/$(echo "$2" | tr / _).o"; shift 2; clang "$@" -fsanitize=fuzzer-no-link -c "$0" -o "$o"' \
    {} "$out" {} "${cflags[@]}"
fi
for h in "${harnesses[@]}"; do
  clang "${cflags[@]}" -fsanitize=fuzzer -Ifuzz "fuzz/fuzz_$h.c" "${objs[@]}" "${libs[@]}" -lm -lpthread \
    -o "$out/fuzz_$h"
done
echo "fuzz: built ${#stale[@]} of ${#srcs[@]} library objects and ${#harnesses[@]} harnesses in $((SECONDS - start)) s"

# One harness: its log in build-fuzz/, its status in build-fuzz/<h>.rc.
run() {
  local h=$1 rc=0
  mkdir -p "$out/corpus_$h"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$out/fuzz_$h" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=64 -print_final_stats=1 -artifact_prefix="fuzz/regressions/$h-" \
    "$out/corpus_$h" "fuzz/corpus_$h" > "$out/fuzz_$h.log" 2>&1 || rc=$?
  echo "$rc" > "$out/$h.rc"
}
for h in "${harnesses[@]}"; do run "$h" & done
wait

failed=0
for h in "${harnesses[@]}"; do
  rc=$(cat "$out/$h.rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz_$h.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$out/fuzz_$h.log" | tail -1 || true)
  echo "fuzz: $h: ${execs:-0} executions in ${seconds} s (${cov:-cov: ?} edges, corpus $(ls "$out/corpus_$h" | wc -l) inputs)"
  if [ "$rc" != 0 ]; then
    echo "fuzz: $h FAILED (exit $rc); the input is kept in fuzz/regressions/; from $out/fuzz_$h.log:"
    grep -v '^#' "$out/fuzz_$h.log" | tail -40
    failed=1
  fi
done
exit "$failed"
