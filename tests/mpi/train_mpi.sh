#!/usr/bin/env bash
# `nosync train` under real mpirun on synthetic data: NoSync and every baseline learn over the MPI
# transport; rank 0 owns the run directory, metrics.jsonl holds every rank's records, other ranks'
# log lines carry [rank r/N]; `sync` with N ranks of batch B ends on the same weights as one
# process with batch N*B.
# Usage: train_mpi.sh NOSYNC_BINARY SOURCE_DIR MPIRUN
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
run_np() { local np=$1; shift; "$mpirun" -np "$np" --oversubscribe --bind-to none "$@"; }
small=(--set data.format=synthetic --set data.val_size=256 --set data.synthetic_train=1280
       --set data.synthetic_test=256 --set model.name=mlp --set model.width=0.25 --set train.steps=60
       --set train.batch_size=32 --set train.threads=1 --set train.log_every=10 --set checkpoint.every=30
       --set swarm.tau=10 --set swarm.fitness_samples=128 --set run.progress=plain)

check_run() {  # check_run DIR NP ALGO
  /usr/bin/python3 - "$@" <<'PY' || fail "$1: run content"
import json, sys, os
d, n, algo = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = json.load(open(f"{d}/summary.json"))
assert s["algo"] == algo and s["particles"] == n and s["ranks"] == n and s["transport"] == "mpi", s
for k in ("best", "average", "ensemble"):
    assert s[k]["test_accuracy"] > 0.6, (algo, k, s[k])
recs = [json.loads(l) for l in open(f"{d}/metrics.jsonl")]
ranks = {r["rank"] for r in recs if "rank" in r}
assert ranks == set(range(n)), ranks
for r in range(n):
    train = [x for x in recs if x["event"] == "train" and x.get("particle") == r]
    assert train and train[-1]["step"] == 60, (r, train[-1:])
if algo == "nosync":
    ex = [x for x in recs if x["event"] == "exchange"]
    assert len(ex) == n * 5, len(ex)
    assert all(isinstance(x.get("staleness"), int) for x in ex), ex[:2]  # < 0: the attractor is ahead
assert any(x["event"] == "final" for x in recs)
for r in range(n):
    assert os.path.exists(f"{d}/checkpoints/particle-{r}/latest"), r
assert os.path.exists(f"{d}/config.toml")
print(f"ok   {algo} x {n}: best {s['best']['test_accuracy']:.3f}, average {s['average']['test_accuracy']:.3f},"
      f" ensemble {s['ensemble']['test_accuracy']:.3f}")
PY
}

for algo in nosync local-sgd easgd sync; do
  run_np 2 "$bin" train "${small[@]}" --set swarm.algo=$algo --run-dir "r-$algo" >"$algo.out" 2>"$algo.err" \
    || { cat "$algo.err"; fail "$algo under mpirun -np 2 exited $?"; }
  check_run "r-$algo" 2 "$algo"
done
grep -q "summary: nosync with 2 particles" nosync.out || fail "rank 0 printed no summary table"
[ "$(grep -c "summary:" nosync.out)" -eq 1 ] || fail "more than one rank printed a summary"

# Three ranks, gbest with a NaN particle: rank 2 warns, tagged with its rank.
NOSYNC_FAULT=nan:particle=2:step=15 run_np 3 -x NOSYNC_FAULT "$bin" train "${small[@]}" --set swarm.algo=nosync \
  --run-dir r-nosync3 >n3.out 2>n3.err || { cat n3.err; fail "nosync under mpirun -np 3 exited $?"; }
check_run r-nosync3 3 nosync
grep -q "^nosync: \[rank 2/3\] warning: particle 2 has non-finite" n3.err || { cat n3.err; fail "no tagged warning of rank 2"; }
run_np 3 "$bin" train "${small[@]}" --set swarm.algo=nosync --set swarm.attractor=mean --run-dir r-mean3 \
  >m3.out 2>m3.err || { cat m3.err; fail "nosync mean under mpirun -np 3 exited $?"; }
check_run r-mean3 3 nosync

# Hybrid: 4 ranks as 2 particles of 2 (sync data-parallel inside a group, NoSync between the
# leaders). Members end bit-identical to their leader although they train on different batches.
run_np 4 "$bin" train "${small[@]}" --set swarm.algo=nosync --set swarm.group_size=2 \
  --set swarm.momentum_on_pull=scale --run-dir r-hybrid >h.out 2>h.err || { cat h.err; fail "hybrid exited $?"; }
/usr/bin/python3 - <<'PY' || fail "hybrid run content"
import json, os
s = json.load(open("r-hybrid/summary.json"))
assert s["particles"] == 2 and s["ranks"] == 4 and s["group_size"] == 2, s
assert s["group_max_divergence"] == 0.0, s["group_max_divergence"]
for k in ("best", "average", "ensemble"):
    assert s[k]["test_accuracy"] > 0.6, (k, s[k])
recs = [json.loads(l) for l in open("r-hybrid/metrics.jsonl")]
ex = {(r["rank"], r["particle"]) for r in recs if r["event"] == "exchange"}
assert ex == {(0, 0), (2, 1)}, ex  # only the leaders exchange, as particles 0 and 1
sync = {(r["rank"], r["particle"]) for r in recs if r["event"] == "group_sync"}
assert sync == {(1, 0), (3, 1)}, sync
assert sorted(os.listdir("r-hybrid/checkpoints")) == ["average", "particle-0", "particle-1"]
print(f"ok   hybrid 2 particles x 2 ranks: best {s['best']['test_accuracy']:.3f}, members identical to leaders")
PY

# sync, 2 ranks x batch 32 on disjoint shards == 1 process x batch 64: with 64 training samples
# every batch is the whole (shard of the) training set, so both see the same gradient each step.
# fp32: under bf16 autocast a batch split in two rounds differently.
eq=(--set train.precision=fp32 --set data.format=synthetic --set data.val_size=64 --set data.synthetic_train=128
    --set data.synthetic_test=64 --set model.name=mlp --set model.width=0.25 --set train.steps=20
    --set train.threads=1 --set train.momentum=0.9 --set train.lr=0.05 --set run.progress=quiet
    --set data.normalize=false)
run_np 2 "$bin" train "${eq[@]}" --set swarm.algo=sync --set swarm.shard=true --set train.batch_size=32 \
  --run-dir eq-mpi >eq1.out 2>eq1.err || { cat eq1.err; fail "sync for the equivalence exited $?"; }
"$bin" train "${eq[@]}" --set swarm.algo=single --set train.batch_size=64 --run-dir eq-one >eq2.out 2>eq2.err \
  || { cat eq2.err; fail "single for the equivalence exited $?"; }
/usr/bin/python3 - <<'PY' || fail "sync N x B differs from one process x N*B"
import torch, os
def latest(d):
    return torch.load(os.path.join(d, open(os.path.join(d, "latest")).read().strip(), "model.pt"), weights_only=True)
a = latest("eq-mpi/checkpoints/particle-0")
b = latest("eq-mpi/checkpoints/particle-1")
c = latest("eq-one/checkpoints")
worst = 0.0
for k in c:
    assert torch.equal(a[k], b[k]), f"ranks disagree on {k}"
    d = (a[k].float() - c[k].float()).abs().max().item()
    worst = max(worst, d)
    assert torch.allclose(a[k].float(), c[k].float(), rtol=1e-4, atol=1e-5), (k, d)
print(f"ok   sync 2 x 32 == single x 64 (max abs difference {worst:.2e})")
PY
echo "mpi train checks passed"
