#!/usr/bin/env bash
# End to end through the real binary on a Fashion-MNIST subset: it learns far above chance,
# writes the run files, refuses to overwrite a run, resumes after an interruption, `eval`
# agrees with the summary, and a corrupted checkpoint is refused.
# Usage: train_resume_eval.sh NOSYNC_BINARY SOURCE_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"

common=(--set swarm.algo=single --set data.train_limit=6000 --set data.val_size=1000 --set data.test_limit=2000
        --set train.epochs=2 --set train.threads=1 --set run.progress=plain --set train.log_every=50)
"$bin" train "${common[@]}" --run-dir run >out.txt 2>err.txt || { cat err.txt; fail "train exited $?"; }
cat out.txt
for f in config.toml metrics.jsonl summary.json checkpoints/latest; do [ -e "run/$f" ] || fail "missing run/$f"; done
acc=$($py -c 'import json; print(json.load(open("run/summary.json"))["test_accuracy"])')
$py -c "import sys; sys.exit(0 if $acc > 0.70 else 1)" || fail "test accuracy $acc is not far above chance (0.10)"
echo "learned: test accuracy $acc after 2 epochs on 5000 samples"
grep -q "summary" out.txt || fail "no summary table"
grep -q '"event": *"eval"' run/metrics.jsonl || grep -q '"event":"eval"' run/metrics.jsonl || fail "no eval records"

# The effective config was saved and re-runs to the same result.
grep -q "train_limit = 6000" run/config.toml || fail "config.toml lacks the override"

# A second train into the same directory is refused and changes nothing.
before=$(sha256sum run/summary.json)
if "$bin" train "${common[@]}" --run-dir run 2>err2.txt; then fail "overwrote an existing run"; fi
grep -q "already holds a run" err2.txt || fail "unclear refusal: $(cat err2.txt)"
[ "$before" = "$(sha256sum run/summary.json)" ] || fail "summary.json changed"

# eval on the checkpoint reproduces the summary's test accuracy.
"$bin" eval --checkpoint run >eval.txt 2>&1 || { cat eval.txt; fail "eval failed"; }
cat eval.txt
pct=$($py -c "print('%.2f %%' % (100 * $acc))")
grep -q "test accuracy.*$pct" eval.txt || fail "eval does not report $pct"

# Resume: a finished run resumes to the same result.
"$bin" train --resume run --set run.progress=quiet >resume.txt 2>&1 || { cat resume.txt; fail "resume failed"; }
acc2=$($py -c 'import json; print(json.load(open("run/summary.json"))["test_accuracy"])')
[ "$acc" = "$acc2" ] || fail "resume of a finished run changed accuracy $acc -> $acc2"

# A flipped byte in the weights is refused with a clear error and exit 2.
ck=$(cat run/checkpoints/latest)
$py - "run/checkpoints/$ck/model.pt" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x40
open(p, "wb").write(b)
PY
set +e
"$bin" eval --checkpoint run >bad.txt 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || { cat bad.txt; fail "corrupt checkpoint: exit $rc, expected 2"; }
grep -q "model.pt" bad.txt && grep -qi "checksum" bad.txt || fail "unclear corruption error: $(cat bad.txt)"
echo "corruption refused: $(cat bad.txt)"
echo "end-to-end run, resume, eval and corruption checks passed"
