#!/usr/bin/env bash
# Training-step speed, side by side in one run, on Fashion-MNIST batches of 64 at 1 and 2 threads:
#   nosync fp32 (channels-last)   vs PyTorch fp32 eager              (target >= 1.5x)
#   nosync bf16 (channels-last)   vs PyTorch bf16 autocast + CL      (target >= 1.2x)
#   nosync fp32                   vs a bare libtorch loop (cnn)      (target >= 0.98x)
# Both sides use the BLAS libblas.so.3 resolves to (printed; docs/performance.md, "BLAS").
# plus achieved GFLOP/s and the fraction of the CPU's peak, and the peak RSS of a one-particle
# `nosync train` per model. Every (loop, model, threads) runs one round of SECONDS per ROUND,
# rounds alternating over all of them, so drift in the machine's speed hits all alike.
# Run on an otherwise idle machine.
# Usage: bench/run_step_bench.sh [BUILD_DIR] [SECONDS_PER_ROUND] [ROUNDS] [MODELS]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
seconds=${2:-4}
rounds=${3:-3}
models=${4:-cnn resnet}
[ -x "$build/bench/nosync_bench_step" ] || cmake --build "$build" --target nosync_bench_step
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
     "$(grep -m1 'cpu MHz' /proc/cpuinfo | cut -d: -f2 | xargs) MHz," \
     "avx512f: $(grep -qm1 avx512f /proc/cpuinfo && echo yes || echo no)," \
     "avx512_bf16: $(grep -qm1 avx512_bf16 /proc/cpuinfo && echo yes || echo no)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
# PyTorch gets the allocator setting nosync applies to itself (util::keep_freed_memory): without
# it, Python PyTorch's steps are page-fault bound on this VM (1.9x slower fp32, 4.8x bf16).
# PYTORCH_MALLOC=default measures PyTorch as it comes.
pytorch_env=(env MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647)
[ "${PYTORCH_MALLOC:-}" = default ] && pytorch_env=(env)
echo "PyTorch allocator: ${PYTORCH_MALLOC:-as nosync (MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647)}"
results=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$results" "$work"' EXIT
for r in $(seq "$rounds"); do
  for t in 1 2; do
    for m in $models; do
      bare=0
      [ "$m" = cnn ] && bare=1
      "$build/bench/nosync_bench_step" --model "$m" --threads $t --seconds "$seconds" --rounds 1 \
        --precision fp32 --bare $bare >>"$results"
      "$build/bench/nosync_bench_step" --model "$m" --threads $t --seconds "$seconds" --rounds 1 \
        --precision bf16 --bare 0 >>"$results"
      "${pytorch_env[@]}" /usr/bin/python3 "$src/bench/pytorch_step.py" "$src" $t "$seconds" 1 64 eager "$m" >>"$results"
      "${pytorch_env[@]}" /usr/bin/python3 "$src/bench/pytorch_step.py" "$src" $t "$seconds" 1 64 bf16_cl "$m" >>"$results"
    done
  done
  echo "round $r of $rounds done ($(cut -d' ' -f1 /proc/loadavg) load)" >&2
done
# Peak RSS: a short real run per model and precision with one particle, and with two particles
# (threads of one process) in bf16: the difference is what one more particle costs.
rss_run() {  # NAME MODEL PRECISION PARTICLES
  local algo=single
  [ "$4" -gt 1 ] && algo=nosync
  "$build/nosync" train --run-dir "$work/$1" --set swarm.algo=$algo --set swarm.particles="$4" --set model.name="$2" \
    --set train.precision="$3" --set train.steps=30 --set train.threads=1 --set run.progress=quiet >/dev/null
  /usr/bin/python3 -c "import json; s=json.load(open('$work/$1/summary.json')); \
print(json.dumps({'loop': 'rss', 'model': '$2', 'precision': '$3 x$4', 'peak_rss_mib': s['peak_rss_mib']}))" >>"$results"
}
for m in $models; do
  rss_run "$m-fp32" "$m" fp32 1
  rss_run "$m-bf16" "$m" bf16 1
  rss_run "$m-bf16-2" "$m" bf16 2
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$results" <<'PY'
import json, sys
from collections import defaultdict
rows = [json.loads(l) for l in open(sys.argv[1])]
wall, cpu = defaultdict(list), defaultdict(list)
meta, rss = {}, {}
measured = defaultdict(list)  # per precision: the peak each benchmark process measured
for r in rows:
    if r["loop"] == "rss":
        rss[(r["model"], r["precision"])] = r["peak_rss_mib"]
        continue
    key = (r["loop"], r.get("precision", ""), r["model"], r["threads"])
    wall[key].append(r["samples_per_s"])
    cpu[key].append(r["samples_per_cpu_s"])
    if r["loop"] == "nosync":
        meta[(r["model"], r["precision"])] = (r["flops_per_sample"], r["peak_gflops_per_core"])
        blas = r["blas"]
        measured[r["precision"]].append(r["measured_peak_gflops_per_core"])


def table(rates, title):
    mean = {k: sum(v) / len(v) for k, v in rates.items()}
    print(title)
    print(f"{'model':>6} {'thr':>3} | {'nosync fp32':>11} {'torch fp32':>10} {'ratio':>6} | {'nosync bf16':>11} "
          f"{'torch bf16CL':>12} {'ratio':>6} | {'vs bare':>7} | {'GFLOP/s fp32':>12} {'% peak':>6} | "
          f"{'GFLOP/s bf16':>12} {'% peak':>6}")
    for m in sorted({k[2] for k in mean}):
        for t in sorted({k[3] for k in mean if k[2] == m}):
            of, ob = mean[("nosync", "fp32", m, t)], mean[("nosync", "bf16", m, t)]
            pf, pb = mean[("pytorch_eager", "", m, t)], mean[("pytorch_bf16_cl", "", m, t)]
            bare = mean.get(("bare_libtorch", "fp32", m, t))
            ff, peak_f = meta[(m, "fp32")]
            fb, peak_b = meta[(m, "bf16")]
            gf, gb = ff * of / 1e9, fb * ob / 1e9
            vs_bare = f"{of / bare:6.2f}x" if bare else "      -"
            print(f"{m:>6} {t:>3} | {of:>11.0f} {pf:>10.0f} {of / pf:>5.2f}x | {ob:>11.0f} {pb:>12.0f} {ob / pb:>5.2f}x | "
                  f"{vs_bare} | {gf:>12.1f} {100 * gf / (peak_f * t):>5.1f}% | {gb:>12.1f} {100 * gb / (peak_b * t):>5.1f}%")


print(f"BLAS (float32 matrix products of nosync and PyTorch alike): {blas}")
n = len(next(iter(wall.values())))
table(wall, f"samples/s (wall clock), mean of {n} alternating rounds; ratios side by side")
table(cpu, "samples per CPU second of the process (equals samples/s at 1 thread on an idle core; at 2 threads "
           "it also counts OpenMP spin-waits)")
mp = {p: max(v) for p, v in measured.items()}
print(f"measured peak per core (FMA / AVX512-BF16 dot-product loops, best of the processes): "
      f"{mp.get('fp32', 0):.1f} GFLOP/s fp32, {mp.get('bf16', 0):.1f} bf16; as a fraction of it, 1 thread (wall):")
for (m, p), (f, _) in sorted(meta.items()):
    rate = sum(wall[("nosync", p, m, 1)]) / len(wall[("nosync", p, m, 1)])
    if mp.get(p):
        print(f"  {m} {p}: {f * rate / 1e9:.1f} GFLOP/s = {100 * f * rate / 1e9 / mp[p]:.1f} % of the measured peak")
flops = ", ".join(f"{m} {meta[(m, 'fp32')][0] / 1e6:.1f} M" for m in sorted({k[0] for k in meta}))
print(f"peak per core: {max(v[1] for (m, p), v in meta.items() if p == 'fp32'):.1f} "
      f"GFLOP/s fp32, {max(v[1] for (m, p), v in meta.items() if p == 'bf16'):.1f} bf16 (detected); "
      f"FLOPs per training sample: {flops}")
if rss:
    print("peak RSS of a one-particle `nosync train` (MiB): " +
          ", ".join(f"{m} {p} {v:.0f}" for (m, p), v in sorted(rss.items())))
PY
