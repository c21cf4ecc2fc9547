#!/usr/bin/env bash
# `nosync eval` on a swarm's run directory (checkpoints/particle-<i>/, no `latest` of its own):
# the best particle by default, chosen by the fitness the run recorded (summary.json, or the
# checkpoints' state.json without it) and named; `--model average` (the particles' mean, batch
# norm re-estimated, = the run's own swarm average) and `--model particle-N`; wrong choices are
# one line, exit 2. A batch-norm model (resnet) on synthetic data, two particles, one thread each.
# Usage: eval_swarm.sh NOSYNC_BINARY SOURCE_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"

data=(--set data.format=synthetic --set data.synthetic_train=640 --set data.synthetic_test=256
      --set data.val_size=128 --set data.synthetic_size=8 --set train.batch_size=32 --set train.threads=1
      --set run.progress=quiet)
"$bin" train "${data[@]}" --set model.name=resnet --set model.width=0.25 --set train.steps=24 \
  --set swarm.algo=nosync --set swarm.particles=2 --set swarm.tau=6 --set swarm.attractor=mean \
  --set swarm.fitness_samples=64 --run-dir swarm >train.txt 2>&1 || { cat train.txt; fail "swarm train failed"; }
[ ! -e swarm/checkpoints/latest ] || fail "a swarm run has a checkpoints/latest of its own: the test proves nothing"

summary() { $py -c "import json,sys; s=json.load(open('swarm/summary.json')); print(eval(sys.argv[1]))" "$1"; }
pct() { $py -c "print('%.2f %%' % (100 * $1))"; }
best=$(summary 's["best_particle"]')
other=$((1 - best))

# Default: the best particle, named, with the summary's test accuracy of the best particle.
"$bin" eval --checkpoint swarm >best.txt 2>&1 || { cat best.txt; fail "eval of a swarm run directory failed"; }
cat best.txt
grep -q "best particle: particle-$best of 2" best.txt || fail "eval does not name the best particle ($best)"
grep -q "summary.json" best.txt || fail "eval does not say where the fitness came from"
grep -q "test accuracy.*$(pct "$(summary 's["best"]["test_accuracy"]')")" best.txt ||
  fail "eval's best particle does not reproduce summary.json's best test accuracy"
"$bin" eval --checkpoint swarm/checkpoints >best2.txt 2>&1 || { cat best2.txt; fail "eval of checkpoints/ failed"; }
grep -q "best particle: particle-$best of 2" best2.txt || fail "eval of checkpoints/ picks another model"

# The average: the same model as the run's own swarm average (same accuracy and loss).
"$bin" eval --checkpoint swarm --model average >avg.txt 2>&1 || { cat avg.txt; fail "eval --model average failed"; }
cat avg.txt
grep -q "swarm average of 2 particles at step 24" avg.txt || fail "eval --model average does not say what it evaluated"
grep -q "test accuracy.*$(pct "$(summary 's["average"]["test_accuracy"]')")" avg.txt ||
  fail "eval --model average does not reproduce summary.json's swarm average accuracy"
grep -q "test loss.*$(summary '"%.4f" % s["average"]["test_loss"]')" avg.txt ||
  fail "eval --model average does not reproduce summary.json's swarm average loss"

# One particle by name; it is the one in its directory.
"$bin" eval --checkpoint swarm --model particle-$other >p.txt 2>&1 || { cat p.txt; fail "eval --model particle-$other failed"; }
grep -q "particle-$other of 2, step 24" p.txt || fail "eval --model particle-$other does not name it"
"$bin" eval --checkpoint swarm/checkpoints/particle-$other >p2.txt 2>&1 || { cat p2.txt; fail "eval of particle dir failed"; }
metrics() { grep -E 'test (accuracy|loss)' "$1" | tr -s ' '; }  # the numbers, not the table's widths
[ "$(metrics p.txt)" = "$(metrics p2.txt)" ] || fail "--model particle-$other differs from its dir"

# Without summary.json (a stopped run) the checkpoints' recorded validation loss decides, and it
# picks the same particle (both are the full validation split at the last step).
cp -r swarm stopped
rm stopped/summary.json
grep -q '"val_loss"' stopped/checkpoints/particle-0/step-24/state.json || fail "state.json records no val_loss"
"$bin" eval --checkpoint stopped >st.txt 2>&1 || { cat st.txt; fail "eval of a run without summary.json failed"; }
grep -q "best particle: particle-$best of 2.*state.json" st.txt || fail "without summary.json: $(grep best st.txt)"

# Wrong choices: one line, exit 2.
refused() {  # refused EXPECTED ARGS...
  local expected=$1
  shift
  set +e
  "$bin" eval "$@" >bad.txt 2>&1
  local rc=$?
  set -e
  [ $rc -eq 2 ] || { cat bad.txt; fail "eval $*: exit $rc, expected 2"; }
  [ "$(wc -l <bad.txt)" -eq 1 ] || { cat bad.txt; fail "eval $*: not one line"; }
  grep -q -- "$expected" bad.txt || fail "eval $*: unclear: $(cat bad.txt)"
}
refused "no particle-7" --checkpoint swarm --model particle-7
refused "--model worst: unknown model" --checkpoint swarm --model worst
refused "holds one model" --checkpoint swarm/checkpoints/particle-0 --model average
"$bin" train "${data[@]}" --set model.name=mlp --set train.steps=4 --set swarm.algo=single --run-dir single >s.txt 2>&1 ||
  { cat s.txt; fail "single train failed"; }
"$bin" eval --checkpoint single >single.txt 2>&1 || { cat single.txt; fail "eval of a single run failed"; }
grep -q "the checkpoint single/checkpoints/step-4" single.txt || fail "single eval does not say what it evaluated"
refused "holds one model" --checkpoint single --model particle-0
echo "eval of swarm run directories: best, average, particle-N and refusals passed"
