#!/usr/bin/env bash
# A TorchScript model that cannot train on the data is refused before anything is written: one
# line on stderr naming model.path, exit 2, no run directory (models/torchscript.h).
# The broken files come from tests/python/torchscript_models.py.
# Usage: torchscript_errors.sh NOSYNC_BINARY SOURCE_DIR
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
$py "$src/tests/python/torchscript_models.py" m errors || fail "could not write the test modules (python3-torch?)"
failures=0
n=0

# refused "expected text" FILE [ARGS...]: train on FILE is refused with that text and no run dir.
refused() {
  local text=$1 file=$2
  shift 2
  n=$((n + 1))
  local dir="$work/run$n"
  "$bin" train --set model.name=torchscript --set model.path="$file" --set data.train_limit=600 \
    --set data.val_size=100 --set data.test_limit=100 --set train.steps=2 --set swarm.algo=single \
    --set run.progress=quiet "$@" --run-dir "$dir" >"$work/out" 2>"$work/err"
  local rc=$?
  local problem=""
  [ "$rc" -eq 2 ] || problem="exit $rc, expected 2"
  [ -z "$problem" ] && ! grep -qF -- "$text" "$work/err" && problem="stderr lacks '$text'"
  [ -z "$problem" ] && [ "$(wc -l <"$work/err")" -ne 1 ] && problem="expected one line"
  [ -z "$problem" ] && grep -q "terminate\|Exception raised\|frame #\|internal error" "$work/err" && problem="a crash"
  [ -z "$problem" ] && [ -e "$dir" ] && problem="$dir was created"
  if [ -n "$problem" ]; then
    echo "FAIL $file $*: $problem:"; cat "$work/err"; failures=$((failures + 1)); return
  fi
  echo "ok   $(cat "$work/err")"
}

refused "model.path: $work/nope.ts: no such file" nope.ts
refused "model.path: empty" ""
refused "is not a TorchScript archive" m/random.bin
refused "is not a TorchScript archive" m/plain_save.pt
refused "has no forward method" m/no_forward.ts
refused "parameter 'fc1.weight' is Double, nosync trains float32 parameters" m/double.ts
refused "has no trainable parameters" m/no_params.ts
refused "fails on the data's input [B, 1, 28, 28]" m/wrong_input.ts
refused "returns [2, 7] for input [2, 1, 28, 28]; expected logits [2, 10]" m/wrong_output.ts
refused "returns [2, 28, 10]" m/seq_output.ts
refused "model.path: $work/m/not_bf16.ts: the model fails on the data's input [B, 1, 28, 28] under train.precision = bf16" m/not_bf16.ts --set train.precision=bf16
refused "has no momentum constant (a traced module?)" m/traced_bn.ts
# The same checks guard a swarm.
refused "has no forward method" m/no_forward.ts --set swarm.algo=nosync --set swarm.particles=2
# The module that bf16 refuses trains in float32 (the check is about precision, not the file).
"$bin" train --set model.name=torchscript --set model.path=m/not_bf16.ts --set data.train_limit=600 \
  --set data.val_size=100 --set data.test_limit=100 --set train.steps=2 --set swarm.algo=single \
  --set run.progress=quiet --set train.precision=fp32 --run-dir fp32ok >out 2>err || { cat err; fail "fp32 run refused"; }
echo "ok   not_bf16.ts trains under train.precision = fp32"

[ "$failures" -eq 0 ] || fail "$failures of $n cases"
echo "all $n refusals clear, exit 2, no run directory"
