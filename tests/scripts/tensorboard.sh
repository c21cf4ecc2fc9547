#!/usr/bin/env bash
# TensorBoard event files and metrics.csv of real runs on synthetic data, read by an independent
# Python reader (tests/python/check_tensorboard.py: protoc-compiled Event/Summary, its own
# CRC-32C): a 2-particle NoSync swarm, its resume (a second events file, the CSV still whole),
# and a single worker killed with SIGKILL (what was flushed at its evaluations and checkpoints
# stays readable).
# Usage: tensorboard.sh NOSYNC_BINARY SOURCE_DIR
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
command -v protoc >/dev/null && $py -c "import google.protobuf" 2>/dev/null \
  || fail "needs Debian protobuf-compiler and python3-protobuf: scripts/install-deps.sh"
check="$src/tests/python/check_tensorboard.py"
small=(--set data.format=synthetic --set data.val_size=256 --set data.synthetic_train=1280
       --set data.synthetic_test=256 --set model.name=mlp --set model.width=0.25 --set train.batch_size=32
       --set train.threads=1 --set train.log_every=5 --set train.eval_every=20 --set checkpoint.every=20
       --set swarm.tau=10 --set swarm.fitness_samples=128 --set run.progress=quiet)

"$bin" train "${small[@]}" --set swarm.algo=nosync --set swarm.particles=2 --set train.steps=40 --run-dir swarm \
  >out.txt 2>err.txt || { cat err.txt; fail "swarm run exited $?"; }
ls swarm/tb | grep -Eq '^events\.out\.tfevents\.[0-9]+\..+\.[0-9]+$' || fail "events file name: $(ls swarm/tb)"
$py "$check" swarm --particles 2 --files 1 || fail "swarm run: events or metrics.csv differ from metrics.jsonl"
grep -q "swarm/diversity" swarm/metrics.csv || fail "no swarm/diversity column"
grep -q "exchange/staleness" swarm/metrics.csv || fail "no exchange/staleness column"
grep -q "final/best/test_accuracy" swarm/metrics.csv || fail "no final/best/test_accuracy column"

sleep 1  # a new second: the resumed process's file sorts after the first
"$bin" train --resume swarm --set train.steps=60 --set run.progress=quiet >out2.txt 2>err2.txt \
  || { cat err2.txt; fail "resume exited $?"; }
$py "$check" swarm --particles 2 --files 2 || fail "resumed swarm: events or metrics.csv differ from metrics.jsonl"
$py - <<'PY' || fail "resumed swarm: metrics.csv does not cover the whole run"
import csv
rows = list(csv.DictReader(open("swarm/metrics.csv")))
steps = {int(r["step"]) for r in rows if r["particle"] == "0" and r["train/loss"]}
assert {5, 40, 45, 60} <= steps, sorted(steps)
PY

# SIGKILL during a single worker's run: the events hold every record up to its last flushes.
"$bin" train "${small[@]}" --set swarm.algo=single --set train.steps=1000000 --set train.eval_every=10 \
  --set checkpoint.every=10 --run-dir killed >out3.txt 2>err3.txt &
pid=$!
on_exit='kill -9 $pid 2>/dev/null'
for _ in $(seq 600); do
  n=$(grep -c '"event":"checkpoint"' killed/metrics.jsonl 2>/dev/null)
  [ "${n:-0}" -ge 3 ] && break
  kill -0 $pid 2>/dev/null || { cat err3.txt; fail "the long run died"; }
  sleep 0.1
done
kill -9 $pid
wait $pid 2>/dev/null
$py "$check" killed --particles 0 --files 1 --killed || fail "killed run: events lost or corrupt"
echo "tensorboard checks passed"
