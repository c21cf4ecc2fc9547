#!/usr/bin/env bash
# `nosync train` under mpirun -np 2: rank 0's TensorBoard events and metrics.csv hold both
# particles' scalars, rank 1's forwarded records included, equal to metrics.jsonl
# (tests/python/check_tensorboard.py reads them independently).
# Usage: tensorboard_mpi.sh NOSYNC_BINARY SOURCE_DIR MPIRUN
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
command -v protoc >/dev/null && $py -c "import google.protobuf" 2>/dev/null \
  || fail "needs Debian protobuf-compiler and python3-protobuf: scripts/install-deps.sh"
"$mpirun" -np 2 --oversubscribe --bind-to none "$bin" train --set data.format=synthetic --set data.val_size=256 \
  --set data.synthetic_train=1280 --set data.synthetic_test=256 --set model.name=mlp --set model.width=0.25 \
  --set train.steps=40 --set train.batch_size=32 --set train.threads=1 --set train.log_every=10 \
  --set train.eval_every=20 --set checkpoint.every=20 --set swarm.algo=nosync --set swarm.tau=10 \
  --set swarm.fitness_samples=128 --set run.progress=quiet --run-dir run >out.txt 2>err.txt \
  || { cat err.txt; fail "nosync under mpirun -np 2 exited $?"; }
[ "$(ls run/tb | wc -l)" -eq 1 ] || fail "expected one events file (rank 0's): $(ls run/tb)"
$py "$src/tests/python/check_tensorboard.py" run --particles 2 --files 1 || fail "events or metrics.csv differ"
$py - <<'PY' || fail "metrics.csv lacks a rank's rows"
import csv
rows = list(csv.DictReader(open("run/metrics.csv")))
assert {(r["particle"], r["rank"]) for r in rows if r["train/loss"]} == {("0", "0"), ("1", "1")}, rows[:3]
PY
echo "mpi tensorboard checks passed"
