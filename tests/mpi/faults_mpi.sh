#!/usr/bin/env bash
# Failures and signals under real mpirun: a rank that throws or is killed ends the whole job
# quickly with a non-zero exit (no hang); a stalled rank is named by the watchdog; SIGUSR1 makes
# every rank checkpoint and the run continues to the end.
# Usage: faults_mpi.sh NOSYNC_BINARY SOURCE_DIR MPIRUN
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
long=(--set data.format=synthetic --set data.val_size=256 --set data.synthetic_train=1280
      --set data.synthetic_test=256 --set model.name=mlp --set model.width=0.25 --set train.steps=100000
      --set train.batch_size=32 --set train.threads=1 --set train.log_every=10 --set checkpoint.every=1000000
      --set swarm.tau=10 --set swarm.fitness_samples=128 --set run.progress=plain --set swarm.algo=nosync)

# expect_job_dies NAME FAULT TEXT [extra args]: the job exits non-zero, stderr has TEXT, and it
# ended within 10 s of the fault (the fault line and the end are timed by this script).
expect_job_dies() {
  local name=$1 fault=$2 text=$3
  shift 3
  local t0=$SECONDS
  NOSYNC_FAULT=$fault timeout 120 "$mpirun" -np 2 --oversubscribe --bind-to none -x NOSYNC_FAULT \
    "$bin" train "${long[@]}" --run-dir "r-$name" "$@" >"$name.out" 2>"$name.err" &
  local pid=$!
  # When did the fault fire? The rank prints its fault/error line then.
  local fired=""
  while kill -0 $pid 2>/dev/null; do
    if [ -z "$fired" ] && grep -q "fault injected" "$name.err" 2>/dev/null; then fired=$SECONDS; fi
    sleep 0.2
  done
  wait $pid
  local rc=$?
  [ -n "$fired" ] || fired=$SECONDS
  local after=$((SECONDS - fired))
  [ $rc -ne 0 ] || { cat "$name.err"; fail "$name: job exited 0"; }
  [ $rc -ne 124 ] || { cat "$name.err"; fail "$name: job hung (killed by timeout)"; }
  grep -q -- "$text" "$name.err" || { cat "$name.err"; fail "$name: stderr lacks '$text'"; }
  [ $after -le 10 ] || fail "$name: job ended $after s after the fault (limit 10 s)"
  echo "ok   $name: exit $rc, ended ${after} s after the fault, total $((SECONDS - t0)) s"
}

expect_job_dies throw "throw:rank=1:step=30" "\[rank 1/2\] error: fault injected: rank 1 throws at step 30"
expect_job_dies kill "kill:rank=1:step=30" "killing myself"
expect_job_dies stall "stall:rank=1:step=30" "watchdog: rank 1 of 2 made no training step" --set comm.watchdog_s=3

# SIGUSR1 to mpirun: every rank writes a checkpoint and the run goes on to its end.
"$mpirun" -np 2 --oversubscribe --bind-to none "$bin" train "${long[@]}" --set train.steps=3000 \
  --run-dir r-usr1 >usr1.out 2>usr1.err &
pid=$!
for _ in $(seq 300); do
  grep -q '"step":100,' r-usr1/metrics.jsonl 2>/dev/null && break
  sleep 0.1
done
kill -USR1 $pid
wait $pid
rc=$?
[ $rc -eq 0 ] || { cat usr1.err; fail "SIGUSR1 run exited $rc"; }
/usr/bin/python3 - <<'PY' || fail "SIGUSR1 checkpoints"
import json
recs = [json.loads(l) for l in open("r-usr1/metrics.jsonl")]
ck = [r for r in recs if r["event"] == "checkpoint" and r["reason"] == "request"]
assert sorted({r["rank"] for r in ck}) == [0, 1], ck
assert all(0 < r["step"] < 3000 for r in ck), ck
print("ok   SIGUSR1: checkpoints on request at steps", [r["step"] for r in ck])
PY
[ -f r-usr1/checkpoints/particle-1/latest ] || fail "rank 1 wrote no checkpoint"

# SIGTERM to mpirun: every rank writes a checkpoint and the job ends, non-zero. Open MPI sends the
# ranks SIGCONT, waits odls_base_sigkill_timeout (1 s by default, docs/mpi.md), sends SIGTERM,
# waits as long again, then SIGKILLs. The test gives them 3 s (in CI, beside the sanitizer tests,
# 1 s was once too short), and runs quiet: meanwhile mpirun stops reading the ranks' output, and
# a rank printing a progress line every ~3 ms blocked on its full stderr pipe and never stopped.
"$mpirun" -np 2 --oversubscribe --bind-to none --mca odls_base_sigkill_timeout 3 "$bin" train "${long[@]}" \
  --set run.progress=quiet --run-dir r-term >term.out 2>term.err &
pid=$!
for _ in $(seq 300); do
  grep -q '"step":50,' r-term/metrics.jsonl 2>/dev/null && break
  sleep 0.1
done
t0=$SECONDS
kill -TERM $pid
wait $pid
rc=$?
[ $rc -ne 0 ] || fail "SIGTERM: job exited 0"
[ $((SECONDS - t0)) -le 10 ] || fail "SIGTERM: job took $((SECONDS - t0)) s to end"
for r in 0 1; do
  grep -q "\[rank $r/2\] stopped by SIGTERM at step" term.err || { cat term.err; fail "SIGTERM: rank $r did not stop cleanly"; }
  [ -f r-term/checkpoints/particle-$r/latest ] || fail "SIGTERM: rank $r wrote no checkpoint"
done
echo "ok   SIGTERM: exit $rc, $(grep -c "stopped by SIGTERM" term.err) of 2 ranks checkpointed"
echo "mpi fault checks passed"
