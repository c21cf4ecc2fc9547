"""tokens/s of the gpt training step in PyTorch (Debian python3-torch) on the twin GPT of
python/nosync_models.py: the same sizes, random token batches made in memory beforehand,
cross-entropy over [B*T, V], backward, AdamW (lr 3e-4, weight decay 0.1) or SGD momentum 0.9,
as bench/gpt_step.cpp. Prints one JSON line.
MODE: eager | trace (torch.jit.trace of the model; 1.13 has no torch.compile) | script
      (torch.jit.script); each at PRECISION fp32 or bf16 (CPU autocast, float32 weights).
Usage: /usr/bin/python3 pytorch_gpt_step.py SOURCE_DIR THREADS SECONDS ROUNDS BATCH CONTEXT
                         LAYERS HEADS EMBED PRECISION MODE [OPTIMIZER]"""
import json
import sys
import time

import torch
import torch.nn.functional as F

(src, threads, seconds, rounds, batch, context, layers, heads, embed, precision, mode) = sys.argv[1:12]
optimizer = sys.argv[12] if len(sys.argv) > 12 else "adamw"
threads, seconds, rounds = int(threads), float(seconds), int(rounds)
batch, context, layers, heads, embed = int(batch), int(context), int(layers), int(heads), int(embed)
vocab = 256
sys.path.insert(0, src + "/python")
import nosync_models  # noqa: E402

torch.set_num_threads(threads)
torch.manual_seed(0)
net = nosync_models.build("gpt", (1, 1, context), vocab, layers=layers, heads=heads, embed=embed)
net.train()
xs = [torch.randint(0, vocab, (batch, context)) for _ in range(16)]
ys = [torch.randint(0, vocab, (batch, context)) for _ in range(16)]
bf16 = precision == "bf16"
if mode == "trace":
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        model = torch.jit.trace(net, xs[0], check_trace=False)
elif mode == "script":
    model = torch.jit.script(net)
else:
    model = net
if optimizer == "sgd":
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
else:
    opt = torch.optim.AdamW(net.parameters(), lr=3e-4, weight_decay=0.1)


def step(x, y):
    opt.zero_grad(set_to_none=False)  # as nosync: gradients stay in their buffers
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(x)
    loss = F.cross_entropy(logits.float().view(-1, vocab), y.view(-1))
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
tokens = total_n * batch * context
print(json.dumps({"loop": "pytorch_" + mode, "precision": precision, "threads": threads, "optimizer": optimizer,
                  "tokens_per_s": tokens / total_s, "tokens_per_cpu_s": tokens / total_cpu}))
