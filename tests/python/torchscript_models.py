"""A user's own models, as docs/own-model.md describes them: a small CNN with batch norm and an
MLP with dropout, scripted and saved with torch.jit.script(model).save(path) for
`nosync train --set model.name=torchscript --set model.path=...`; plus the broken files that
nosync must refuse (tests/scripts/torchscript_errors.sh).

Usage: torchscript_models.py OUT_DIR [errors]
Writes OUT_DIR/{cnn_bn,mlp,cnn}.ts (cnn: the twin of the built-in cnn, python/nosync_models.py, traced)
and, with `errors`, OUT_DIR/{plain_save.pt,random.bin,no_forward.ts,double.ts,no_params.ts,
wrong_output.ts,seq_output.ts,wrong_input.ts,not_bf16.ts,traced_bn.ts}.
The classes are imported by check_torchscript_interop.py to load nosync's checkpoints."""
import os
import sys

import torch
from torch import nn
import torch.nn.functional as F


class CnnBn(nn.Module):
    """conv-bn-relu-pool x 2, FC: state_dict names features.0.weight, features.1.running_mean, ..."""

    def __init__(self, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(32 * 7 * 7, classes)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


class Mlp(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.drop = nn.Dropout(0.1)
        self.fc2 = nn.Linear(128, classes)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x.flatten(1)))))


def build(name):
    torch.manual_seed(0)
    if name == "cnn_bn":
        return CnnBn()
    if name == "mlp":
        return Mlp()
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    import nosync_models  # noqa: E402
    return nosync_models.build("cnn", (1, 28, 28), 10)


class NoForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    @torch.jit.export
    def predict(self, x):
        return self.fc(x.flatten(1))


class NoParams(nn.Module):
    def forward(self, x):
        return x.flatten(1)[:, :10]


class WrongOutput(nn.Module):  # 7 classes, the data has 10
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 7)

    def forward(self, x):
        return self.fc(x.flatten(1))


class SeqOutput(nn.Module):  # [batch, seq, vocab]: a language model's output, not image logits
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(28, 10)

    def forward(self, x):
        return self.fc(x.flatten(1, 2))


class WrongInput(nn.Module):  # expects 3-channel 32x32 images
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4 * 30 * 30, 10)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))


class NotBf16(nn.Module):  # a determinant: no bfloat16 kernel on the CPU
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 40)

    def forward(self, x):
        y = self.fc(x.flatten(1)).reshape(-1, 10, 2, 2)
        return torch.linalg.det(y)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name in ("cnn_bn", "mlp"):
        torch.jit.script(build(name)).save(os.path.join(out, name + ".ts"))
    # The twin's forward loops over getattr(self, f"conv{i}"), which TorchScript cannot compile;
    # it has neither batch norm nor dropout, so tracing records all of it.
    torch.jit.trace(build("cnn"), torch.zeros(2, 1, 28, 28)).save(os.path.join(out, "cnn.ts"))
    if len(sys.argv) > 2 and sys.argv[2] == "errors":
        torch.save(Mlp().state_dict(), os.path.join(out, "plain_save.pt"))
        with open(os.path.join(out, "random.bin"), "wb") as f:
            f.write(os.urandom(4096))
        torch.jit.script(NoForward()).save(os.path.join(out, "no_forward.ts"))
        torch.jit.script(Mlp().double()).save(os.path.join(out, "double.ts"))
        torch.jit.script(NoParams()).save(os.path.join(out, "no_params.ts"))
        torch.jit.script(WrongOutput()).save(os.path.join(out, "wrong_output.ts"))
        torch.jit.script(SeqOutput()).save(os.path.join(out, "seq_output.ts"))
        torch.jit.script(WrongInput()).save(os.path.join(out, "wrong_input.ts"))
        torch.jit.script(NotBf16()).save(os.path.join(out, "not_bf16.ts"))
        # Tracing records batch norm in training mode for good: nosync refuses it.
        torch.jit.trace(CnnBn(), torch.zeros(2, 1, 28, 28)).save(os.path.join(out, "traced_bn.ts"))


if __name__ == "__main__":
    main()
