#!/usr/bin/env bash
# Two nosync binaries side by side on the same job, rounds alternating (A B A B ...), so that
# drift in the machine's speed hits both alike: samples/s of training (summary.json) and wall
# time per run, and the ratio B/A. For before/after checks of changes to the loop or exchange.
# Usage: bench/binary_ab.sh A_BIN B_BIN [ROUNDS] [--set key=value ...]
#   default job: the default config (2-particle NoSync swarm, Fashion-MNIST cnn), 400 steps.
set -euo pipefail
a=$1 b=$2 rounds=${3:-2}
shift 3 || shift $#
sets=(--set train.steps=400 --set run.progress=quiet "$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); job: nosync train ${sets[*]}"
for r in $(seq 1 "$rounds"); do
  for side in a b; do
    bin=$a; [ "$side" = b ] && bin=$b
    t0=$(date +%s.%N)
    "$bin" train "${sets[@]}" --run-dir "$work/$side$r" >/dev/null 2>&1
    t1=$(date +%s.%N)
    python3 - "$work/$side$r/summary.json" "$side" "$r" "$t0" "$t1" >>"$work/results" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
rate = s["samples_per_s"]
print(sys.argv[2], sys.argv[3], rate, float(sys.argv[5]) - float(sys.argv[4]))
PY
  done
done
python3 - "$work/results" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
for side in "ab":
    r = [float(x[2]) for x in rows if x[0] == side]
    w = [float(x[3]) for x in rows if x[0] == side]
    print(f"{side}: training samples/s {st.mean(r):.0f} (runs {', '.join(f'{x:.0f}' for x in r)}), wall {st.mean(w):.1f} s")
ra = st.mean(float(x[2]) for x in rows if x[0] == "a"); rb = st.mean(float(x[2]) for x in rows if x[0] == "b")
wa = st.mean(float(x[3]) for x in rows if x[0] == "a"); wb = st.mean(float(x[3]) for x in rows if x[0] == "b")
print(f"B/A: samples/s {rb / ra:.3f}x, speed by wall time {wa / wb:.3f}x")
PY
