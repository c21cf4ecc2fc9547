#!/usr/bin/env bash
# A user's own TorchScript models end to end (docs/own-model.md): a CNN with batch norm and an
# MLP with dropout, scripted in Python (tests/python/torchscript_models.py), train on a
# Fashion-MNIST subset with `single` and `nosync` (2 particles) far above chance; every other
# algorithm trains them too; `eval` agrees with the summary and refuses a moved module file
# clearly; a finished run resumes to the same result; the checkpoint loads strictly into the
# user's nn.Module and `eval --save-torchscript` writes a module for torch.jit.load, and both
# reproduce nosync's test accuracy in Python.
# Usage: torchscript_train.sh NOSYNC_BINARY SOURCE_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
$py "$src/tests/python/torchscript_models.py" m || fail "could not write the test modules (python3-torch?)"
data=/usr/share/datasets/fashion-mnist
common=(--set model.name=torchscript --set data.train_limit=4000 --set data.val_size=500 --set data.test_limit=1000
        --set data.normalize=false --set train.precision=fp32 --set train.steps=100 --set train.lr=0.05 --set train.threads=1
        --set train.log_every=50 --set run.progress=quiet --set swarm.tau=10)
summary() { $py -c "import json,sys; s=json.load(open('$1/summary.json')); print(s$2)"; }
above() { $py -c "import sys; sys.exit(0 if $1 > $2 else 1)"; }

for model in cnn_bn mlp; do
  "$bin" train "${common[@]}" --set model.path=m/$model.ts --set swarm.algo=single --run-dir single-$model \
    >out.txt 2>&1 || { cat out.txt; fail "$model single: train failed"; }
  acc=$(summary single-$model '["test_accuracy"]')
  above "$acc" 0.6 || fail "$model single: test accuracy $acc is not far above chance (0.10)"
  grep -q "^path = '$work/m/$model.ts'" single-$model/config.toml ||
    fail "config.toml does not name the absolute module path: $(grep path single-$model/config.toml)"

  "$bin" train "${common[@]}" --set model.path=m/$model.ts --set swarm.algo=nosync --set swarm.particles=2 \
    --run-dir nosync-$model >out.txt 2>&1 || { cat out.txt; fail "$model nosync: train failed"; }
  best=$(summary nosync-$model '["best"]["test_accuracy"]')
  avg=$(summary nosync-$model '["average"]["test_accuracy"]')
  above "$best" 0.6 && above "$avg" 0.6 || fail "$model nosync: best $best / average $avg not far above chance"
  echo "ok   $model: single $acc, nosync x 2 best $best, average $avg (chance 0.10)"

  # eval reproduces the summary; --save-torchscript writes the trained module.
  "$bin" eval --checkpoint single-$model --save-torchscript single-$model.ts >eval.txt 2>&1 ||
    { cat eval.txt; fail "$model: eval failed"; }
  pct=$($py -c "print('%.2f %%' % (100 * $acc))")
  grep -q "test accuracy.*$pct" eval.txt || { cat eval.txt; fail "$model: eval does not report $pct"; }
  ck=single-$model/checkpoints/$(cat single-$model/checkpoints/latest)
  $py "$src/tests/python/check_torchscript_interop.py" $model $ck/model.pt single-$model.ts --accuracy "$data" 1000 "$acc" ||
    fail "$model single: Python does not reproduce nosync's accuracy"
  avg_ck=$(ls -d nosync-$model/checkpoints/average/step-* | tail -1)
  "$bin" eval --checkpoint "$avg_ck" --save-torchscript nosync-$model.ts >eval.txt 2>&1 ||
    { cat eval.txt; fail "$model: eval of the swarm average failed"; }
  $py "$src/tests/python/check_torchscript_interop.py" $model $avg_ck/model.pt nosync-$model.ts --accuracy "$data" 1000 "$avg" ||
    fail "$model nosync: Python does not reproduce the swarm average's accuracy"
done

# Every other algorithm trains it, as it trains the built-in models; and so does bf16 autocast.
for algo in sync local-sgd easgd diloco; do
  "$bin" train "${common[@]}" --set model.path=m/cnn_bn.ts --set swarm.algo=$algo --set swarm.particles=2 \
    --set train.steps=60 --run-dir $algo >out.txt 2>&1 || { cat out.txt; fail "$algo: train failed"; }
  a=$(summary $algo '["average"]["test_accuracy"]')
  above "$a" 0.5 || fail "$algo: average test accuracy $a"
  echo "ok   $algo x 2: average $a"
done
"$bin" train "${common[@]}" --set model.path=m/cnn_bn.ts --set swarm.algo=single --set train.precision=bf16 \
  --run-dir bf16 >out.txt 2>&1 || { cat out.txt; fail "bf16: train failed"; }
a=$(summary bf16 '["test_accuracy"]')
above "$a" 0.6 || fail "bf16: test accuracy $a"
echo "ok   single bf16: $a"

# A finished run resumes to the same result.
acc1=$(summary single-cnn_bn '["test_accuracy"]')
"$bin" train --resume single-cnn_bn --set run.progress=quiet >resume.txt 2>&1 || { cat resume.txt; fail "resume failed"; }
acc2=$(summary single-cnn_bn '["test_accuracy"]')
[ "$acc1" = "$acc2" ] || fail "resume of a finished run changed accuracy $acc1 -> $acc2"
echo "ok   resume of a finished run: $acc2"

# The module file moved: eval refuses with one line naming it and the way out.
mv m/cnn_bn.ts m/moved.ts
set +e
"$bin" eval --checkpoint single-cnn_bn >moved.txt 2>&1
rc=$?
set -e
[ $rc -eq 2 ] && [ "$(wc -l <moved.txt)" -eq 1 ] && grep -q "model.path: $work/m/cnn_bn.ts: no such file" moved.txt &&
  grep -q -- "--set model.path=NEW" moved.txt || { cat moved.txt; fail "moved module: exit $rc, unclear error"; }
echo "ok   moved file refused: $(cat moved.txt)"
"$bin" eval --checkpoint single-cnn_bn --set model.path=m/moved.ts >eval.txt 2>&1 || { cat eval.txt; fail "eval with the new path"; }
echo "TorchScript models train, evaluate, resume and come back to Python"
