#!/usr/bin/env bash
# A TorchScript model (tests/python/torchscript_models.py: CNN with batch norm) under real
# mpirun: nosync (mean attractor: batch norm re-estimated after each pull) and sync learn with
# one particle per rank, and a module the data cannot feed is refused by every rank with one
# line, exit 2, before config.toml is written.
# Usage: torchscript_mpi.sh NOSYNC_BINARY SOURCE_DIR MPIRUN
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
run_np() { local np=$1; shift; "$mpirun" -np "$np" --oversubscribe --bind-to none "$@"; }
$py "$src/tests/python/torchscript_models.py" m errors || fail "could not write the test modules (python3-torch?)"
small=(--set model.name=torchscript --set model.path=m/cnn_bn.ts --set data.train_limit=3000 --set data.val_size=500
       --set data.test_limit=1000 --set train.steps=100 --set train.threads=1 --set swarm.tau=10
       --set run.progress=quiet)
for algo in nosync sync; do
  run_np 2 "$bin" train "${small[@]}" --set swarm.algo=$algo --set swarm.attractor=mean --run-dir r-$algo \
    >$algo.out 2>$algo.err || { cat $algo.err; fail "$algo under mpirun -np 2 exited $?"; }
  $py - r-$algo $algo <<'PY' || fail "$algo: run content"
import json, sys
d, algo = sys.argv[1:]
s = json.load(open(f"{d}/summary.json"))
assert s["transport"] == "mpi" and s["ranks"] == 2, s
for k in ("best", "average"):
    assert s[k]["test_accuracy"] > 0.6, (k, s[k])
print(f"ok   {algo} x 2 ranks: best {s['best']['test_accuracy']:.3f}, average {s['average']['test_accuracy']:.3f}")
PY
done
run_np 2 "$bin" train "${small[@]}" --set model.path=m/wrong_input.ts --set swarm.algo=nosync --run-dir r-bad \
  >bad.out 2>bad.err
rc=$?
[ $rc -eq 2 ] || { cat bad.err; fail "wrong input under mpirun: exit $rc"; }
grep -q "fails on the data's input \[B, 1, 28, 28\]" bad.err || { cat bad.err; fail "unclear error"; }
[ ! -e r-bad/config.toml ] || fail "config.toml written for a refused model"
echo "ok   refused under mpirun: $(head -1 bad.err)"
