#!/usr/bin/env bash
# `nosync experiment all --quick` on a tiny budget (synthetic data, an mlp, 2 seeds): every claim
# runs (claims 4 and 5 through real mpirun), report/claims.md and its plots are written, a second
# invocation reuses the finished runs instead of training again, and a run that failed is named in
# the report and the exit code. Checks that it runs and reports, not the numbers.
# Usage: experiment_quick.sh NOSYNC_BINARY SOURCE_DIR MPIRUN
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
tiny=(--quick --scale 0.2 --seeds 2 --set data.format=synthetic --set data.val_size=256
      --set data.synthetic_train=8192 --set data.synthetic_test=256 --set model.name=mlp --set model.width=0.25 --set swarm.tau=20)

"$bin" experiment all "${tiny[@]}" --out rep 2>first.err
rc=$?
[ $rc -eq 0 ] || { cat first.err; fail "experiment all exited $rc"; }
md=rep/claims.md
[ -s "$md" ] || fail "no $md"
for claim in "## 1." "## 2." "## 3." "## 4." "## 5." "## S."; do
  grep -q "^$claim" "$md" || { cat "$md"; fail "$md lacks section '$claim'"; }
done
verdicts=$(grep -c '^Verdict: \*\*\(holds\|holds partly\|does not hold\)\*\*' "$md")
[ "$verdicts" -eq 5 ] || { cat "$md"; fail "expected 5 verdicts, found $verdicts"; }
grep -q "mpirun -np 4 nosync train" "$md" || fail "$md lacks the exact MPI commands"
grep -q "not decided\|Failed runs" "$md" && { cat "$md"; fail "a run failed"; }
for plot in claim1-accuracy claim2-diversity claim2-line claim3-subset1000 claim4-speedup; do
  [ -s "rep/plots/$plot.png" ] && [ -s "rep/plots/$plot.svg" ] || fail "missing plot $plot"
done
runs=$(find rep/runs -name summary.json | wc -l)
[ "$runs" -ge 60 ] || fail "expected >= 60 finished runs, found $runs"

# A second invocation of one claim trains nothing again.
"$bin" experiment 3 "${tiny[@]}" --out rep 2>second.err
rc=$?
[ $rc -eq 0 ] || { cat second.err; fail "second run exited $rc"; }
grep -q "ran in" second.err && { cat second.err; fail "finished runs were trained again"; }
[ "$(grep -c "(reused)" second.err)" -eq 12 ] || { cat second.err; fail "expected 12 reused runs"; }
grep -q "^## 4\." "$md" || fail "rewriting claim 3 dropped the other sections"

# A failing run (a fault that throws in particle 0) is reported, and the exit code says so.
"$bin" experiment 3 "${tiny[@]}" --out rep-fail --set swarm.fault=throw:particle=0:step=2 2>fail.err
rc=$?
[ $rc -eq 1 ] || { cat fail.err; fail "a failed run should exit 1, got $rc"; }
grep -q "Failed runs" rep-fail/claims.md || fail "the report does not name the failed runs"

# Bad arguments and configs no run can use: one clear line, exit 2, nothing trained or written.
out=$("$bin" experiment 9 --out rep-bad 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "unknown claim '9'" <<<"$out" || fail "bad claim: rc $rc, '$out'"
[ ! -e rep-bad ] || fail "a refused experiment wrote rep-bad"
out=$("$bin" experiment 3 "${tiny[@]}" --set data.synthetic_train=2048 --out rep-small 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q "data.train_limit = 5000 exceeds" <<<"$out" || fail "subset too large: rc $rc, '$out'"
[ ! -e rep-small/runs ] || fail "runs started although a config was invalid"
echo "experiment_quick: OK ($runs runs)"
