#!/usr/bin/env bash
# MPI transport benchmark over shared memory (btl vader) and TCP (btl tcp, loopback), 3 ranks.
# Usage: bench/run_mpi_bench.sh [BUILD_DIR] [RANKS]
set -euo pipefail
build=${1:-build}
np=${2:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
lscpu | grep -m1 "Model name" || true
for btl in "self,vader" "self,tcp"; do
  mpirun -np "$np" --oversubscribe --bind-to none --mca btl "$btl" "$build/bench/nosync_bench_mpi" "btl $btl"
done
