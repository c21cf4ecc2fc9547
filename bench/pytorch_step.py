"""samples/s of the same training step in PyTorch (Debian python3-torch), batches pre-made in
memory, SGD momentum 0.9, weight decay 5e-4. Prints one JSON line.
MODE: eager (fp32, contiguous: PyTorch's default) | fp32_cl (channels-last) |
      bf16_cl (bf16 autocast + channels-last: the best PyTorch setting on this CPU).
Usage: /usr/bin/python3 pytorch_step.py SOURCE_DIR THREADS SECONDS ROUNDS BATCH [MODE] [MODEL]"""
import json
import sys
import time

import torch
import torch.nn.functional as F

src, threads, seconds, rounds, batch = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
mode = sys.argv[6] if len(sys.argv) > 6 else "eager"
model = sys.argv[7] if len(sys.argv) > 7 else "cnn"
sys.path.insert(0, src + "/python")
import nosync_models  # noqa: E402

torch.set_num_threads(threads)
torch.manual_seed(0)
net = nosync_models.build(model, (1, 28, 28), 10)
channels_last = mode in ("fp32_cl", "bf16_cl")
memory_format = torch.channels_last if channels_last else torch.contiguous_format
net = net.to(memory_format=memory_format)
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
xs = [torch.randn(batch, 1, 28, 28).contiguous(memory_format=memory_format) for _ in range(16)]
ys = [torch.randint(0, 10, (batch,)) for _ in range(16)]


def step(x, y):
    opt.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "bf16_cl"):
        loss = F.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    loss.item()


def run_for(sec):
    """steps, wall seconds and process CPU seconds of `sec` wall seconds of training"""
    start, cpu0, n = time.perf_counter(), time.process_time(), 0
    while time.perf_counter() - start < sec:
        step(xs[n % 16], ys[n % 16])
        n += 1
    return n, time.perf_counter() - start, time.process_time() - cpu0


run_for(1.0)
total_n, total_s, total_cpu = 0, 0.0, 0.0
for _ in range(rounds):
    n, s, cpu = run_for(seconds)
    total_n += n
    total_s += s
    total_cpu += cpu
print(json.dumps({"loop": "pytorch_" + mode, "model": model, "threads": threads,
                  "samples_per_s": total_n * batch / total_s, "samples_per_cpu_s": total_n * batch / total_cpu}))
