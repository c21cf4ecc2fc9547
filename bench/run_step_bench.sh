#!/usr/bin/env bash
# Training-step speed of the `cnn` model, side by side in one run: nosync's loop vs a bare
# libtorch loop vs PyTorch eager, at 1 and 2 threads. Prints ratios (targets: >= 0.98x bare,
# >= 1.0x PyTorch). Run on an otherwise idle machine.
# Usage: bench/run_step_bench.sh [BUILD_DIR] [SECONDS_PER_ROUND] [ROUNDS]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
seconds=${2:-4}
rounds=${3:-3}
[ -x "$build/bench/nosync_bench_step" ] || cmake --build "$build" --target nosync_bench_step
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
     "avx512_bf16: $(grep -qm1 avx512_bf16 /proc/cpuinfo && echo yes || echo no)"
results=$(mktemp)
for t in 1 2; do
  "$build/bench/nosync_bench_step" --threads $t --seconds "$seconds" --rounds "$rounds" >>"$results"
  /usr/bin/python3 "$src/bench/pytorch_step.py" "$src" $t "$seconds" "$rounds" 64 >>"$results"
done
/usr/bin/python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {(r["loop"], r["threads"]): r["samples_per_s"] for r in rows}
print(f"{'threads':>7} {'nosync':>10} {'bare':>10} {'pytorch':>10} {'vs bare':>8} {'vs pytorch':>10}")
for t in sorted({r["threads"] for r in rows}):
    n, b, p = by[("nosync", t)], by[("bare_libtorch", t)], by[("pytorch_eager", t)]
    print(f"{t:>7} {n:>10.0f} {b:>10.0f} {p:>10.0f} {n / b:>7.3f}x {n / p:>9.3f}x")
PY
rm -f "$results"
