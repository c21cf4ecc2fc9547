#!/usr/bin/env bash
# The saved config.toml holds the values this machine resolved (swarm.particles = 0 -> one per
# core, train.threads = 0 -> each worker's share, train.precision = 'auto' -> the CPU's) with the
# asked ones as an [asked] record, so that the file reproduces the run elsewhere: a lock-step
# NoSync swarm asked with particles = 0 and precision = 'auto' (train.threads = 1), crashed by an
# injected fault and resumed, ends on checkpoints bit-identical to a straight run of its saved
# config.toml; the resume keeps the [asked] record.
# Usage: resolved_config.sh NOSYNC_BINARY SOURCE_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"

args=(--set data.format=synthetic --set data.synthetic_train=640 --set data.synthetic_test=128
      --set data.val_size=128 --set data.synthetic_size=8 --set model.name=mlp --set model.width=0.25
      --set train.batch_size=16 --set train.steps=20 --set train.threads=1 --set checkpoint.every=10
      --set checkpoint.keep=0 --set swarm.algo=nosync --set swarm.tau=5 --set swarm.attractor=mean
      --set swarm.fitness_samples=64 --set swarm.deterministic=true --set run.progress=quiet)
cores=$(nproc)
particles=$((cores > 2 ? cores : 2))

# a: asked with the defaults swarm.particles = 0 and train.precision = 'auto'; particle 1 throws
# after the checkpoint of step 10, then the run is resumed.
set +e
NOSYNC_FAULT=throw:particle=1:step=10 "$bin" train "${args[@]}" --run-dir a >a1.txt 2>&1
rc=$?
set -e
[ $rc -ne 0 ] || { cat a1.txt; fail "the injected fault did not end the run"; }
grep -q "^particles = $particles$" a/config.toml || { cat a/config.toml; fail "swarm.particles not resolved to $particles"; }
grep -Eq "^precision = '(fp32|bf16)'$" a/config.toml || { cat a/config.toml; fail "train.precision not resolved"; }
grep -q "^threads = 1$" a/config.toml || fail "train.threads changed"
$py - a/config.toml <<'PY' || fail "the [asked] record is wrong"
import sys, tomllib
c = tomllib.load(open(sys.argv[1], "rb"))
assert c["asked"] == {"swarm": {"particles": 0}, "train": {"precision": "auto"}}, c["asked"]
PY
"$bin" train --resume a >a2.txt 2>&1 || { cat a2.txt; fail "resume failed"; }
grep -q "^\[asked.swarm\]$" a/config.toml || fail "the resume dropped the [asked] record"
$py -c 'import json; s = json.load(open("a/summary.json")); assert s["completed"] and s["steps"] == 20, s' ||
  fail "the resumed run did not complete"

# b: the saved file, as another machine would run it: same checkpoints, bit for bit.
"$bin" train --config a/config.toml --run-dir b >b.txt 2>&1 || { cat b.txt; fail "the saved config does not run"; }
! grep -q "asked" b/config.toml || fail "a run of resolved values has an [asked] record"
for i in $(seq 0 $((particles - 1))); do
  for step in 10 20; do
    for f in model.pt optimizer.pt; do
      cmp -s "a/checkpoints/particle-$i/step-$step/$f" "b/checkpoints/particle-$i/step-$step/$f" ||
        fail "particle $i step $step $f differs between the asked+resumed run and its saved config"
    done
  done
done
[ "$($py -c 'import json; print(json.load(open("a/summary.json"))["test_loss"])')" = \
  "$($py -c 'import json; print(json.load(open("b/summary.json"))["test_loss"])')" ] || fail "summaries differ"

# train.threads = 0 is resolved too: each of the particles gets its share of the cores.
"$bin" train "${args[@]}" --set train.threads=0 --set train.steps=2 --run-dir t >t.txt 2>&1 || { cat t.txt; fail "threads=0 run"; }
share=$((cores / particles > 0 ? cores / particles : 1))
grep -q "^threads = $share$" t/config.toml || { grep threads t/config.toml; fail "train.threads not resolved to $share"; }
$py -c 'import sys, tomllib; assert tomllib.load(open("t/config.toml", "rb"))["asked"]["train"]["threads"] == 0' ||
  fail "[asked] lacks threads = 0"
echo "resolved config.toml reproduces the run bit-identically (with a crash and resume on the way)"
