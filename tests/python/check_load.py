"""nosync_models.load() against `nosync eval` on the same images (tests/scripts/python_load.sh).

Usage: check_load.py make-data DATA.pt
       check_load.py compare DATA.pt RUN_OR_CHECKPOINT EVAL_OUTPUT [--model M]
make-data writes a small 4-class uint8 image set whose pixels are far from zero mean, so that a
model fed unnormalized inputs is visibly wrong. compare loads the model with load() alone (no
config, no normalization given), predicts the test images and checks accuracy (exactly) and
loss against what `nosync eval` printed, the checkpoint it picked against eval's, and that the
transform is the one that matters (raw pixels / 255 give other logits)."""
import argparse
import re
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, sys.argv[0].rsplit("/tests/", 1)[0] + "/python")
import nosync_models  # noqa: E402


def make_data(path):
    g = torch.Generator().manual_seed(7)
    protos = torch.rand(4, 1, 10, 10, generator=g) * 120 + 100  # bright images
    def split(n):
        y = torch.randint(0, 4, (n,), generator=g)
        x = protos[y] + torch.randn(n, 1, 10, 10, generator=g) * 40
        return x.clamp(0, 255).round().to(torch.uint8), y
    train_x, train_y = split(900)
    test_x, test_y = split(300)
    torch.save({"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}, path)


def compare(data, target, eval_output, model):
    text = open(eval_output).read()
    acc = float(re.search(r"test accuracy\s*\|?\s*([0-9.]+) %", text).group(1))
    loss = float(re.search(r"test loss\s*\|?\s*([0-9.]+)", text).group(1))
    d = torch.load(data, weights_only=True)
    net, transform = nosync_models.load(target, model)
    with torch.no_grad():
        logits = net(transform(d["test_x"]))
        raw = net((d["test_x"].float() / 255).contiguous(memory_format=torch.channels_last))
    correct = int((logits.argmax(1) == d["test_y"]).sum())
    n = len(d["test_y"])
    py_acc = 100.0 * correct / n
    py_loss = F.cross_entropy(logits, d["test_y"]).item()
    print(f"{net.nosync_checkpoint}: python {py_acc:.2f} % loss {py_loss:.4f}; nosync eval {acc:.2f} % "
          f"loss {loss:.4f}")
    assert f"{py_acc:.2f}" == f"{acc:.2f}", "accuracy differs from nosync eval"
    assert abs(py_loss - loss) < 2e-4, "loss differs from nosync eval"
    particle = [p for p in net.nosync_checkpoint.split("/") if p.startswith("particle-")]
    assert not particle or f"{particle[0]} of" in text, "load() picked another particle than eval"
    assert not torch.allclose(logits, raw, atol=1e-3), "the transform makes no difference: test proves nothing"


def main():
    if sys.argv[1] == "make-data":
        make_data(sys.argv[2])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd")
    ap.add_argument("data")
    ap.add_argument("target")
    ap.add_argument("eval_output")
    ap.add_argument("--model", default="best")
    a = ap.parse_args()
    compare(a.data, a.target, a.eval_output, a.model)


if __name__ == "__main__":
    main()
