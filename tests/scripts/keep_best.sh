#!/usr/bin/env bash
# checkpoint.keep_best = K through the real binary: besides the newest checkpoint.keep ones, the
# K checkpoints of lowest validation loss stay. The same run with every checkpoint kept (one
# thread, so both runs are the same run) says which those are; checkpoints between evaluations
# are evaluated for it (every state.json holds its "val_loss"), which changes nothing else.
# Usage: keep_best.sh NOSYNC_BINARY SOURCE_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"

# A high constant learning rate on 20 classes makes the validation loss move up and down between
# checkpoints, so that the best ones are not simply the newest.
run=(--set data.format=synthetic --set data.synthetic_train=640 --set data.synthetic_test=128
     --set data.val_size=128 --set data.synthetic_size=4 --set data.synthetic_classes=20 --set model.name=mlp
     --set model.width=0.25 --set train.batch_size=16 --set train.steps=40 --set train.lr=1.0
     --set train.schedule=constant --set train.threads=1
     --set train.eval_every=5 --set checkpoint.every=2 --set swarm.algo=single --set run.progress=quiet)
"$bin" train "${run[@]}" --set checkpoint.keep=0 --set checkpoint.keep_best=1 --run-dir all >all.txt 2>&1 || { cat all.txt; fail "train failed"; }
"$bin" train "${run[@]}" --set checkpoint.keep=2 --set checkpoint.keep_best=3 --run-dir best >best.txt 2>&1 ||
  { cat best.txt; fail "train with keep_best failed"; }

$py - <<'PY' || fail "the kept checkpoints are not the newest 2 and the 3 of lowest validation loss"
import json, os
def losses(run):
    d = f"{run}/checkpoints"
    out = {}
    for name in os.listdir(d):
        if name.startswith("step-"):
            state = json.load(open(f"{d}/{name}/state.json"))
            assert "val_loss" in state, f"{d}/{name}/state.json has no val_loss"
            out[int(name[5:])] = state["val_loss"]
    return out
every = losses("all")
assert sorted(every) == list(range(2, 41, 2)), sorted(every)
kept = losses("best")
for step, loss in kept.items():
    assert loss == every[step], (step, loss, every[step])  # the same run: the same losses
newest = sorted(every)[-2:]
best = sorted(every, key=lambda s: (every[s], -s))[:3]
print("val_loss per checkpoint:", {s: round(every[s], 4) for s in sorted(every)})
print("kept:", sorted(kept), "expected newest", newest, "+ best", sorted(best))
assert sorted(kept) == sorted(set(newest) | set(best)), sorted(kept)
assert set(best) - set(newest), "the best are the newest: the test proves nothing"
PY
grep -q "keep_best = 3" best/config.toml || fail "config.toml lacks checkpoint.keep_best"
echo "checkpoint.keep_best kept the newest and the best checkpoints"
