#!/usr/bin/env bash
# Disk full while writing a checkpoint: the run directory is a small tmpfs, mounted in a private
# mount namespace (unshare -m: nothing leaks into the host's mounts, it vanishes with the test),
# sized so that two checkpoints fit and the third does not. `nosync train` must end with one
# clear line naming the file it could not write and exit 2 (no crash, no stack trace); `latest`
# must still name the previous complete checkpoint, whose checksums verify (by this script and
# by `nosync eval`); the partial checkpoint is removed; once space is freed, `--resume` completes
# the run. A single worker, then a 2-particle NoSync swarm.
# Without the rights to mount (not root, or no CAP_SYS_ADMIN) it exits 77: reported as skipped.
# Usage: disk_full.sh NOSYNC_BINARY SOURCE_DIR
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
if [ "$(id -u)" -ne 0 ] || ! unshare -m --propagation private true 2>/dev/null; then
  echo "SKIPPED: cannot create a mount namespace here (needs root / CAP_SYS_ADMIN)"
  exit 77
fi
common=(--set data.format=synthetic --set data.val_size=256 --set data.synthetic_train=1280
        --set data.synthetic_test=256 --set model.name=mlp --set model.width=1 --set train.steps=200
        --set train.batch_size=32 --set train.threads=1 --set train.log_every=1000 --set train.eval_every=1000
        --set checkpoint.every=10 --set checkpoint.keep=0 --set swarm.tau=10 --set swarm.fitness_samples=128
        --set run.progress=quiet)

# verify DIR STEPS: DIR/latest names step-S for S in STEPS (comma-separated), and its files match
# the manifest's sha256 and size; no partial checkpoint is left.
verify() {
  $py - "$1" "$2" <<'PY' || fail "$1: latest checkpoint"
import hashlib, json, os, sys
d, want = sys.argv[1], [f"step-{s}" for s in sys.argv[2].split(",")]
latest = open(f"{d}/latest").read().strip()
assert latest in want, (d, latest, want)
m = json.load(open(f"{d}/{latest}/manifest.json"))
for name, e in m["files"].items():
    data = open(f"{d}/{latest}/{name}", "rb").read()
    assert len(data) == e["bytes"] and hashlib.sha256(data).hexdigest() == e["sha256"], name
left = [f for f in os.listdir(d) if ".tmp" in f]
assert not left, ("leftovers", left)
print(f"ok   {d}: latest = {latest}, {len(m['files'])} files verify, no leftovers")
PY
}

# scenario NAME CHECKPOINTS_SUBDIR ARGS...: probe the checkpoint size outside the tmpfs, then run
# on a tmpfs that holds two checkpoints and half of a third.
scenario() {
  local name=$1 sub=$2
  shift 2
  "$bin" train "${common[@]}" "$@" --set train.steps=10 --run-dir "probe-$name" >/dev/null 2>"probe-$name.err" \
    || { cat "probe-$name.err"; fail "$name: probe run"; }
  local ck size
  # shellcheck disable=SC2086  # $sub may be a glob (every particle)
  ck=$(du -sbc probe-$name/$sub/step-10 | tail -1 | cut -f1)  # one step of every particle
  # 4 KiB pages: every file and directory rounds up; 64 KiB for config.toml, metrics, latest.
  size=$(( (ck * 5 / 2 + 20 * 4096 * 3) / 1024 + 64 ))
  mkdir "$name"
  NAME=$name SIZE=$size BIN=$bin unshare -m --propagation private bash -s -- "${common[@]}" "$@" <<'INNER'
set -uo pipefail
fail() { echo "FAIL: $*"; exit 1; }
mount -t tmpfs -o size=${SIZE}k nosync-disk-full "$NAME" || exit 77
"$BIN" train "$@" --run-dir "$NAME/run" >"$NAME.out" 2>"$NAME.err"
echo "$?" >"$NAME.rc"
df -k "$NAME" | tail -1 >"$NAME.df"
# Copy what is left (the tmpfs goes with this namespace), then free space and resume.
cp -a "$NAME/run" "$NAME.after"
mount -o remount,size=64m "$NAME"
"$BIN" train --resume "$NAME/run" >"$NAME.resume.out" 2>"$NAME.resume.err"
echo "$?" >"$NAME.resume.rc"
cp "$NAME/run/summary.json" "$NAME.summary.json" 2>/dev/null
INNER
  local inner=$?
  [ $inner -eq 77 ] && { echo "SKIPPED: cannot mount a tmpfs"; exit 77; }
  [ $inner -eq 0 ] || fail "$name: the namespace script failed ($inner)"
  local rc
  rc=$(cat "$name.rc")
  echo "$name: tmpfs of ${size} KiB (one checkpoint step: ${ck} bytes), exit $rc, stderr:"
  cat "$name.err"
  [ "$rc" -eq 2 ] || fail "$name: exit $rc, expected 2 (a user error)"
  [ "$(wc -l <"$name.err")" -eq 1 ] || fail "$name: expected one line on stderr"
  grep -q "^nosync: error: $name/run/$sub/step-[0-9]*\.tmp-[^ ]*: write failed: No space left on device (hint: the disk is full" "$name.err" \
    || grep -q "^nosync: error: $name/run/$sub/step-[0-9]*\.tmp-[^ ]*/[a-z.]*: \(write\|open for writing\|fsync\) failed: No space left on device (hint: the disk is full" "$name.err" \
    || fail "$name: the message does not name the checkpoint file and the full disk"
  grep -qi "terminate\|abort\|internal error\|backtrace\|frame #" "$name.err" && fail "$name: crash or stack trace"
  # The third checkpoint (step 30) is the one that did not fit. In a swarm the particles do not
  # wait for each other: one that runs ahead keeps writing while the other fills the disk, and
  # the run stops only when the error reaches it, so a particle's latest complete checkpoint can
  # be any step before the end (each particle's must verify).
  local d steps=20 evaluated=0
  [ "$name" = swarm ] && steps=$(seq -s, 10 10 190)
  for d in "$name".after/$sub; do
    verify "$d" "$steps"
    "$bin" eval --checkpoint "$d" >"$name.eval" 2>&1 || { cat "$name.eval"; fail "$name: nosync eval of $d"; }
    local at
    at=$(sed 's/.*step-//' "$d/latest")
    grep -q "step *| *$at\b" "$name.eval" || grep -q "step.* $at " "$name.eval" || { cat "$name.eval"; fail "$name: eval step $at"; }
    evaluated=$((evaluated + 1))
  done
  [ $evaluated -ge 1 ] || fail "$name: no checkpoint directory to verify"
  [ "$(cat "$name.resume.rc")" -eq 0 ] || { cat "$name.resume.err"; fail "$name: --resume after freeing space"; }
  $py -c "import json,sys; s=json.load(open(sys.argv[1])); assert s['steps']==200, s['steps']" "$name.summary.json" \
    || fail "$name: resumed run did not complete"
  echo "ok   $name: exit 2 with one line naming the file, latest verifies, --resume completed 200 steps"
}

scenario single checkpoints --set swarm.algo=single
scenario swarm checkpoints/particle-[01] --set swarm.algo=nosync --set swarm.particles=2
echo "disk-full checks passed"
