#!/usr/bin/env bash
# Every test: set up, build with warnings as errors and run the suite, then
# build it again under AddressSanitizer + UndefinedBehaviorSanitizer (with
# leak detection) and run it again, run the thread tests under
# ThreadSanitizer, then fuzz the file readers for a bounded time
# (fuzz/run.sh). Any failure, sanitizer report or fuzzer crash fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Counts the results in meson's JSON test logs of both builds, so that the
# run closes on one plain "N passed, N failed" line.
summary() {
  python3 - build-ci/meson-logs/testlog.json build-sanitize/meson-logs/testlog.json \
    build-tsan/meson-logs/testlog.json <<'PY'
import json, sys
ok = bad = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        r = json.loads(line).get("result")
        ok += r in ("OK", "EXPECTEDFAIL")
        bad += r not in ("OK", "EXPECTEDFAIL", "SKIP")
print(f"tests: {ok} passed, {bad} failed")
PY
}
rm -f build-ci/meson-logs/testlog.json build-sanitize/meson-logs/testlog.json build-tsan/meson-logs/testlog.json
trap summary EXIT

[ -d build-ci ] || meson setup build-ci -Dwerror=true
meson compile -C build-ci
meson test -C build-ci --print-errorlogs

[ -d build-sanitize ] || meson setup build-sanitize -Dwerror=true \
  -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
meson compile -C build-sanitize
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-sanitize --print-errorlogs

# ThreadSanitizer over the thread tests: session.h's concurrency contract
# (test_concurrency) and the intra-op pool (test_threads).
[ -d build-tsan ] || meson setup build-tsan -Dwerror=true -Db_sanitize=thread -Db_lundef=false \
  -Dbuildtype=debug
meson compile -C build-tsan test_concurrency test_threads
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  meson test -C build-tsan --no-rebuild --print-errorlogs test_concurrency test_threads

# The IDX and checkpoint fuzzers, side by side for FUZZ_SECONDS (default 45)
# each, after both builds passed: prints their executions; an input that
# crashes is kept in fuzz/regressions/ (replayed by fuzz_replay_* above from
# then on) and fails the run. Skipped with a message without clang's libFuzzer.
bash fuzz/run.sh
