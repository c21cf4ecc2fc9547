#!/usr/bin/env bash
# Under real mpirun too, nothing is written until every rank has passed every check
# (docs/reliability.md): a fault naming a rank or particle that does not exist, or a batch larger
# than a shard, refuses the job with exit 2 before its directory exists; a finished run's resume
# changes nothing; a second job into a running job's directory is refused naming the holder. A
# user error is said once, by one rank (only that line with mpirun -q).
# Usage: refused_mpi.sh NOSYNC_BINARY SOURCE_DIR MPIRUN
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
run_np() { local np=$1; shift; timeout 120 "$mpirun" -np "$np" --oversubscribe --bind-to none "$@"; }
small=(--set data.format=synthetic --set data.val_size=64 --set data.synthetic_train=512
       --set data.synthetic_test=64 --set model.name=mlp --set model.width=0.25 --set train.steps=8
       --set train.batch_size=16 --set train.threads=1 --set checkpoint.every=4 --set swarm.tau=2
       --set run.progress=quiet)
snapshot() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }

refused_new() {  # refused_new NAME "text" ARGS...: exit 2, the text, no directory
  local name=$1 text=$2
  shift 2
  run_np 2 "$bin" train "${small[@]}" --run-dir "new-$name" "$@" >"$name.out" 2>"$name.err"
  local rc=$?
  [ $rc -eq 2 ] || { cat "$name.err"; fail "$name: exit $rc, expected 2"; }
  grep -qF -- "$text" "$name.err" || { cat "$name.err"; fail "$name: stderr lacks '$text'"; }
  [ "$(grep -c "nosync: error" "$name.err")" -eq 1 ] || { cat "$name.err"; fail "$name: the error is not printed once"; }
  [ ! -e "new-$name" ] || fail "$name: the refused job created its directory"
  echo "ok   $name: $(grep "nosync: error" "$name.err")"
}
refused_new "rank that does not exist" "names rank 2, but the MPI job has 2 rank(s)" --set swarm.fault=kill:rank=2:step=1
refused_new "particle that does not exist" "names particle 3" --set swarm.fault=nan:particle=3:step=1
refused_new "batch larger than a shard" "larger than a worker's shard" --set swarm.shard=true --set train.batch_size=300
refused_new "bad value on the command line" "train.lr: expected a number, found 'abc'" --set train.lr=abc
# With mpirun -q (Open MPI's own banners off, docs/mpi.md) a user error is the one line and exit 2.
timeout 120 "$mpirun" -q -np 3 --oversubscribe --bind-to none "$bin" train "${small[@]}" --set train.lr=abc \
  --run-dir new-quiet >quiet.out 2>quiet.err
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <quiet.err)" -eq 1 ] && [ ! -s quiet.out ] ||
  { cat quiet.out quiet.err; fail "mpirun -q: exit $rc and $(wc -l <quiet.err) stderr line(s), expected 2 and 1"; }
[ ! -e new-quiet ] || fail "the refused job created its directory"
echo "ok   mpirun -q -np 3 with a bad value: exit 2, one line"

run_np 2 "$bin" train "${small[@]}" --run-dir done >done.out 2>done.err || { cat done.err; fail "the MPI run failed"; }
before=$(snapshot done)
run_np 2 "$bin" train --resume done >again.out 2>again.err || { cat again.err; fail "resume of a finished run: exit $?"; }
grep -q "has finished (step 8 of 8)" again.err || { cat again.err; fail "no 'finished' message"; }
[ "$before" = "$(snapshot done)" ] || fail "resume of a finished MPI run changed its directory"
run_np 2 "$bin" train --resume done --set model.width=0.5 >bad.out 2>bad.err; rc=$?
[ $rc -eq 2 ] && grep -q "has shape" bad.err || { cat bad.err; fail "shape mismatch under mpirun: exit $rc"; }
[ "$before" = "$(snapshot done)" ] || fail "a refused MPI resume changed its directory"
run_np 2 "$bin" train --resume done --set train.steps=12 >more.out 2>more.err || { cat more.err; fail "resume to more steps failed"; }
[ -d done/checkpoints/particle-1/step-12 ] || fail "resume to 12 steps did not reach step 12"
echo "ok   a finished MPI run's resume changes nothing; a refused one neither; more steps continue it"
echo "all refused MPI jobs left nothing behind"
