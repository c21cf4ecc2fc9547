#!/usr/bin/env bash
# Preemption of local runs through the real binary on synthetic data, for the single worker and
# a 2-particle NoSync swarm: SIGUSR1 makes every worker checkpoint and the run goes on; SIGTERM
# makes it checkpoint and exit 0 within 5 s, saying where the checkpoint is; the checkpoint
# verifies (`nosync eval`) and `--resume` runs to the end. SIGINT (Ctrl-C) and SIGHUP do what
# SIGTERM does; a second one while a worker is still inside a long step forces the exit.
# Usage: preemption.sh NOSYNC_BINARY SOURCE_DIR
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
pid=""
on_exit='[ -n "$pid" ] && kill -9 $pid 2>/dev/null'
long=(--set data.format=synthetic --set data.val_size=256 --set data.synthetic_train=1280
      --set data.synthetic_test=256 --set model.name=mlp --set model.width=0.25 --set train.steps=1000000
      --set train.batch_size=32 --set train.threads=1 --set train.log_every=10 --set checkpoint.every=1000000
      --set train.eval_every=1000000 --set swarm.tau=10 --set swarm.fitness_samples=128 --set run.progress=plain)

# wait_for SECONDS CMD...: polls CMD every 0.1 s; fails the test after SECONDS.
wait_for() {
  local limit=$1
  shift
  local t0=$(date +%s.%N)
  until "$@"; do
    kill -0 $pid 2>/dev/null || { cat err.txt; fail "the run died while waiting for: $*"; }
    $py -c "import sys; sys.exit(0 if $(date +%s.%N) - $t0 < $limit else 1)" || fail "timed out after $limit s: $*"
    sleep 0.1
  done
}
has_train_event() { grep -q '"event": *"train"' "$1/metrics.jsonl" 2>/dev/null; }
latest_step() { sed 's/step-//' "$1/latest" 2>/dev/null || echo -1; }
after() { [ "$(latest_step "$1")" -ge 0 ] 2>/dev/null; }

# preempt NAME CHECKPOINT_DIRS... -- ARGS: the whole scenario for one kind of run.
preempt() {
  local name=$1
  shift
  local dirs=()
  while [ "$1" != "--" ]; do dirs+=("$name/$1"); shift; done
  shift
  "$bin" train "${long[@]}" "$@" --run-dir "$name" >out.txt 2>err.txt &
  pid=$!
  wait_for 60 has_train_event "$name"
  for d in "${dirs[@]}"; do [ ! -e "$d/latest" ] || fail "$name: $d has a checkpoint before any request"; done

  # SIGUSR1: every worker checkpoints after its current step; the run keeps going.
  kill -USR1 $pid
  for d in "${dirs[@]}"; do wait_for 10 after "$d"; done
  local first=$(latest_step "${dirs[0]}")
  local lines=$(wc -l <"$name/metrics.jsonl")
  wait_for 20 $py -c "import sys; sys.exit(0 if sum(1 for _ in open('$name/metrics.jsonl')) > $lines + 2 else 1)"
  kill -0 $pid || fail "$name: the run ended after SIGUSR1"
  echo "$name: SIGUSR1 -> checkpoint at step $first in ${#dirs[@]} worker(s); the run goes on"

  # SIGTERM: checkpoint and exit 0 within 5 s.
  local t0=$(date +%s.%N)
  kill -TERM $pid
  wait $pid
  local rc=$?
  pid=""
  local took=$($py -c "print('%.2f' % ($(date +%s.%N) - $t0))")
  [ $rc -eq 0 ] || { cat err.txt; fail "$name: SIGTERM: exit $rc, expected 0"; }
  $py -c "import sys; sys.exit(0 if $took <= 5 else 1)" || fail "$name: SIGTERM: exit took $took s (limit 5 s)"
  grep -q "stopped by SIGTERM at step" err.txt || { cat err.txt; fail "$name: no stop message"; }
  grep -q "resume with: nosync train --resume $name" err.txt || { cat err.txt; fail "$name: no resume hint"; }
  local stopped=$(sed -n 's/.*stopped by SIGTERM at step \([0-9]*\).*/\1/p' err.txt)
  for d in "${dirs[@]}"; do
    local s=$(latest_step "$d")
    [ "$s" -gt "$first" ] || fail "$name: $d: no checkpoint after SIGTERM (latest step $s, SIGUSR1 at $first)"
    "$bin" eval --checkpoint "$d" >eval.txt 2>&1 || { cat eval.txt; fail "$name: $d does not verify"; }
  done
  echo "$name: SIGTERM -> exit 0 after $took s at step $stopped; ${#dirs[@]} checkpoint(s) verify"

  # Resume to the end: a shorter total so that the test stays fast.
  local highest=$stopped
  for d in "${dirs[@]}"; do [ "$(latest_step "$d")" -le "$highest" ] || highest=$(latest_step "$d"); done
  local total=$((highest + 40))
  "$bin" train --resume "$name" --set train.steps=$total --set run.progress=quiet >resume.txt 2>&1 ||
    { cat resume.txt; fail "$name: resume failed"; }
  $py - "$name/summary.json" "$total" <<'PY' || fail "$name: resumed run did not complete"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["completed"] is True and s["steps"] == int(sys.argv[2]), s
PY
  echo "$name: --resume completed the run at step $total"
}

preempt single checkpoints -- --set swarm.algo=single
preempt swarm checkpoints/particle-0 checkpoints/particle-1 -- --set swarm.algo=nosync --set swarm.particles=2

# A script's background job inherits SIGINT ignored; `as_terminal` starts the binary with SIGINT
# and SIGHUP at their defaults, as from a terminal (exec: $! is the binary itself).
as_terminal=($py -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGHUP): signal.signal(s, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])')

# SIGINT and SIGHUP: as SIGTERM, named in the message; the checkpoint verifies.
for sig in INT HUP; do
  name=single-$sig
  "${as_terminal[@]}" "$bin" train "${long[@]}" --set swarm.algo=single --run-dir "$name" >out.txt 2>err.txt &
  pid=$!
  wait_for 60 has_train_event "$name"
  t0=$(date +%s.%N)
  kill -$sig $pid
  wait $pid
  rc=$?
  pid=""
  took=$($py -c "print('%.2f' % ($(date +%s.%N) - $t0))")
  [ $rc -eq 0 ] || { cat err.txt; fail "$name: SIG$sig: exit $rc, expected 0"; }
  $py -c "import sys; sys.exit(0 if $took <= 5 else 1)" || fail "$name: SIG$sig: exit took $took s (limit 5 s)"
  grep -q "stopped by SIG$sig at step" err.txt || { cat err.txt; fail "$name: no 'stopped by SIG$sig' message"; }
  after "$name/checkpoints" || fail "$name: no checkpoint after SIG$sig"
  "$bin" eval --checkpoint "$name/checkpoints" >eval.txt 2>&1 || { cat eval.txt; fail "$name: checkpoint does not verify"; }
  echo "$name: SIG$sig -> exit 0 after $took s with a checkpoint"
done

# A second Ctrl-C forces: particle 0 sleeps inside a step far longer than the test, so the first
# SIGINT cannot be honoured yet; the second ends the process by SIGINT (exit 130) at once.
"${as_terminal[@]}" "$bin" train "${long[@]}" --set swarm.algo=nosync --set swarm.particles=2 \
  --set swarm.fault=slow:particle=0:factor=1000000 --run-dir forced >out.txt 2>err.txt &
pid=$!
wait_for 60 grep -q "^swarm: " err.txt
sleep 0.5
kill -INT $pid
sleep 0.5
kill -0 $pid 2>/dev/null || { cat err.txt; fail "forced: the first SIGINT ended the run although particle 0 was mid-step"; }
t0=$(date +%s.%N)
kill -INT $pid
wait $pid
rc=$?
pid=""
took=$($py -c "print('%.2f' % ($(date +%s.%N) - $t0))")
[ $rc -eq 130 ] || { cat err.txt; fail "forced: second SIGINT: exit $rc, expected 130"; }
$py -c "import sys; sys.exit(0 if $took <= 5 else 1)" || fail "forced: second SIGINT: exit took $took s (limit 5 s)"
echo "forced: second SIGINT -> exit 130 after $took s"

# Started with SIGHUP and SIGINT ignored (nohup, a background job): both stay ignored; SIGTERM
# still stops the run with a checkpoint.
nohup "$bin" train "${long[@]}" --set swarm.algo=single --run-dir nohup >out.txt 2>err.txt &
pid=$!
wait_for 60 has_train_event nohup
kill -HUP $pid
kill -INT $pid
sleep 1
kill -0 $pid 2>/dev/null || { cat err.txt; fail "nohup: SIGHUP or SIGINT ended a run started to ignore them"; }
kill -TERM $pid
wait $pid
rc=$?
pid=""
[ $rc -eq 0 ] && grep -q "stopped by SIGTERM at step" err.txt || { cat err.txt; fail "nohup: SIGTERM: exit $rc"; }
echo "nohup: SIGHUP and SIGINT ignored; SIGTERM -> exit 0 with a checkpoint"
echo "preemption: ok"
