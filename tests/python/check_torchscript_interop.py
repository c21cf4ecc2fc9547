"""A TorchScript model trained by nosync comes back to Python two ways: its checkpoint's
model.pt (torch.load(weights_only=True)) loads with load_state_dict(strict=True) into the user's
own nn.Module (tests/python/torchscript_models.py), and the module nosync saved loads with
torch.jit.load. Both must compute what nosync computed.

Usage:
  check_torchscript_interop.py NAME MODEL_PT MODEL_TS IO_PT TOL
      IO_PT holds {"input", "logits"} from C++: both reloads give those logits within TOL (max abs).
  check_torchscript_interop.py NAME MODEL_PT MODEL_TS --accuracy IDX_DIR N ACCURACY
      nosync's test accuracy ACCURACY (data.normalize = false, data.test_limit = N) is reproduced
      on the first N test images by both reloads (one image of slack for float rounding), and
      the two reloads agree to 1e-4."""
import gzip
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchscript_models  # noqa: E402

name, model_pt, model_ts = sys.argv[1:4]
user = torchscript_models.build(name)
state = torch.load(model_pt, weights_only=True)
user.load_state_dict(state, strict=True)
user.eval()
scripted = torch.jit.load(model_ts)
scripted.eval()


def idx_images(path, n):
    with gzip.open(path, "rb") as f:
        data = f.read()
    count, rows, cols = (int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
    x = torch.frombuffer(bytearray(data[16:16 + n * rows * cols]), dtype=torch.uint8)
    return x.reshape(n, 1, rows, cols).float() / 255


def idx_labels(path, n):
    with gzip.open(path, "rb") as f:
        data = f.read()
    return torch.frombuffer(bytearray(data[8:8 + n]), dtype=torch.uint8).long()


if sys.argv[4] == "--accuracy":
    idx_dir, n, want = sys.argv[5], int(sys.argv[6]), float(sys.argv[7])
    x = idx_images(os.path.join(idx_dir, "t10k-images-idx3-ubyte.gz"), n)
    y = idx_labels(os.path.join(idx_dir, "t10k-labels-idx1-ubyte.gz"), n)
    with torch.no_grad():
        a, b = user(x), scripted(x)
    diff = (a - b).abs().max().item()
    acc_user = (a.argmax(1) == y).float().mean().item()
    acc_ts = (b.argmax(1) == y).float().mean().item()
    print(f"{name}: {len(state)} tensors loaded strictly; test accuracy nosync {want:.4f}, "
          f"state_dict {acc_user:.4f}, torch.jit.load {acc_ts:.4f}; logits agree to {diff:.2e}")
    if diff > 1e-4 or abs(acc_user - want) > 1.01 / n or abs(acc_ts - want) > 1.01 / n:
        sys.exit(1)
else:
    io_pt, tol = sys.argv[4], float(sys.argv[5])
    io = torch.load(io_pt, weights_only=True)
    with torch.no_grad():
        a, b = user(io["input"]), scripted(io["input"])
    da = (a - io["logits"]).abs().max().item()
    db = (b - io["logits"]).abs().max().item()
    print(f"{name}: {len(state)} tensors loaded strictly; logits differ from nosync's by {da:.2e} "
          f"(state_dict) and {db:.2e} (torch.jit.load), tolerance {tol}")
    if max(da, db) > tol:
        print(f"python {a[0, :4].tolist()}\njit    {b[0, :4].tolist()}\nc++    {io['logits'][0, :4].tolist()}")
        sys.exit(1)
