#!/usr/bin/env bash
# Runs every teaching program (examples/teach/) in this folder, so that their
# pictures land here, and puts each program's output into docs/teaching.md
# between its "<!-- output: NAME -->" line and the closing fence.
# usage: bash docs/teaching/make.sh [BUILD_DIR]   (default: build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath "${1:-build}")
progs=(update_ops_missing stale_update_ops empty_control_deps decay eval_training_mode saver_trainable
       variable_reuse race cond_pitfall init_order gan_update_ops)
cd "$here"
for p in "${progs[@]}"; do
  echo "== $p"
  "$build/examples/$p" > "$p.out"
done
python3 - "$here/../teaching.md" "${progs[@]}" <<'PY'
import re, sys
path, names = sys.argv[1], sys.argv[2:]
text = open(path).read()
for n in names:
    out = open(f"{path.rsplit('/', 1)[0]}/teaching/{n}.out").read().rstrip("\n")
    # the block's lines up to the first one that opens with the fence
    pat = re.compile(r"(<!-- output: %s -->\n```text\n)(?:(?!```).*\n)*?(```)" % re.escape(n))
    text, k = pat.subn(lambda m: m.group(1) + out + "\n" + m.group(2), text)
    if k != 1:
        sys.exit(f"teaching.md has {k} output blocks for {n}")
open(path, "w").write(text)
PY
rm -f ./*.out ./checkpoint ./*.ckpt.*  # saver_trainable's checkpoint
echo "docs/teaching.md updated"
