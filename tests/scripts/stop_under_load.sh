#!/usr/bin/env bash
# Stop requests honoured under any load: a swarm of 4 particles per core, stopped by SIGTERM,
# SIGINT or SIGHUP (chosen at random) at a random point, exits 0 within 5 s with a checkpoint of
# every particle that verifies and resumes to the end; train.threads = 1024 for 4 particles is
# clamped to the cores with a warning (it used to make ten tiny steps take minutes and SIGTERM
# wait as long), and SIGTERM stops that run within 5 s too.
# Usage: stop_under_load.sh NOSYNC_BINARY SOURCE_DIR
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
pid=""
on_exit='[ -n "$pid" ] && kill -9 $pid 2>/dev/null'
cores=$(nproc)
particles=$((4 * cores))
long=(--set data.format=synthetic --set data.val_size=256 --set data.synthetic_train=1280
      --set data.synthetic_test=256 --set model.name=mlp --set model.width=0.25 --set train.steps=1000000
      --set train.batch_size=32 --set train.log_every=10 --set checkpoint.every=1000000
      --set train.eval_every=1000000 --set swarm.tau=10 --set swarm.fitness_samples=128 --set run.progress=plain
      --set swarm.algo=nosync)
# As from a terminal: SIGINT and SIGHUP at their defaults (a script's background job inherits
# SIGINT ignored, which nosync keeps ignored); exec, so $! is the binary itself.
as_terminal=($py -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGHUP): signal.signal(s, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])')

# wait_for SECONDS CMD...: polls CMD every 0.1 s; fails the test after SECONDS.
wait_for() {
  local limit=$1 t0=$SECONDS
  shift
  until "$@"; do
    kill -0 $pid 2>/dev/null || { cat err.txt; fail "the run died while waiting for: $*"; }
    [ $((SECONDS - t0)) -lt "$limit" ] || fail "timed out after $limit s: $*"
    sleep 0.1
  done
}
has_train_event() { grep -q '"event": *"train"' "$1/metrics.jsonl" 2>/dev/null; }
latest_step() { sed 's/step-//' "$1/latest" 2>/dev/null || echo -1; }

# stop_within NAME SIG: sends SIG, waits, checks exit 0 within 5 s and the stop message.
stop_within() {
  local name=$1 sig=$2 t0
  t0=$(date +%s.%N)
  kill -"$sig" $pid
  wait $pid
  local rc=$?
  pid=""
  took=$($py -c "print('%.2f' % ($(date +%s.%N) - $t0))")
  [ $rc -eq 0 ] || { cat err.txt; fail "$name: SIG$sig: exit $rc, expected 0"; }
  $py -c "import sys; sys.exit(0 if $took <= 5 else 1)" || fail "$name: SIG$sig: exit took $took s (limit 5 s)"
  grep -q "stopped by SIG$sig at step" err.txt || { cat err.txt; fail "$name: no 'stopped by SIG$sig' message"; }
}

RANDOM=$$
sigs=(TERM INT HUP)
for trial in 1 2 3; do
  name=over-$trial
  sig=${sigs[$((RANDOM % 3))]}
  delay=$($py -c "import random; print(round(random.uniform(0, 2), 2))")
  "${as_terminal[@]}" "$bin" train "${long[@]}" --set swarm.particles=$particles --set train.threads=1 \
    --run-dir "$name" >out.txt 2>err.txt &
  pid=$!
  wait_for 120 has_train_event "$name"
  sleep "$delay"
  stop_within "$name" "$sig"
  highest=0
  for ((p = 0; p < particles; ++p)); do
    d=$name/checkpoints/particle-$p
    s=$(latest_step "$d")
    [ "$s" -ge 0 ] || fail "$name: particle $p wrote no checkpoint after SIG$sig"
    [ "$s" -le "$highest" ] || highest=$s
  done
  # Every checkpoint verifies (particle 0 by eval; all of them by the resume, which reads each).
  "$bin" eval --checkpoint "$name/checkpoints/particle-0" >eval.txt 2>&1 || { cat eval.txt; fail "$name: checkpoint does not verify"; }
  total=$((highest + 20))
  "$bin" train --resume "$name" --set train.steps=$total --set run.progress=quiet >resume.txt 2>&1 ||
    { cat resume.txt; fail "$name: resume after SIG$sig failed"; }
  $py - "$name/summary.json" "$total" "$particles" <<'PY' || fail "$name: resumed run did not complete"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["completed"] is True and s["steps"] == int(sys.argv[2]), s
assert s["particles"] == int(sys.argv[3]), s
PY
  echo "$name: $particles particles on $cores cores, SIG$sig after ${delay} s -> exit 0 in $took s; resumed to step $total"
done

# train.threads = 1024 for 4 particles: lowered to the cores' share, said once.
"$bin" train "${long[@]}" --set swarm.particles=4 --set train.threads=1024 --run-dir threads >out.txt 2>err.txt &
pid=$!
wait_for 120 has_train_event threads
[ "$(grep -c 'train.threads = 1024 for each of 4 worker(s) oversubscribes' err.txt)" -eq 1 ] ||
  { cat err.txt; fail "threads: no single warning about train.threads = 1024"; }
per=$((cores / 4 > 0 ? cores / 4 : 1))
grep -q "$per intra-op thread(s) each" err.txt || { cat err.txt; fail "threads: not clamped to $per per particle"; }
stop_within threads TERM
for p in 0 1 2 3; do [ "$(latest_step "threads/checkpoints/particle-$p")" -ge 0 ] || fail "threads: particle $p has no checkpoint"; done
echo "threads: train.threads = 1024 x 4 particles clamped to $per each (warned once); SIGTERM -> exit 0 in $took s"
echo "stop_under_load: ok"
