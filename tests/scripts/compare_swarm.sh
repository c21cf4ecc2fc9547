#!/usr/bin/env bash
# `nosync compare` and a swarm `train` through the real binary on synthetic data: every
# algorithm runs, compare.md/compare.json/plots are written, and the swarm-average checkpoint
# evaluates with `nosync eval`.
# Usage: compare_swarm.sh NOSYNC_BINARY SOURCE_DIR
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
small=(--set data.format=synthetic --set data.val_size=256 --set model.name=mlp --set model.width=0.25
       --set train.epochs=2 --set train.batch_size=32 --set swarm.particles=2 --set swarm.tau=10
       --set run.progress=plain)

"$bin" compare "${small[@]}" --out cmp >out.txt 2>err.txt || { cat err.txt; fail "compare exited $?"; }
cat out.txt
for f in compare.md compare.json accuracy.png accuracy.svg diversity.png; do
  [ -s "cmp/$f" ] || fail "missing cmp/$f"
done
/usr/bin/python3 - <<'PY' || fail "compare.json content"
import json
j = json.load(open("cmp/compare.json"))
algos = [r["algo"] for r in j["runs"]]
assert algos == ["single", "sync", "local-sgd", "easgd", "nosync"], algos
for r in j["runs"]:
    for k in ("best", "average", "ensemble"):
        assert r[k]["test_accuracy"] > 0.5, (r["algo"], k, r[k])
    assert r["samples_per_s"] > 0
PY
grep -q "| nosync | 2 |" cmp/compare.md || fail "compare.md lacks the nosync row"
if "$bin" compare "${small[@]}" --out cmp 2>/dev/null; then fail "compare overwrote a comparison"; fi

"$bin" train "${small[@]}" --set swarm.algo=nosync --set swarm.attractor=mean --run-dir swarm >train.txt 2>&1 \
  || { cat train.txt; fail "swarm train failed"; }
grep -q "swarm average test accuracy" train.txt || fail "no swarm summary table"
"$bin" eval --checkpoint swarm/checkpoints/average >eval.txt 2>&1 || { cat eval.txt; fail "eval of the average failed"; }
grep -q "test accuracy" eval.txt || fail "eval printed no accuracy"
# Resume through the CLI: the swarm continues with a third particle spawned from the best, and
# changing the algorithm on resume is refused.
"$bin" train --resume swarm --set swarm.particles=3 >resume.txt 2>&1 || { cat resume.txt; fail "swarm resume failed"; }
grep -q "particle 2 is new: spawned from saved particle" resume.txt || fail "resume did not spawn particle 2: $(cat resume.txt)"
grep -q '"particles": 3' swarm/summary.json || fail "summary of the resumed run lacks 3 particles"
set +e
"$bin" train --resume swarm --set swarm.algo=sync >resume2.txt 2>&1
rc=$?
set -e
[ $rc -eq 2 ] && grep -q "swarm.algo cannot change on resume" resume2.txt || fail "algo change: exit $rc: $(cat resume2.txt)"
echo "compare and swarm CLI checks passed"
