#!/usr/bin/env bash
# Nothing is written until every check has passed (docs/reliability.md): every refused command
# leaves its run directory byte-identical (sha256 of every file, before and after), a refused new
# run creates no directory, a finished run's resume changes nothing (exit 0), and after all of
# them the run still resumes when asked for more steps.
# Usage: refused_unchanged.sh NOSYNC_BINARY SOURCE_DIR
set -u
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
failures=0

data=(--set data.format=synthetic --set data.synthetic_train=512 --set data.val_size=64 --set data.synthetic_test=64
      --set model.name=mlp --set model.width=0.25 --set train.batch_size=16 --set train.threads=1
      --set run.progress=quiet --set train.steps=8 --set checkpoint.every=4)
"$bin" train "${data[@]}" --set swarm.algo=single --run-dir one >out 2>err || { cat err; fail "single run failed"; }
"$bin" train "${data[@]}" --set swarm.algo=nosync --set swarm.particles=2 --set swarm.tau=2 --run-dir swarm >out 2>err ||
  { cat err; fail "swarm run failed"; }

snapshot() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }

# unchanged NAME DIR EXIT "text" -- ARGS...: the command exits EXIT with the text on stderr, and
# DIR is byte-identical afterwards.
unchanged() {
  local name=$1 dir=$2 code=$3 text=$4
  shift 5
  local before
  before=$(snapshot "$dir")
  "$bin" "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  if [ "$rc" -ne "$code" ]; then
    echo "FAIL $name: exit $rc, expected $code"; cat "$work/err"; failures=$((failures + 1)); return
  fi
  if ! grep -qF -- "$text" "$work/err"; then
    echo "FAIL $name: stderr lacks '$text':"; cat "$work/err"; failures=$((failures + 1)); return
  fi
  if [ "$before" != "$(snapshot "$dir")" ]; then
    echo "FAIL $name: $dir changed:"; diff <(echo "$before") <(snapshot "$dir"); failures=$((failures + 1)); return
  fi
  echo "ok   $name: $(head -1 "$work/err")"
}

unchanged "shape mismatch (single)" one 2 "has shape" -- train --resume one --set model.width=0.5
unchanged "shape mismatch (swarm)" swarm 2 "has shape" -- train --resume swarm --set model.width=0.5
unchanged "another model" one 2 "model" -- train --resume one --set model.name=cnn
unchanged "finished run" one 0 "has finished (step 8 of 8); nothing to do" -- train --resume one
unchanged "finished swarm" swarm 0 "has finished (step 8 of 8)" -- train --resume swarm
unchanged "fault on a particle that does not exist" swarm 2 "names particle 5" -- train --resume swarm --set swarm.fault=nan:particle=5:step=9
unchanged "rank fault without MPI" swarm 2 "not an MPI job" -- train --resume swarm --set swarm.fault=kill:rank=1:step=9
unchanged "malformed fault" swarm 2 "fault 'nan:particle=x'" -- train --resume swarm --set swarm.fault=nan:particle=x
unchanged "batch larger than a shard" swarm 2 "larger than a worker's shard" -- train --resume swarm --set swarm.shard=true --set train.batch_size=300 --set train.steps=16
unchanged "batch larger than the data" one 2 "larger than the training split" -- train --resume one --set train.batch_size=1000 --set train.steps=16
unchanged "another algorithm" swarm 2 "cannot change on resume" -- train --resume swarm --set swarm.algo=easgd
unchanged "another run dir" swarm 2 "name two directories" -- train --resume swarm --run-dir other
unchanged "a second train into a run" one 2 "already holds a run" -- train "${data[@]}" --set swarm.algo=single --run-dir one

# An edited state.json, its hash made to match: refused, nothing else changed.
ck=one/checkpoints/step-8
$py - "$ck" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
s = json.load(open(d + "/state.json")); s["trainer"]["step"] = 10**15
open(d + "/state.json", "w").write(json.dumps(s, indent=2) + "\n")
m = json.load(open(d + "/manifest.json")); b = open(d + "/state.json", "rb").read()
m["files"]["state.json"] = {"sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)}
open(d + "/manifest.json", "w").write(json.dumps(m, indent=2) + "\n")
PY
unchanged "edited state.json (step 1e15)" one 2 "trainer.step" -- train --resume one --set train.steps=16

# Refused new runs create nothing.
for args in "--set swarm.fault=nan:particle=9:step=1 --set swarm.particles=2" "--set swarm.shard=true --set swarm.particles=4 --set train.batch_size=200"; do
  # shellcheck disable=SC2086
  "$bin" train "${data[@]}" --set swarm.algo=nosync $args --run-dir new >out 2>err; rc=$?
  [ "$rc" -eq 2 ] || { echo "FAIL new run ($args): exit $rc"; cat err; failures=$((failures + 1)); }
  [ ! -e new ] || { echo "FAIL new run ($args): created its directory"; failures=$((failures + 1)); rm -rf new; }
done

# After every refusal the swarm still resumes when asked for more steps.
"$bin" train --resume swarm --set train.steps=12 >out 2>err || { cat err; echo "FAIL swarm no longer resumes"; failures=$((failures + 1)); }
[ -d swarm/checkpoints/particle-0/step-12 ] || { echo "FAIL the resume did not reach step 12"; failures=$((failures + 1)); }
[ ! -e swarm/.nosync.lock ] || { echo "FAIL lock file left behind"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] && echo "every refused command left its directory byte-identical" || echo "$failures failure(s)"
exit $((failures > 0))
