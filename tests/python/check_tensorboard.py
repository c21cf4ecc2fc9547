"""Independent check of a run's TensorBoard event files and metrics.csv against its metrics.jsonl
(run by tests/scripts/tensorboard.sh and tests/mpi/tensorboard_mpi.sh).

usage: check_tensorboard.py RUN_DIR --particles N [--files K] [--killed]

Reads RUN_DIR/tb/*tfevents* with protobuf classes compiled here by protoc (Debian
protobuf-compiler + python3-protobuf) from minimal event.proto / summary.proto that carry
TensorBoard's field numbers; checks every TFRecord's two masked CRC-32Cs with a bitwise CRC of its
own; then checks that the scalars are exactly metrics.jsonl's records, mapped by the naming rules
of src/nosync/train/scalars.h (restated below, not imported), values within float32 rounding,
and that metrics.csv holds the same values (exactly, as written by shortest round-trip).
--particles N: tags p0/ .. p<N-1>/ must all have train/loss and val/accuracy.
--files K: exactly K events files (one per process that wrote the run).
--killed: the run was killed (SIGKILL): the events hold the records up to at least the
second-to-last eval or checkpoint record, in order, and a torn last frame is allowed.
Exit status 0 and "tensorboard OK" on success.
"""
import argparse
import csv
import glob
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

EVENT_PROTO = """
syntax = "proto3";
package tbcheck;
import "summary.proto";
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    bytes graph_def = 4;
    Summary summary = 5;
  }
}
"""
SUMMARY_PROTO = """
syntax = "proto3";
package tbcheck;
message Summary {
  message Value {
    string node_name = 7;
    string tag = 1;
    oneof value {
      float simple_value = 2;
      bytes obsolete_old_style_histogram = 3;
    }
  }
  repeated Value value = 1;
}
"""


def compile_protos(tmp):
    for name, text in (("event.proto", EVENT_PROTO), ("summary.proto", SUMMARY_PROTO)):
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)
    subprocess.run(["protoc", f"--proto_path={tmp}", f"--python_out={tmp}", "event.proto", "summary.proto"],
                   check=True)
    sys.path.insert(0, tmp)
    import event_pb2  # noqa: E402 (generated just now)
    return event_pb2


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
    return c ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_frames(path, torn_ok):
    data = open(path, "rb").read()
    at, out = 0, []
    while at < len(data):
        if len(data) - at < 12:
            assert torn_ok, f"{path}: torn frame header at byte {at}"
            break
        (n,) = struct.unpack_from("<Q", data, at)
        (len_crc,) = struct.unpack_from("<I", data, at + 8)
        assert len_crc == masked(data[at:at + 8]), f"{path}: bad length CRC at byte {at}"
        if len(data) - at - 12 < n + 4:
            assert torn_ok, f"{path}: torn frame at byte {at}"
            break
        payload = data[at + 12:at + 12 + n]
        (data_crc,) = struct.unpack_from("<I", data, at + 12 + n)
        assert data_crc == masked(payload), f"{path}: bad data CRC at byte {at}"
        out.append(payload)
        at += 16 + n
    return out


# The naming rules of src/nosync/train/scalars.h.
IDENTITY = {"event", "particle", "rank", "step", "from", "attractor", "wall_s"}


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def name_of(event, key):
    for split in ("train", "val", "test", event):
        if len(key) > len(split) + 1 and key.startswith(split + "_"):
            return f"{split}/{key[len(split) + 1:]}"
    return f"{event}/{key}"


def flatten(value, path, out):
    if is_number(value):
        out.append((path, float(value)))
    elif isinstance(value, dict):
        for k in sorted(value):
            flatten(value[k], f"{path}/{k}", out)


def scalars_of(r):
    """(particle, rank, step, wall_s, [(name, value)]) or None."""
    event = r.get("event")
    particle, rank = r.get("particle", -1), r.get("rank", -1)
    if event == "final":
        s = r.get("summary", {})
        if not isinstance(s.get("steps"), int):
            return None
        values = []
        flatten(s, "final", values)
        return particle, rank, s["steps"], None, values
    if not isinstance(r.get("step"), int):
        return None
    values = [(name_of(event, k), float(v)) for k, v in sorted(r.items())
              if is_number(v) and k not in IDENTITY and not (event == "eval" and k in ("lr", "epoch"))]
    return (particle, rank, r["step"], r.get("wall_s"), values) if values else None


def tag_of(particle, rank, name):
    if particle < 0:
        return name
    if rank >= 0 and rank != particle:
        return f"p{particle}-rank{rank}/{name}"
    return f"p{particle}/{name}"


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--particles", type=int, required=True)
    ap.add_argument("--files", type=int, default=0)
    ap.add_argument("--killed", action="store_true")
    args = ap.parse_args()
    d = args.run_dir

    records = []
    for line in open(os.path.join(d, "metrics.jsonl")):
        try:
            records.append(json.loads(line))
        except ValueError:
            assert args.killed, f"unreadable metrics.jsonl line: {line!r}"
    mapped = [(i, s) for i, s in enumerate(scalars_of(r) for r in records) if s is not None]
    # One TensorBoard event per mapped record, in record order.
    expected = [(s[2], [(tag_of(s[0], s[1], n), v) for n, v in s[4]]) for _, s in mapped]

    files = sorted(glob.glob(os.path.join(d, "tb", "events.out.tfevents.*")))
    assert files, f"no events file under {d}/tb"
    if args.files:
        assert len(files) == args.files, (len(files), files)
    with tempfile.TemporaryDirectory() as tmp:
        event_pb2 = compile_protos(tmp)
        got = []
        for path in files:
            frames = read_frames(path, torn_ok=args.killed)
            first = event_pb2.Event.FromString(frames[0])
            assert first.file_version == "brain.Event:2", (path, first)
            assert first.wall_time > 1.6e9, first.wall_time
            last_time = first.wall_time
            for payload in frames[1:]:
                e = event_pb2.Event.FromString(payload)
                assert e.WhichOneof("what") == "summary", e
                assert e.wall_time >= last_time, (path, e.wall_time, last_time)
                last_time = e.wall_time
                got.append((e.step, [(v.tag, v.simple_value) for v in e.summary.value]))

    def same(a, b):
        (sa, va), (sb, vb) = a, b
        return sa == sb and len(va) == len(vb) and all(
            ta == tb and (x == f32(y) or (math.isinf(x) and math.isinf(f32(y)))) for (ta, x), (tb, y) in zip(va, vb))

    if args.killed:
        # Flushed at every eval/checkpoint/final record: everything before the second-to-last
        # of them in metrics.jsonl is surely on disk (the last one may have been cut by the kill).
        flushing = [i for i, r in enumerate(records) if r.get("event") in ("eval", "checkpoint", "final")]
        assert len(flushing) >= 2, "the run was killed before two evaluations/checkpoints"
        need = sum(1 for i, _ in mapped if i <= flushing[-2])
        assert need <= len(got) <= len(expected), (need, len(got), len(expected))
        expected = expected[:len(got)]
    assert len(got) == len(expected), (len(got), len(expected))
    for k, (g, e) in enumerate(zip(got, expected)):
        assert same(g, e), (k, g, e)

    tags = {t for _, vals in got for t, _ in vals}
    prefixes = [f"p{p}/" for p in range(args.particles)] or [""]  # --particles 0: a single worker
    for prefix in prefixes:
        for name in ("train/loss", "train/lr", "train/samples_per_s", "val/loss", "val/accuracy", "test/accuracy"):
            assert prefix + name in tags, (prefix + name, sorted(tags))

    # metrics.csv: one row per (step, particle, rank), later records of a row win.
    rows = {}
    names = []
    for _, (particle, rank, step, wall_s, values) in mapped:
        row = rows.setdefault((step, particle, rank), {})
        if wall_s is not None:
            row["wall_s"] = float(wall_s)
        for n, v in values:
            row[n] = v
            if n not in names:
                names.append(n)
    with open(os.path.join(d, "metrics.csv"), newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames
        table = list(reader)
    any_particle = any(k[1] >= 0 for k in rows)
    any_rank = any(k[2] >= 0 for k in rows)
    want_header = ["step"] + (["particle"] if any_particle else []) + (["rank"] if any_rank else []) + ["wall_s"]
    if not args.killed:  # a killed run's CSV is the table at its last flush: a prefix of the columns
        assert header == want_header + names, (header, want_header + names)
    assert header[:len(want_header)] == want_header, header
    seen = set()
    for line in table:
        key = (int(line["step"]), int(line["particle"]) if line.get("particle") else -1,
               int(line["rank"]) if line.get("rank") else -1)
        assert key not in seen, f"two rows for {key}"
        seen.add(key)
        want = rows[key]
        for col in header[len(want_header) - 1:]:  # wall_s and the metrics
            cell = line[col]
            if cell == "":
                assert args.killed or col not in want, (key, col, "empty")
            elif not (args.killed and col == "wall_s"):  # a record after the last flush may move it
                assert col in want and float(cell) == want[col], (key, col, cell, want.get(col))
    if not args.killed:
        assert seen == set(rows), (len(seen), len(rows))
    print(f"tensorboard OK: {len(files)} events file(s), {len(got)} events, {len(tags)} tags; "
          f"metrics.csv {len(table)} rows x {len(header)} columns")


if __name__ == "__main__":
    main()
