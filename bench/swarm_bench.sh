#!/usr/bin/env bash
# Local-transport scaling and straggler tolerance, measured side by side in one run with the
# real CLI on Fashion-MNIST `cnn` (NoSync, gbest, tau 50):
#   A  1 particle  x 1 intra-op thread
#   B  2 particles x 1 thread                        -> total samples/s vs A (target >= 1.9x)
#   C  2 particles x 1 thread, particle 1 slowed 4x  -> particle 0 steps/s vs B (target >= 0.95x)
# Usage: bench/swarm_bench.sh [BUILD_DIR] [STEPS]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
steps=${2:-800}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
run() {  # NAME PARTICLES [FAULT]
  NOSYNC_FAULT=${3:-} "$build/nosync" train --run-dir "$work/$1" --set swarm.algo=nosync \
    --set swarm.particles="$2" --set train.threads=1 --set train.steps="$steps" --set train.log_every=50 \
    --set train.eval_every=1000000 --set checkpoint.every=1000000 --set run.progress=quiet >/dev/null
}
run A 1
run B 2
run C 2 "slow:particle=1:factor=4"
/usr/bin/python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]

def rate(run, particle):
    """steps per wall second of one particle, between its first and last train record"""
    recs = [json.loads(l) for l in open(f"{work}/{run}/metrics.jsonl")]
    recs = [r for r in recs if r.get("event") == "train" and r.get("particle") == particle]
    a, b = recs[0], recs[-1]
    return (b["step"] - a["step"]) / (b["wall_s"] - a["wall_s"])

a0, b0, b1, c0 = rate("A", 0), rate("B", 0), rate("B", 1), rate("C", 0)
print(f"A 1x1  particle 0: {a0 * 64:8.0f} samples/s")
print(f"B 2x1  particles : {(b0 + b1) * 64:8.0f} samples/s total  -> {(b0 + b1) / a0:.2f}x A (target >= 1.9x)")
print(f"C 2x1, particle 1 slowed 4x: particle 0 {c0 * 64:8.0f} samples/s -> {c0 / b0:.2f}x its speed in B (target >= 0.95x)")
PY
