#!/usr/bin/env python3
"""Sums a Chrome trace written by `nosync_bench_step --profile FILE` per operator.

Prints each operator's total time (self time is not separated: nested ops are also counted in
their parents, so read it top-down), its share of the traced wall time and its count.
Usage: bench/profile_ops.py FILE [TOP]
"""
import json
import sys
from collections import defaultdict

trace = json.load(open(sys.argv[1]))
events = trace["traceEvents"] if isinstance(trace, dict) else trace
total = defaultdict(float)
count = defaultdict(int)
start, end = float("inf"), 0.0
for e in events:
    if e.get("ph") != "X":
        continue
    total[e["name"]] += e["dur"]
    count[e["name"]] += 1
    start = min(start, e["ts"])
    end = max(end, e["ts"] + e["dur"])
wall = end - start
print(f"traced wall time {wall / 1e3:.1f} ms")
for name, us in sorted(total.items(), key=lambda kv: -kv[1])[: int(sys.argv[2]) if len(sys.argv) > 2 else 40]:
    print(f"{us / 1e3:10.2f} ms {100 * us / wall:6.1f} %  x{count[name]:<6} {name}")
