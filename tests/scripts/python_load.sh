#!/usr/bin/env bash
# Self-describing checkpoints: python/nosync_models.py's load(RUN) builds the model and the input
# transform from the checkpoint alone (state.json "model_card": model options, input, training
# normalization) and predicts the same test images exactly as `nosync eval` scores them: a
# single cnn run, a swarm's best particle and one of its particles, and the saved swarm average.
# Usage: python_load.sh NOSYNC_BINARY SOURCE_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
check="$src/tests/python/check_load.py"

$py "$check" make-data data.pt
common=(--set data.format=tensors --set data.path=data.pt --set data.val_size=100 --set train.batch_size=32
        --set train.threads=1 --set train.precision=fp32 --set run.progress=quiet)
"$bin" train "${common[@]}" --set model.name=cnn --set model.width=0.25 --set train.steps=40 \
  --set swarm.algo=single --run-dir single >t1.txt 2>&1 || { cat t1.txt; fail "single train failed"; }
grep -q '"model_card"' single/checkpoints/step-40/state.json || fail "state.json has no model_card"
"$bin" eval --checkpoint single >e1.txt 2>&1 || { cat e1.txt; fail "eval failed"; }
$py "$check" compare data.pt single e1.txt || fail "load(single run) differs from nosync eval"

"$bin" train "${common[@]}" --set model.name=mlp --set model.width=0.25 --set train.steps=30 \
  --set swarm.algo=nosync --set swarm.particles=2 --set swarm.tau=10 --run-dir swarm >t2.txt 2>&1 ||
  { cat t2.txt; fail "swarm train failed"; }
"$bin" eval --checkpoint swarm >e2.txt 2>&1 || { cat e2.txt; fail "eval of the swarm failed"; }
$py "$check" compare data.pt swarm e2.txt || fail "load(swarm) differs from nosync eval (best particle)"
"$bin" eval --checkpoint swarm --model particle-1 >e3.txt 2>&1 || { cat e3.txt; fail "eval particle-1 failed"; }
$py "$check" compare data.pt swarm e3.txt --model particle-1 || fail "load(swarm, particle-1) differs"
"$bin" eval --checkpoint swarm/checkpoints/average >e4.txt 2>&1 || { cat e4.txt; fail "eval of the average failed"; }
$py "$check" compare data.pt swarm/checkpoints/average e4.txt || fail "load(average) differs from nosync eval"
echo "python load() matches nosync eval on the same images"
