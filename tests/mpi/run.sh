#!/usr/bin/env bash
# The MPI tests: test_mpi under mpirun with 2 and 3 ranks, in its three
# modes (test_mpi.c says what each checks). Every mpirun is bounded by
# `timeout`, so a collective that hangs fails the test instead of CI.
#
#   run.sh TEST_MPI LSAN_SUPPRESSIONS
#
# Exit 77 (skipped) without mpirun (scripts/setup.sh installs openmpi-bin).
set -euo pipefail
exe=$1 supp=$2

if ! command -v mpirun >/dev/null 2>&1; then
  echo "skipped: mpirun is not installed (scripts/setup.sh installs openmpi-bin)"
  exit 77
fi

# --oversubscribe: more ranks than the CI machine's cores; Open MPI then
# yields when idle instead of spinning. CI runs as root, which mpirun
# refuses unless told.
args=(--oversubscribe --bind-to none)
[ "$(id -u)" -ne 0 ] || args+=(--allow-run-as-root)
# Containers often forbid the cross-memory attach that shared-memory
# transfers use by default (ptrace scope); plain copies work everywhere.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# Under AddressSanitizer: test_mpi ignores what MPI_Init allocates and runs
# LeakSanitizer's check itself before MPI_Finalize, with what the loaded MPI
# libraries keep suppressed by module (lsan.supp); at exit, with Open MPI's
# components unloaded, their allocations could not be told from tgraph's.
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$supp:print_suppressions=0:leak_check_at_exit=0"

fails=0
for np in 2 3; do
  for mode in all fail_feed fail_exit; do
    start=$SECONDS
    rc=0
    timeout -k 5 30 mpirun "${args[@]}" -np "$np" "$exe" "$mode" || rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      echo "FAIL: -np $np $mode hung (killed after 30 s)"
      fails=$((fails + 1))
    elif [ "$rc" -ne 0 ]; then
      echo "FAIL: -np $np $mode: exit status $rc"
      fails=$((fails + 1))
    else
      echo "ok: -np $np $mode ($((SECONDS - start)) s)"
    fi
  done
done
[ "$fails" -eq 0 ]
