"""samples/s of the same `cnn` training step in PyTorch eager (Debian python3-torch), batches
pre-made in memory, SGD momentum 0.9, weight decay 5e-4. Prints one JSON line.
Usage: /usr/bin/python3 pytorch_step.py SOURCE_DIR THREADS SECONDS ROUNDS BATCH"""
import json
import sys
import time

import torch
import torch.nn.functional as F

src, threads, seconds, rounds, batch = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sys.path.insert(0, src + "/python")
import nosync_models  # noqa: E402

torch.set_num_threads(threads)
torch.manual_seed(0)
net = nosync_models.build("cnn", (1, 28, 28), 10)
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
xs = [torch.randn(batch, 1, 28, 28) for _ in range(16)]
ys = [torch.randint(0, 10, (batch,)) for _ in range(16)]


def run_for(sec):
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < sec:
        x, y = xs[n % 16], ys[n % 16]
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        loss.item()
        n += 1
    return n, time.perf_counter() - start


run_for(1.0)
total_n, total_s = 0, 0.0
for _ in range(rounds):
    n, s = run_for(seconds)
    total_n += n
    total_s += s
print(json.dumps({"loop": "pytorch_eager", "threads": threads, "samples_per_s": total_n * batch / total_s}))
