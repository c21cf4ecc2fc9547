#!/usr/bin/env bash
# Users' own data from the command line: a torch.save tensors file (12 classes of float
# features, made by Debian's python3-torch) trained by a single worker and a 2-particle NoSync
# swarm far above chance and evaluated; a gpt learning a short Debian text below its unigram
# entropy; bad files and a model that does not fit the task refused with one line, exit 2,
# before any run directory exists.
# Usage: own_data.sh NOSYNC_BINARY SOURCE_DIR
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"

$py - <<'PY' || fail "could not write the tensors files"
import torch
g = torch.Generator().manual_seed(0)
protos = torch.randn(12, 20, generator=g) * 2
def split(n):
    y = torch.arange(n) % 12
    return protos[y] + torch.randn(n, 20, generator=g), y
tx, ty = split(1200); vx, vy = split(240); sx, sy = split(360)
torch.save({"train_x": tx, "train_y": ty, "val_x": vx, "val_y": vy, "test_x": sx, "test_y": sy}, "feat.pt")
torch.save({"train_x": tx, "train_y": ty.float(), "test_x": sx, "test_y": sy}, "float_labels.pt")
torch.save({"train_x": tx, "train_y": ty, "test_x": sx[:, :5], "test_y": sy}, "shapes.pt")
torch.save({"train_x": tx, "train_y": ty}, "no_test.pt")
PY

common=(--set data.format=tensors --set data.path=feat.pt --set model.name=mlp --set model.width=0.25
        --set train.batch_size=32 --set train.steps=150 --set train.eval_every=50 --set train.threads=1
        --set run.progress=quiet)
accuracy() { $py -c "import json,sys; s=json.load(open(sys.argv[1])); print(s.get('best', s)['test_accuracy'])" "$1"; }
above() { $py -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "$1" "$2"; }

"$bin" train "${common[@]}" --set swarm.algo=single --run-dir single >out.txt 2>err.txt \
  || { cat err.txt; fail "single worker on a tensors file exited $?"; }
acc=$(accuracy single/summary.json); echo "single worker test accuracy $acc (chance 0.083)"
above "$acc" 0.6 || fail "single worker: test accuracy $acc, not far above chance"
"$bin" train "${common[@]}" --set swarm.algo=nosync --set swarm.particles=2 --set swarm.tau=10 --run-dir swarm \
  >out.txt 2>err.txt || { cat err.txt; fail "nosync swarm on a tensors file exited $?"; }
acc=$(accuracy swarm/summary.json); echo "nosync best particle test accuracy $acc"
above "$acc" 0.6 || fail "nosync: test accuracy $acc, not far above chance"
"$bin" eval --checkpoint single >eval.txt 2>&1 || { cat eval.txt; fail "eval of the tensors run exited $?"; }
grep -q "test accuracy" eval.txt || fail "eval does not report accuracy: $(cat eval.txt)"

# A gpt on a short Debian text (base-files ships it everywhere) learns more than byte frequencies.
text=/usr/share/common-licenses/GPL-3
"$bin" train --set data.format=text --set data.path=$text --set data.context=64 --set model.name=gpt \
  --set model.layers=2 --set model.heads=2 --set model.embed=64 --set train.optimizer=adamw --set train.lr=0.003 \
  --set train.weight_decay=0 --set train.batch_size=16 --set train.steps=300 --set train.eval_every=150 \
  --set train.threads=1 --set swarm.algo=single --set run.progress=quiet --run-dir lm >out.txt 2>err.txt \
  || { cat err.txt; fail "gpt on text exited $?"; }
$py - "$text" <<'PY' || fail "gpt: validation loss not below the unigram entropy"
import json, math, sys, collections
data = open(sys.argv[1], "rb").read()
c = collections.Counter(data); n = len(data)
h = -sum(v / n * math.log(v / n) for v in c.values())
s = json.load(open("lm/summary.json"))
print(f"gpt val loss {s['val_loss']:.3f} nats ({s['val_bits_per_byte']:.3f} bits/byte), unigram entropy {h:.3f}")
assert s["task"] == "language_model", s["task"]
assert abs(s["val_perplexity"] - math.exp(s["val_loss"])) < 1e-6 * s["val_perplexity"]
assert s["val_loss"] < h - 0.15, (s["val_loss"], h)
PY

refused() {  # NAME NEEDLE ARGS...: exit 2, one line holding NEEDLE, no run directory
  local name=$1 needle=$2; shift 2
  "$bin" train "$@" --run-dir "r_$name" >out.txt 2>err.txt; local rc=$?
  [ $rc -eq 2 ] || { cat err.txt; fail "$name: exit $rc, expected 2"; }
  [ "$(wc -l <err.txt)" -eq 1 ] || { cat err.txt; fail "$name: the error is not one line"; }
  grep -qF -- "$needle" err.txt || fail "$name: '$needle' not in: $(cat err.txt)"
  [ ! -e "r_$name" ] || fail "$name: the refused run left r_$name"
}
base=(--set data.format=tensors --set model.name=mlp --set run.progress=quiet)
refused float_labels "float_labels.pt: train_y: expected integer class labels" "${base[@]}" --set data.path=float_labels.pt
refused shapes "has 5: expected the same shape" "${base[@]}" --set data.path=shapes.pt --set data.val_size=100
refused no_test "no_test.pt: no key 'test_x'" "${base[@]}" --set data.path=no_test.pt
refused missing "missing.pt" "${base[@]}" --set data.path=missing.pt
refused cnn_on_text "model.name = cnn is a classifier" --set data.format=text --set data.path=$text --set data.context=16
refused gpt_on_images "model.name = gpt is a language model" --set model.name=gpt
echo "own_data: all checks passed"
