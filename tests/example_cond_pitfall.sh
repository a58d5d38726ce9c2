#!/usr/bin/env bash
# examples/teach/cond_pitfall: the assign made before the cond runs on all
# three runs, the one made in the branch only on the True run, and the trace
# of a False run marks the true branch's ops as skipped; tg_explain says the
# outside assign ran as an input of the cond's Switch, the inside one skipped.
# usage: example_cond_pitfall.sh COND_PITFALL
set -euo pipefail
out=$("$1")
echo "$out"
grep -q 'count_outside = 3 (made outside the cond: runs every time), count_inside = 1 (made in the branch' <<< "$out"
grep -q 'cond_inside/assign_inside.*\[skipped: its cond branch was not taken\]' <<< "$out"
grep 'assign_outside' <<< "$out" | grep -vq 'skipped'
grep -Eq "^explain: 'assign_outside' ran: 'cond_outside/Merge' .*<-data- 'cond_outside/Switch_1' <-data- 'assign_outside'" <<< "$out"
grep -Eq "^explain: 'cond_inside/assign_inside' was in the run but skipped: it is in a tg_cond branch that was not taken" <<< "$out"
echo "1 passed, 0 failed"
