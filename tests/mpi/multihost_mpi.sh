#!/usr/bin/env bash
# Three "hosts" on one machine: network namespaces h0, h1, h2 joined by a bridge (in a fourth
# namespace, so the machine's own network is untouched), each with its own hostname. mpirun runs
# in h0 and starts its daemons in h1 and h2 through a plm_rsh_agent script; ranks talk over TCP
# only (btl self,tcp) on the bridge's subnet. A NoSync swarm trains across the three and learns.
# Where namespaces cannot be made (no root, no `ip`), the test says why and exits 77 (SKIPPED).
# Usage: multihost_mpi.sh NOSYNC_BINARY SOURCE_DIR MPIRUN
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../support/script_env.sh" "$@"
mpirun=$(command -v "$3")
tag="nsy$$"
hosts=(h0 h1 h2)
on_exit='for h in "${hosts[@]}" sw; do ip netns del "$tag-$h" 2>/dev/null; done'
skip() { echo "SKIPPED: $*"; exit 77; }

command -v ip >/dev/null || skip "no 'ip' command (iproute2)"
command -v unshare >/dev/null || skip "no 'unshare' command"
ip netns add "$tag-sw" 2>err.txt || skip "cannot create network namespaces: $(cat err.txt) (needs root)"
ip -n "$tag-sw" link add br0 type bridge || fail "bridge"
ip -n "$tag-sw" link set br0 up
for i in 0 1 2; do
  h=${hosts[$i]}
  ip netns add "$tag-$h" || fail "netns $h"
  ip link add "$tag-$i" type veth peer name "eth0" netns "$tag-$h" || fail "veth $h"
  ip link set "$tag-$i" netns "$tag-sw"
  ip -n "$tag-sw" link set "$tag-$i" master br0 up
  ip -n "$tag-$h" link set lo up
  ip -n "$tag-$h" addr add "10.78.0.$((i + 1))/24" dev eth0
  ip -n "$tag-$h" link set eth0 up
done
# The rsh agent: `agent HOST COMMAND...` runs COMMAND "on" HOST (inside its namespace and UTS).
cat >agent.sh <<AGENT
#!/usr/bin/env bash
host=\$1; shift
exec ip netns exec "$tag-\$host" unshare --uts bash -c "hostname \$host; \$*"
AGENT
chmod +x agent.sh
printf 'h0 slots=1\nh1 slots=1\nh2 slots=1\n' >hostfile
mca=(--mca plm_rsh_agent "$work/agent.sh" --mca btl self,tcp --mca btl_tcp_if_include 10.78.0.0/24
     --mca oob_tcp_if_include 10.78.0.0/24 --hostfile hostfile -np 3)
in_h0() { ip netns exec "$tag-h0" unshare --uts bash -c 'hostname h0; exec "$@"' bash "$@"; }

in_h0 timeout 60 "$mpirun" "${mca[@]}" hostname >hostnames.txt 2>err.txt || { cat err.txt; fail "mpirun hostname"; }
[ "$(sort hostnames.txt | tr '\n' ' ')" = "h0 h1 h2 " ] || fail "ranks ran on: $(cat hostnames.txt)"
echo "ok   ranks on three hosts: $(sort hostnames.txt | tr '\n' ' ')"

small=(--set data.format=synthetic --set data.val_size=256 --set data.synthetic_train=1280
       --set data.synthetic_test=256 --set model.name=mlp --set model.width=0.25 --set train.steps=60
       --set train.batch_size=32 --set train.threads=1 --set swarm.tau=10 --set swarm.fitness_samples=128
       --set run.progress=quiet --set swarm.algo=nosync)
in_h0 timeout 120 "$mpirun" "${mca[@]}" "$bin" train "${small[@]}" --run-dir "$work/run" >train.out 2>train.err \
  || { cat train.err; fail "nosync train across namespaces exited $?"; }
/usr/bin/python3 - "$work/run" <<'PY' || fail "run content"
import json, sys
d = sys.argv[1]
s = json.load(open(f"{d}/summary.json"))
assert s["ranks"] == 3 and s["transport"] == "mpi", s
assert s["best"]["test_accuracy"] > 0.6 and s["average"]["test_accuracy"] > 0.6, s
recs = [json.loads(l) for l in open(f"{d}/metrics.jsonl")]
assert {r["rank"] for r in recs if "rank" in r} == {0, 1, 2}
ex = [r for r in recs if r["event"] == "exchange"]
assert len(ex) == 15, len(ex)
print(f"ok   nosync over TCP across 3 namespaces: best {s['best']['test_accuracy']:.3f}, "
      f"average {s['average']['test_accuracy']:.3f}, {len(ex)} exchanges")
PY
echo "multi-host checks passed"
