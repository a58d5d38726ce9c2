#!/usr/bin/env bash
# examples/teach/race: the read of a variable with no order against its
# assign gives one value in creation order but both the old (1) and the new
# (2) value over the race seeds, the lint names the unordered pair, and the
# read made inside a control dependency on the assign gives 2 for every seed.
# usage: example_race.sh RACE
set -euo pipefail
out=$("$1")
echo "$out"
grep -q '^normal run (creation order), every time: r = 2$' <<< "$out"
race=$(grep -A1 '^no control dependency, race seeds' <<< "$out" | tail -1)
grep -Eq 'r = 1 \(read before the assign\) on [1-9][0-9]* seeds, r = 2 \(after\) on [1-9][0-9]* seeds' <<< "$race"
grep -q "\[unordered_variable_access\] 'r' reads variable 'v' and 'assign' writes it" <<< "$out"
fixed=$(grep -A1 '^fixed (read inside control_dependencies(\[a\])), race seeds 1\.\.16' <<< "$out" | tail -1)
grep -q 'r = 1 (read before the assign) on 0 seeds, r = 2 (after) on 16 seeds' <<< "$fixed"
grep -q '^lint of {assign:0, r_fixed:0}: nothing to say$' <<< "$out"
echo "1 passed, 0 failed"
