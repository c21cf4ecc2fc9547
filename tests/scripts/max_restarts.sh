#!/usr/bin/env bash
# `nosync train --max-restarts K` through the real binary on synthetic data, with particle 1 of a
# 2-particle NoSync swarm made to throw by NOSYNC_FAULT=throw:particle=1:step=S:
#  - S on a checkpoint step: the relaunch resumes past S, so the fault does not fire again and
#    the run completes after exactly one restart;
#  - S between checkpoints: every relaunch reaches S again, so after K restarts the supervisor
#    gives up with a clear message and exit 1;
#  - a crash before the first checkpoint: nothing to resume, said so, exit 1;
#  - a user error (exit 2) is not retried.
# Particle 1 is also made 2x slower, so that particle 0 always has a checkpoint when it crashes.
# Usage: max_restarts.sh NOSYNC_BINARY SOURCE_DIR
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
small=(--set data.format=synthetic --set data.val_size=256 --set data.synthetic_train=1280
       --set data.synthetic_test=256 --set model.name=mlp --set model.width=0.25 --set train.steps=120
       --set train.batch_size=32 --set train.threads=1 --set train.log_every=10 --set checkpoint.every=30
       --set train.eval_every=1000 --set swarm.tau=10 --set swarm.fitness_samples=128 --set run.progress=quiet
       --set swarm.algo=nosync --set swarm.particles=2)

# 1. Recoverable: the crash comes right after the checkpoint of step 60.
NOSYNC_FAULT=throw:particle=1:step=60,slow:particle=1:factor=2 "$bin" train "${small[@]}" --run-dir a --max-restarts 2 >a.out 2>a.err
rc=$?
[ $rc -eq 0 ] || { cat a.err; fail "recoverable crash: exit $rc, expected 0"; }
[ "$(grep -c 'fault injected: particle 1 throws at step 60' a.err)" -eq 1 ] || { cat a.err; fail "the fault should fire once"; }
grep -q "restart 1 of 2 from its latest checkpoint" a.err || { cat a.err; fail "no restart message"; }
! grep -q "restart 2 of 2" a.err || { cat a.err; fail "restarted twice"; }
grep -q "completed after 1 restart" a.err || { cat a.err; fail "no completion message"; }
$py -c 'import json; s = json.load(open("a/summary.json")); assert s["completed"] and s["steps"] == 120, s' ||
  fail "the restarted run did not complete 120 steps"
"$bin" eval --checkpoint a/checkpoints/particle-1 >/dev/null 2>&1 || fail "particle 1's checkpoint does not verify"
echo "recoverable: crashed once at step 60, restarted once, completed 120 steps"

# 2. The crash recurs on every relaunch (step 45, checkpoints at 30): K = 2 restarts, then failure.
NOSYNC_FAULT=throw:particle=1:step=45,slow:particle=1:factor=2 "$bin" train "${small[@]}" --run-dir b --max-restarts 2 >b.out 2>b.err
rc=$?
[ $rc -eq 1 ] || { cat b.err; fail "recurring crash: exit $rc, expected 1"; }
[ "$(grep -c 'fault injected: particle 1 throws at step 45' b.err)" -eq 3 ] || { cat b.err; fail "expected 3 attempts"; }
grep -q "restart 2 of 2" b.err || { cat b.err; fail "no second restart"; }
grep -q "error: the run in b failed (exit code 1) and 2 restart(s) were allowed, all used" b.err ||
  { cat b.err; fail "unclear final failure"; }
grep -q "nosync train --resume b" b.err || { cat b.err; fail "no resume hint"; }
echo "recurring: 3 attempts, then: $(tail -1 b.err)"

# 3. A crash before any checkpoint: nothing to restart from.
NOSYNC_FAULT=throw:particle=0:step=5 "$bin" train "${small[@]}" --run-dir c --max-restarts 3 >c.out 2>c.err
rc=$?
[ $rc -eq 1 ] || { cat c.err; fail "early crash: exit $rc, expected 1"; }
grep -q "before its first checkpoint: nothing to restart from" c.err || { cat c.err; fail "unclear early failure"; }
[ "$(grep -c 'fault injected' c.err)" -eq 1 ] || { cat c.err; fail "relaunched without a checkpoint"; }

# 4. A user error is reported once, with exit 2, and not retried.
"$bin" train "${small[@]}" --set train.lr=-1 --run-dir d --max-restarts 3 >d.out 2>d.err
rc=$?
[ $rc -eq 2 ] || { cat d.err; fail "user error: exit $rc, expected 2"; }
[ "$(wc -l <d.err)" -eq 1 ] || { cat d.err; fail "user error is not one line"; }
! grep -q restart d.err || fail "a user error was retried"
"$bin" train "${small[@]}" --run-dir a --max-restarts 1 >e.out 2>e.err
rc=$?
[ $rc -eq 2 ] && grep -q "already holds a run" e.err || { cat e.err; fail "existing run: exit $rc"; }
! grep -q restart e.err || fail "a user error in the child was retried"
echo "max-restarts: ok"
