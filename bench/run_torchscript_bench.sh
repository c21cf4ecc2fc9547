#!/usr/bin/env bash
# The cost of a TorchScript model: one training step of the built-in `cnn` against the same
# network loaded as TorchScript (the twin from python/nosync_models.py, traced by
# tests/python/torchscript_models.py), both through nosync's Trainer, side by side in one
# process with alternating rounds, fp32 and bf16, Fashion-MNIST batches of 64. Target >= 0.9x.
# Run on an otherwise idle machine.
# Usage: bench/run_torchscript_bench.sh [BUILD_DIR] [SECONDS_PER_ROUND] [ROUNDS] [THREADS]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
seconds=${2:-4}
rounds=${3:-3}
threads=${4:-1}
[ -x "$build/bench/nosync_bench_step" ] || cmake --build "$build" --target nosync_bench_step
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$src/tests/python/torchscript_models.py" "$work"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load before:" \
     "$(cut -d' ' -f1-3 /proc/loadavg)"
for precision in fp32 bf16; do
  "$build/bench/nosync_bench_step" --model cnn --threads "$threads" --seconds "$seconds" --rounds "$rounds" \
    --precision "$precision" --torchscript "$work/cnn.ts" >"$work/$precision.jsonl"
  /usr/bin/python3 - "$work/$precision.jsonl" "$threads" <<'PY'
import json, sys
rows = {r["loop"]: r for r in map(json.loads, open(sys.argv[1]))}
a, b = rows["nosync"], rows["torchscript"]
print(f"cnn {a['precision']} {sys.argv[2]} thread(s): built-in {a['samples_per_s']:.0f} samples/s, "
      f"TorchScript {b['samples_per_s']:.0f} samples/s: {b['samples_per_s'] / a['samples_per_s']:.2f}x "
      f"(per CPU second {b['samples_per_cpu_s'] / a['samples_per_cpu_s']:.2f}x)")
PY
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
