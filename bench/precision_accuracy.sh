#!/usr/bin/env bash
# bf16 vs fp32 test accuracy on the default Fashion-MNIST cnn job (5 epochs, one worker), one
# run per seed and precision. JOBS runs at a time (default 1: one after the other, so that the
# speed figures are clean; accuracy does not depend on it).
# Prints per-run accuracy, wall time, samples/s, GFLOP/s and the mean difference (target: bf16
# within 0.3 points of fp32).
# Usage: [JOBS=N] bench/precision_accuracy.sh [BUILD_DIR] [SEEDS] [EXTRA --set ARGS...]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
seeds=${2:-1 2 3}
shift 2 || true
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
jobs=${JOBS:-1}
for s in $seeds; do
  for p in fp32 bf16; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    "$build/nosync" train --run-dir "$work/$p-$s" --set swarm.algo=single --set train.seed="$s" \
      --set train.precision=$p --set run.progress=quiet "$@" >/dev/null &
  done
done
wait
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$work" "$seeds" <<'PY'
import json, sys
work, seeds = sys.argv[1], sys.argv[2].split()
acc = {}
print(f"{'precision':>9} {'seed':>4} {'test acc':>8} {'wall s':>7} {'samples/s':>9} {'GFLOP/s':>8} {'% peak':>6} {'t(90%) s':>8}")
for p in ("fp32", "bf16"):
    for s in seeds:
        d = f"{work}/{p}-{s}"
        sm = json.load(open(f"{d}/summary.json"))
        evals = [json.loads(l) for l in open(f"{d}/metrics.jsonl")]
        t90 = next((e["wall_s"] for e in evals if e.get("event") == "eval" and e["test_accuracy"] >= 0.9), None)
        acc.setdefault(p, []).append(sm["test_accuracy"])
        print(f"{p:>9} {s:>4} {100 * sm['test_accuracy']:>7.2f}% {sm['wall_s']:>7.1f} {sm['samples_per_s']:>9.0f} "
              f"{sm.get('achieved_gflops', 0):>8.1f} {100 * sm.get('peak_fraction', 0):>5.1f}% "
              f"{t90 if t90 is not None else float('nan'):>8.1f}")
mean = {p: 100 * sum(v) / len(v) for p, v in acc.items()}
print(f"mean test accuracy: fp32 {mean['fp32']:.2f} %, bf16 {mean['bf16']:.2f} %, "
      f"bf16 - fp32 = {mean['bf16'] - mean['fp32']:+.2f} points (target: within 0.3)")
PY
