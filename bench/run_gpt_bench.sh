#!/usr/bin/env bash
# gpt training-step speed, side by side in one run: tokens/s of nosync's gpt vs PyTorch
# (Debian python3-torch) on the twin GPT (python/nosync_models.py), same sizes (default: batch
# 16, context 128, layers 4, heads 4, embed 128 = 0.84 M parameters), same optimizer (AdamW),
# same threads (1 and 2) and precision (fp32, bf16 autocast). PyTorch runs eager and under
# torch.jit.trace / torch.jit.script (1.13 has no torch.compile); the ratio is against its
# best mode at each precision and thread count (target >= 1.2x). Every (loop, precision,
# threads) runs one round of SECONDS per ROUND, rounds alternating over all of them, so drift
# in the machine's speed hits all alike. Run on an otherwise idle machine.
# Usage: bench/run_gpt_bench.sh [BUILD_DIR] [SECONDS_PER_ROUND] [ROUNDS] [THREADS] [OPTIMIZER]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
seconds=${2:-4}
rounds=${3:-3}
thread_counts=${4:-1 2}
optimizer=${5:-adamw}
batch=16 context=128 layers=4 heads=4 embed=128
[ -x "$build/bench/nosync_bench_gpt" ] || cmake --build "$build" --target nosync_bench_gpt
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
     "avx512_bf16: $(grep -qm1 avx512_bf16 /proc/cpuinfo && echo yes || echo no)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# PyTorch keeps freed memory as nosync does (util::keep_freed_memory; docs/performance.md,
# "Memory allocator"): otherwise its steps are page-fault bound here and the ratio flatters us.
pytorch_env=(env MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=4294967295 MALLOC_ARENA_MAX=1)
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for r in $(seq "$rounds"); do
  for t in $thread_counts; do
    for p in fp32 bf16; do
      "$build/bench/nosync_bench_gpt" --threads "$t" --seconds "$seconds" --rounds 1 --batch $batch \
        --context $context --layers $layers --heads $heads --embed $embed --precision $p \
        --optimizer "$optimizer" >>"$results"
      for mode in eager trace script; do
        "${pytorch_env[@]}" /usr/bin/python3 "$src/bench/pytorch_gpt_step.py" "$src" "$t" "$seconds" 1 $batch \
          $context $layers $heads $embed $p $mode "$optimizer" 2>/dev/null >>"$results"
      done
    done
  done
  echo "round $r of $rounds done ($(cut -d' ' -f1 /proc/loadavg) load)" >&2
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$results" <<'PY'
import json, sys
from collections import defaultdict
rows = [json.loads(l) for l in open(sys.argv[1])]
wall, cpu = defaultdict(list), defaultdict(list)
meta = {}
for r in rows:
    wall[(r["loop"], r["precision"], r["threads"])].append(r["tokens_per_s"])
    cpu[(r["loop"], r["precision"], r["threads"])].append(r["tokens_per_cpu_s"])
    if r["loop"] == "nosync":
        meta = r
n = len(next(iter(wall.values())))
print(f"gpt: batch {meta['batch']} x context {meta['context']}, {meta['parameters']} parameters, "
      f"{meta['optimizer']}, BLAS {meta['blas']}; {meta['flops_per_token'] / 1e6:.2f} MFLOP per trained token")
modes = ["eager", "trace", "script"]


def table(rates, title):
    mean = {k: sum(v) / len(v) for k, v in rates.items()}
    print(title)
    print(f"{'prec':>5} {'thr':>3} | {'nosync':>8} | " + " ".join(f"{m:>8}" for m in modes) +
          f" | {'best':>6} {'ratio':>6} | {'GFLOP/s':>7}")
    for p in ("fp32", "bf16"):
        for t in sorted({k[2] for k in mean}):
            ours = mean[("nosync", p, t)]
            torch_rates = {m: mean.get((f"pytorch_{m}", p, t), 0.0) for m in modes}
            best = max(torch_rates, key=torch_rates.get)
            print(f"{p:>5} {t:>3} | {ours:>8.0f} | " + " ".join(f"{torch_rates[m]:>8.0f}" for m in modes) +
                  f" | {best:>6} {ours / torch_rates[best]:>5.2f}x | {ours * meta['flops_per_token'] / 1e9:>7.1f}")


table(wall, f"tokens/s (wall clock), mean of {n} alternating rounds; ratio = nosync / PyTorch's best mode")
table(cpu, "tokens per CPU second of the process (equals tokens/s at 1 thread on an idle core; what to read "
           "when other processes share the machine)")
PY
