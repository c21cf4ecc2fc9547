#!/usr/bin/env bash
# A run directory has one owner (docs/reliability.md): two `nosync train` started into one
# --run-dir at once, 20 times: exactly one runs, the other exits 2 naming the holder's PID, and the
# directory holds one run's files only. A directory of the user's own files is refused; a run that
# died before its first checkpoint (SIGKILL: its lock file is stale) is resumed from the start or
# reused; `--resume RUN --run-dir OTHER` is refused.
# Usage: run_dir_owner.sh NOSYNC_BINARY SOURCE_DIR
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"

tiny=(--set swarm.algo=single --set data.format=synthetic --set data.synthetic_train=1024 --set data.val_size=64
      --set data.synthetic_test=64 --set model.name=mlp --set model.width=0.25 --set train.batch_size=16
      --set train.threads=1 --set run.progress=quiet --set train.eval_every=100000)

trials=${RUN_DIR_TRIALS:-20}
named=0  # refusals that named the running winner's PID
for i in $(seq 1 "$trials"); do
  d=race$i
  "$bin" train "${tiny[@]}" --set train.steps=400 --set train.seed=1 --run-dir $d >a.out 2>a.err &
  pa=$!
  "$bin" train "${tiny[@]}" --set train.steps=400 --set train.seed=2 --run-dir $d >b.out 2>b.err &
  pb=$!
  wait $pa; ra=$?
  wait $pb; rb=$?
  if [ "$ra" -eq 0 ] && [ "$rb" -eq 2 ]; then winner=$pa; seed=1; loser=b.err
  elif [ "$ra" -eq 2 ] && [ "$rb" -eq 0 ]; then winner=$pb; seed=2; loser=a.err
  else cat a.err b.err; fail "trial $i: exits $ra and $rb, expected one 0 and one 2"; fi
  [ "$(wc -l <$loser)" -eq 1 ] || { cat $loser; fail "trial $i: the refusal is not one line"; }
  # While the winner runs, the loser is told its PID; a loser that starts late (the 400 steps take
  # well under a second, so in CI it happened) finds the finished run instead. Both are right.
  if grep -q "in use by another nosync process (PID $winner)" $loser; then named=$((named + 1))
  elif ! grep -q "^nosync: error: $d: already holds a run" $loser; then
    cat $loser; fail "trial $i: refusal names neither PID $winner nor the finished run"
  fi
  # One run's files only: the saved config, the checkpoint's config and the summary agree.
  grep -q "^seed = $seed$" $d/config.toml || fail "trial $i: config.toml is not the winner's (seed $seed)"
  cmp -s $d/config.toml $d/checkpoints/step-400/config.toml || fail "trial $i: checkpoint config differs from config.toml"
  [ -e $d/summary.json ] || fail "trial $i: no summary.json"
  [ ! -e $d/.nosync.lock ] || fail "trial $i: lock file left behind"
  rm -rf $d
done
echo "ok   $trials concurrent starts: exactly one ran each time; $named refusal(s) named the running winner's PID, the others found its finished run"

snapshot() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }

# The user's own files, no config.toml: refused, untouched.
mkdir -p mine/checkpoints && echo '{"test_accuracy": 0.99}' >mine/summary.json && echo step-1 >mine/checkpoints/latest
before=$(snapshot mine)
"$bin" train "${tiny[@]}" --set train.steps=5 --run-dir mine >out 2>err; rc=$?
[ "$rc" -eq 2 ] || fail "a directory of foreign files: exit $rc"
grep -q "not a nosync run" err || fail "unclear refusal: $(cat err)"
[ "$before" = "$(snapshot mine)" ] || fail "foreign files were changed"
echo "ok   foreign files refused: $(cat err)"

# killed_early DIR: a run into DIR SIGKILLed before its first checkpoint (its lock file is stale).
killed_early() {
  "$bin" train "${tiny[@]}" --set train.steps=1000000 --set checkpoint.every=1000000 --run-dir "$1" >out 2>err &
  local pid=$!
  on_exit="kill -9 $pid 2>/dev/null || true"
  for _ in $(seq 1 600); do [ -e "$1/config.toml" ] && break; sleep 0.1; done
  sleep 0.5
  kill -9 $pid; wait $pid 2>/dev/null
  [ -e "$1/.nosync.lock" ] || fail "expected a stale lock file after SIGKILL"
  [ ! -e "$1/checkpoints/latest" ] || fail "the killed run had a checkpoint already"
}

# A run killed before its first checkpoint: resumed from the start.
killed_early dead
"$bin" train --resume dead --set train.steps=20 >out 2>err || { cat err; fail "resume of a run without checkpoint failed"; }
[ -e dead/summary.json ] && [ -e dead/checkpoints/step-20 ] || fail "resume from the start did not run"
echo "ok   a run killed before its first checkpoint resumed from the start"

# ... or reused by a new train.
killed_early dead2
"$bin" train "${tiny[@]}" --set train.steps=10 --run-dir dead2 >out 2>err || { cat err; fail "reuse of a run without checkpoint failed"; }
grep -q "^steps = 10$" dead2/config.toml || fail "the reused directory kept the old config"
echo "ok   a run killed before its first checkpoint reused by a new train"

# --resume RUN --run-dir OTHER: refused, RUN unchanged; the same directory twice is fine.
before=$(snapshot dead)
"$bin" train --resume dead --run-dir elsewhere >out 2>err; rc=$?
[ "$rc" -eq 2 ] && grep -q "name two directories" err || fail "--resume with another --run-dir: exit $rc: $(cat err)"
[ ! -e elsewhere ] || fail "--run-dir OTHER was created"
[ "$before" = "$(snapshot dead)" ] || fail "RUN changed"
"$bin" train --resume dead --run-dir ./dead/ >out 2>err2 || fail "--resume RUN --run-dir RUN: $(cat err2)"
echo "ok   --resume RUN --run-dir OTHER refused: $(head -1 err)"
echo "all run-directory ownership cases behaved"
