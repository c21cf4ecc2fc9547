#!/usr/bin/env bash
# Resume under real mpirun, with the same, a larger and a smaller number of ranks: a job killed
# (SIGKILLed rank, throwing rank) or stopped (SIGTERM to mpirun) leaves checkpoints that verify,
# and `mpirun -np M nosync train --resume RUN_DIR` completes it, every particle continuing from its
# checkpoint (never from step 0); new particles are spawned from the best saved one, and with
# fewer ranks the best saved particles go on. The collective baselines resume from the newest
# step all workers have; `sync` resumed ends bit-identical to an uninterrupted run. Runs move
# between launchers: saved under mpirun, resumed as threads, and the other way round.
# Usage: resume_mpi.sh NOSYNC_BINARY SOURCE_DIR MPIRUN
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
run_np() { local np=$1; shift; timeout 120 "$mpirun" -np "$np" --oversubscribe --bind-to none "$@"; }
total=90
small=(--set data.format=synthetic --set data.val_size=256 --set data.synthetic_train=1280
       --set data.synthetic_test=256 --set model.name=mlp --set model.width=0.25 --set train.steps=$total
       --set train.batch_size=32 --set train.threads=1 --set train.log_every=10 --set checkpoint.every=20
       --set swarm.tau=10 --set swarm.fitness_samples=128 --set run.progress=plain)

# killed_run NAME NP FAULT [args]: a job whose rank dies by FAULT; it must end non-zero.
killed_run() {
  local name=$1 np=$2 fault=$3
  shift 3
  NOSYNC_FAULT=$fault run_np "$np" -x NOSYNC_FAULT "$bin" train "${small[@]}" --run-dir "r-$name" "$@" \
    >"$name.out" 2>"$name.err"
  local rc=$?
  [ $rc -ne 0 ] && [ $rc -ne 124 ] || { cat "$name.err"; fail "$name: job exited $rc (expected a failure)"; }
}

# verify_latest DIR NP: every particle's latest checkpoint verifies (nosync eval reads it back
# checking every checksum).
verify_latest() {
  local d=$1 np=$2 p
  for ((p = 0; p < np; ++p)); do
    "$bin" eval --checkpoint "$d/checkpoints/particle-$p" >/dev/null 2>eval.err || { cat eval.err; fail "$d: particle $p's latest checkpoint does not verify"; }
  done
}

# check_resumed DIR NP ALGO: the resumed job completed with NP particles; each particle's
# "resume" record (the last one: the newest job) is past step 0, its next training record follows
# that step (it continued the checkpoint, not step 0), and it ends at the run's last step. (A
# nosync rank runs ahead of a dying peer, and may have finished all its steps before the job died.)
check_resumed() {
  /usr/bin/python3 - "$@" <<'PY' || fail "$1: resumed run content"
import json, os, sys
d, n, algo = sys.argv[1], int(sys.argv[2]), sys.argv[3]
total = 90
s = json.load(open(f"{d}/summary.json"))
assert s["completed"] and s["algo"] == algo and s["particles"] == n and s["ranks"] == n, s
assert s["steps"] == total, s["steps"]
for k in ("best", "average", "ensemble"):
    assert s[k]["test_accuracy"] > 0.5, (k, s[k])
recs = [json.loads(l) for l in open(f"{d}/metrics.jsonl")]
starts = {}
for p in range(n):
    mine = [x for x in recs if x.get("particle") == p]
    at = max(i for i, x in enumerate(mine) if x["event"] == "resume")
    step = mine[at]["step"]
    # A periodic checkpoint (every 20 steps), or the one a rank writes when mpirun's SIGTERM
    # ends the job after a peer failed (any step; verify_latest checked it).
    assert step > 0, (p, "resumed from step", step)
    train = [x["step"] for x in mine[at:] if x["event"] == "train"]
    if step < total:
        assert train and step < train[0] <= step + 10, (p, step, train[:3])
        assert train[-1] == total, (p, train[-3:])
    else:  # a nosync particle that had finished before its peer died has nothing left to train
        assert not train, (p, train)
    starts[p] = step
assert min(starts.values()) < total, ("no particle had steps left", starts)
for p in range(n):
    latest = open(f"{d}/checkpoints/particle-{p}/latest").read().strip()
    assert latest == f"step-{total}", (p, latest)
print(f"ok   {d}: {algo} resumed with {n} rank(s) from steps {starts}; best {s['best']['test_accuracy']:.3f}")
PY
}

# 1. nosync, rank 1 SIGKILLed at step 50 (checkpoints every 20 steps); the job dies, rank 0 may
# have run on to the end meanwhile. The same 2 ranks resume.
killed_run kill 2 kill:rank=1:step=50 --set swarm.algo=nosync
grep -q "killing myself" kill.err || { cat kill.err; fail "kill: fault did not fire"; }
verify_latest r-kill 2
run_np 2 "$bin" train --resume r-kill >kill2.out 2>kill2.err || { cat kill2.err; fail "resume -np 2 exited $?"; }
check_resumed r-kill 2 nosync
grep -q "summary: nosync with 2 particles" kill2.out || fail "no summary after the resume"

# 2. Every one of 3 ranks throws at its step 50 (the first error ends the job), so all stop
# mid-run; the saved state is resumed with 3, 4 (one new particle) and 2 ranks (the 2 best).
killed_run throw 3 throw:rank=0:step=50,throw:rank=1:step=50,throw:rank=2:step=50 --set swarm.algo=nosync
grep -q "\[rank [0-2]/3\] error: fault injected: rank [0-2] throws at step 50" throw.err || { cat throw.err; fail "throw: no error line naming the rank"; }
verify_latest r-throw 3
cp -r r-throw r-more && cp -r r-throw r-fewer
run_np 3 "$bin" train --resume r-throw >same.out 2>same.err || { cat same.err; fail "resume 3 -> 3 exited $?"; }
check_resumed r-throw 3 nosync

run_np 4 "$bin" train --resume r-more >more.out 2>more.err || { cat more.err; fail "resume 3 -> 4 exited $?"; }
grep -q "resuming 4 particle(s) from 3 saved; best saved particle" more.err || { cat more.err; fail "no ranking note"; }
best=$(sed -n 's/.*best saved particle \([0-9]\).*/\1/p' more.err)
grep -q "particle 3 is new: spawned from saved particle $best" more.err || { cat more.err; fail "particle 3 not spawned from the best"; }
check_resumed r-more 4 nosync
grep -q "^particles = 4" r-more/config.toml || fail "config.toml does not record 4 particles"

run_np 2 "$bin" train --resume r-fewer >fewer.out 2>fewer.err || { cat fewer.err; fail "resume 3 -> 2 exited $?"; }
grep -q "resuming 2 particle(s) from 3 saved" fewer.err || { cat fewer.err; fail "no 3 -> 2 note"; }
best=$(sed -n 's/.*best saved particle \([0-9]\).*/\1/p' fewer.err)
[ "$best" = 0 ] || grep -q "particle 0 continues saved particle $best" fewer.err || { cat fewer.err; fail "the best particle $best does not continue"; }
check_resumed r-fewer 2 nosync
/usr/bin/python3 - r-fewer "$best" <<'PY' || fail "fewer: particle 0 did not continue the best"
import json, sys
d, best = sys.argv[1], int(sys.argv[2])
recs = [json.loads(l) for l in open(f"{d}/metrics.jsonl")]
r = [x for x in recs if x["event"] == "resume" and x["particle"] == 0][-1]
assert r["from"] == best, (r, best)
PY

# 5. SIGTERM to mpirun stops the job (each rank checkpoints; the SIGKILL delay and quiet console as
# in faults_mpi.sh); resume completes it.
"$mpirun" -np 2 --oversubscribe --bind-to none --mca odls_base_sigkill_timeout 3 "$bin" train "${small[@]}" --set train.steps=100000 \
  --set swarm.algo=nosync --set run.progress=quiet --run-dir r-term >term.out 2>term.err &
pid=$!
for _ in $(seq 300); do
  grep -q '"step":30,' r-term/metrics.jsonl 2>/dev/null && break
  sleep 0.1
done
kill -TERM $pid
wait $pid
[ -f r-term/checkpoints/particle-0/latest ] || { cat term.err; fail "SIGTERM: no checkpoint of rank 0"; }
[ -f r-term/checkpoints/particle-1/latest ] || { cat term.err; fail "SIGTERM: no checkpoint of rank 1"; }
stopped=$(sed 's/step-//' r-term/checkpoints/particle-0/latest)
other=$(sed 's/step-//' r-term/checkpoints/particle-1/latest)
# Steps are ~1 ms here: the job ran far before the signal. The resumed run goes 60 steps further
# (train.steps may change on resume).
end=$(( (stopped > other ? stopped : other) + 60 ))
run_np 2 "$bin" train --resume r-term --set train.steps=$end >term2.out 2>term2.err \
  || { cat term2.err; fail "resume after SIGTERM exited $?"; }
/usr/bin/python3 - r-term "$stopped" "$end" <<'PY' || fail "SIGTERM resume content"
import json, sys
d, stopped, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = json.load(open(f"{d}/summary.json"))
assert s["completed"] and s["steps"] == end and s["ranks"] == 2, s
recs = [json.loads(l) for l in open(f"{d}/metrics.jsonl")]
assert stopped >= 30, stopped
mine = [x for x in recs if x.get("particle") == 0]
at = max(i for i, x in enumerate(mine) if x["event"] == "resume")
assert mine[at]["step"] == stopped, (mine[at], stopped)
train0 = [x["step"] for x in mine[at:] if x["event"] == "train"]
assert stopped < train0[0] <= stopped + 10 and train0[-1] == end, train0
print(f"ok   SIGTERM at step {stopped}, resumed to {end}")
PY

# 6. The collective baselines: every worker from the newest common step.
for algo in sync easgd local-sgd; do
  killed_run "$algo" 2 kill:rank=1:step=50 --set swarm.algo=$algo
  verify_latest "r-$algo" 2
  np=2
  [ "$algo" = local-sgd ] && np=3  # a new worker copies worker 0
  run_np $np "$bin" train --resume "r-$algo" >"$algo-2.out" 2>"$algo-2.err" \
    || { cat "$algo-2.err"; fail "$algo resume exited $?"; }
  grep -q "resuming $np worker(s) of $algo at step 40" "$algo-2.err" || { cat "$algo-2.err"; fail "$algo: not resumed at step 40"; }
  check_resumed "r-$algo" $np "$algo"
done

# 7. sync is deterministic (bit-identical all-reduce, one thread): killed + resumed ends on the
# same weights as a straight run (compared through the checksums of the final model.pt).
run_np 2 "$bin" train "${small[@]}" --set swarm.algo=sync --run-dir r-sync-straight >straight.out 2>straight.err \
  || { cat straight.err; fail "straight sync run exited $?"; }
for p in 0 1; do
  a=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['files']['model.pt']['sha256'])" \
      r-sync/checkpoints/particle-$p/step-$total/manifest.json)
  b=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['files']['model.pt']['sha256'])" \
      r-sync-straight/checkpoints/particle-$p/step-$total/manifest.json)
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "sync worker $p: resumed model differs from the straight run ($a vs $b)"
done
echo "ok   sync killed at 50, resumed from 40: final weights bit-identical to a straight run"

# 8. A refused resume changes nothing: a missing particle directory is named, exit 2.
cp -r r-fewer r-broken
rm -rf r-broken/checkpoints/particle-1
before=$(sha256sum r-broken/config.toml)
run_np 2 "$bin" train --resume r-broken >broken.out 2>broken.err
rc=$?
[ $rc -eq 2 ] || { cat broken.err; fail "missing particle: exit $rc, expected 2"; }
grep -q "particle-1: missing: particle 1 of 2 has no checkpoint" broken.err || { cat broken.err; fail "missing particle not named"; }
[ "$before" = "$(sha256sum r-broken/config.toml)" ] || fail "a refused resume rewrote config.toml"
echo "ok   refused resume: exit 2, names the missing particle, config.toml unchanged"
# 9. Across launchers: a run saved under mpirun resumes as threads (no mpirun), and a local run
# resumes under mpirun with another size.
killed_run across 2 throw:rank=0:step=50,throw:rank=1:step=50 --set swarm.algo=nosync
timeout 120 "$bin" train --resume r-across >across.out 2>across.err || { cat across.err; fail "local resume of an MPI run exited $?"; }
/usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert s['particles']==2 and s['steps']==90 and 'ranks' not in s, s" \
  r-across/summary.json || fail "local resume of an MPI run: summary"
NOSYNC_FAULT=throw:particle=0:step=50 timeout 120 "$bin" train "${small[@]}" --set swarm.algo=nosync --set swarm.particles=2 \
  --run-dir r-local >local.out 2>local.err
[ $? -ne 0 ] || fail "local run with a throwing particle exited 0"
run_np 3 "$bin" train --resume r-local >local3.out 2>local3.err || { cat local3.err; fail "MPI resume of a local run exited $?"; }
check_resumed r-local 3 nosync
echo "ok   an MPI run resumed as threads, a local run resumed under mpirun -np 3"

# Hybrid resume (4 ranks = 2 x 2 resumed as 6 = 3 x 2) is not checked here: killing it with
# throws raced with the slower group's first checkpoint under load (failed twice in CI). To do:
# stop it with SIGTERM (every group checkpoints) before resuming.
echo "mpi resume checks passed"
