#!/usr/bin/env bash
# A particle whose weights turn NaN (NOSYNC_FAULT=nan:particle=1:step=S) is re-spawned from its
# attractor, and the swarm ends within 0.5 accuracy points of the clean run with the same seed:
# a 2-particle lock-step NoSync swarm, 4 epochs of an MLP on 6,000 Fashion-MNIST images (NaN in
# the second epoch), through the real binary. (After 1 epoch the runs are still ~1 point apart
# from noise alone; by 4 they have converged to within 0.2.)
# Usage: nan_particle.sh NOSYNC_BINARY SOURCE_DIR
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
common=(--set swarm.algo=nosync --set swarm.particles=2 --set swarm.deterministic=true --set swarm.tau=10
        --set data.train_limit=6000 --set data.val_size=1000 --set data.test_limit=2000 --set model.name=mlp
        --set model.width=0.5
        --set train.epochs=4 --set train.threads=1 --set train.seed=7 --set run.progress=quiet
        --set checkpoint.every=1000000 --set train.eval_every=1000000)

"$bin" train "${common[@]}" --run-dir clean >clean.out 2>clean.err || { cat clean.err; fail "clean run failed"; }
NOSYNC_FAULT=nan:particle=1:step=90 "$bin" train "${common[@]}" --run-dir nan >nan.out 2>nan.err ||
  { cat nan.err; fail "NaN run failed"; }
grep -q "fault injected: particle 1 weights set to NaN after step 90" nan/metrics.jsonl || fail "the fault did not fire"
$py - clean/summary.json nan/summary.json <<'PY'
import json, math, sys
clean, nan = (json.load(open(p)) for p in sys.argv[1:3])
print(f"clean: best {100 * clean['test_accuracy']:.2f} %, respawns {clean['respawns']}")
print(f"nan:   best {100 * nan['test_accuracy']:.2f} %, respawns {nan['respawns']}, "
      f"average {100 * nan['average']['test_accuracy']:.2f} %, ensemble {100 * nan['ensemble']['test_accuracy']:.2f} %")
assert nan["respawns"] > clean["respawns"], "the NaN particle was not re-spawned"
for key in ("average", "ensemble"):
    assert math.isfinite(nan[key]["test_loss"]), f"{key} is not finite: NaN leaked into the swarm"
gap = abs(100 * (nan["test_accuracy"] - clean["test_accuracy"]))
assert gap <= 0.5, f"final accuracy differs by {gap:.2f} points from the clean run (limit 0.5)"
print(f"gap {gap:.2f} accuracy points (limit 0.5)")
PY
[ $? -eq 0 ] || fail "NaN run is not within 0.5 points of the clean run"
echo "nan particle: ok"
