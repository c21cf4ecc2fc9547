"""PyTorch twins of nosync's built-in models (src/nosync/models/zoo.cpp).

Parameter and buffer names match the C++ models exactly, so a nosync checkpoint loads with

    import torch, nosync_models
    net = nosync_models.build("cnn", in_shape=(1, 28, 28), num_classes=10)
    net.load_state_dict(torch.load("runs/X/checkpoints/step-N/model.pt", weights_only=True))

or, with everything the checkpoint records about itself (model options, input, normalization):

    net, transform = nosync_models.load("runs/X")   # a run, its checkpoints/, a particle-N/ or step-N/
    predictions = net(transform(raw_images)).argmax(1)
"""
import hashlib
import json
import math
import os

import torch
from torch import nn
import torch.nn.functional as F


def _scaled(base, width):
    return max(1, round(base * width))


class MLP(nn.Module):
    def __init__(self, in_features, hidden, depth, num_classes):
        super().__init__()
        sizes = [in_features] + [hidden] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], num_classes)

    def forward(self, x):
        x = x.flatten(1)
        for layer in self.hidden:
            x = F.relu(layer(x))
        return self.out(x)


class CNN(nn.Module):
    def __init__(self, in_shape, channels, hidden, num_classes):
        super().__init__()
        c, h, w = in_shape
        self.n_convs = len(channels)
        for i, out in enumerate(channels):
            setattr(self, f"conv{i + 1}", nn.Conv2d(c, out, 3, padding=1))
            c, h, w = out, h // 2, w // 2
        self.fc1 = nn.Linear(c * h * w, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        for i in range(self.n_convs):
            x = F.max_pool2d(F.relu(getattr(self, f"conv{i + 1}")(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out + (self.downsample(x) if self.downsample is not None else x)
        return F.relu(out)


class ResNet(nn.Module):
    def __init__(self, in_channels, blocks_per_stage, base, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, base, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        cin = base
        for stage in range(3):
            cout = base << stage
            blocks = []
            for b in range(blocks_per_stage):
                blocks.append(BasicBlock(cin, cout, 2 if stage > 0 and b == 0 else 1))
                cin = cout
            setattr(self, f"layer{stage + 1}", nn.ModuleList(blocks))
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for stage in range(3):
            for block in getattr(self, f"layer{stage + 1}"):
                x = block(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class CausalSelfAttention(nn.Module):
    def __init__(self, embed, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(embed, 3 * embed)
        self.proj = nn.Linear(embed, embed)

    def forward(self, x):
        B, T, C = x.shape
        D = C // self.heads
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, D).unbind(2)  # [B, T, H, D] each
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
        future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        att = F.softmax(att.masked_fill(future, float("-inf")), dim=-1)
        return self.proj((att @ v).transpose(1, 2).reshape(B, T, C))


class GptMlp(nn.Module):
    def __init__(self, embed):
        super().__init__()
        self.fc = nn.Linear(embed, 4 * embed)
        self.proj = nn.Linear(4 * embed, embed)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x)))


class GptBlock(nn.Module):
    def __init__(self, embed, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(embed)
        self.attn = CausalSelfAttention(embed, heads)
        self.ln2 = nn.LayerNorm(embed)
        self.mlp = GptMlp(embed)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Decoder-only transformer: tokens [B, T] (int64, T <= context) -> logits [B, T, vocab].
    The output head is tok_emb.weight itself (tied), so the state_dict holds it once."""

    def __init__(self, vocab, context, layers=4, heads=4, embed=128):
        super().__init__()
        self.tok_emb = nn.Embedding(vocab, embed)
        self.pos_emb = nn.Embedding(context, embed)
        self.blocks = nn.ModuleList(GptBlock(embed, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(embed)
        # GPT-2 initialisation, as the C++ model (src/nosync/models/gpt.cpp)
        for name, p in self.named_parameters():
            if ".ln" in name or name.startswith("ln_f."):
                nn.init.ones_(p) if name.endswith(".weight") else nn.init.zeros_(p)
            elif not name.endswith(".weight"):
                nn.init.zeros_(p)
            elif name.endswith("attn.proj.weight") or name.endswith("mlp.proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * layers))
            else:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, idx):
        T = idx.size(1)
        x = self.tok_emb(idx) + self.pos_emb.weight[:T]
        for block in self.blocks:
            x = block(x)
        return F.linear(self.ln_f(x), self.tok_emb.weight)


def build(name, in_shape, num_classes, width=1.0, depth=0, layers=4, heads=4, embed=128):
    """Same arguments as nosync's model.* config keys. gpt: in_shape = (1, 1, context),
    num_classes = the vocabulary."""
    if name == "mlp":
        c, h, w = in_shape
        return MLP(c * h * w, _scaled(256, width), depth or 2, num_classes)
    if name == "cnn":
        depth = depth or 2
        return CNN(in_shape, [_scaled(32 << i, width) for i in range(depth)], _scaled(128, width),
                   num_classes)
    if name == "resnet":
        return ResNet(in_shape[0], depth or 3, _scaled(16, width), num_classes)
    if name == "gpt":
        return GPT(num_classes, in_shape[2], layers, heads, embed)
    raise ValueError(f"unknown model {name!r}")


# ---- load(): a ready model from a checkpoint that describes itself --------------------------

def _latest(directory):
    with open(os.path.join(directory, "latest")) as f:
        return os.path.join(directory, f.read().strip())


def _step_of(step_dir):
    return int(os.path.basename(os.path.normpath(step_dir))[len("step-"):])


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _particles(checkpoints):
    ids = []
    for name in os.listdir(checkpoints):
        if name.startswith("particle-") and name[len("particle-"):].isdigit():
            ids.append(int(name[len("particle-"):]))
    return sorted(ids)


def checkpoint_dir(path, model="best"):
    """The step-<N> directory `nosync eval --checkpoint PATH --model MODEL` evaluates
    (src/nosync/app/eval_target.h): a single run's latest checkpoint; a swarm's best particle
    (summary.json's best_particle when it is current, else the lowest state.json "val_loss") or
    particle-N. The swarm average is the checkpoints/average/ directory a finished run saved."""
    path = os.path.normpath(path)
    if os.path.exists(os.path.join(path, "manifest.json")) or os.path.basename(path).startswith("step-"):
        if model != "best":
            raise ValueError(f"{path} holds one model, not a swarm's particles")
        return path
    checkpoints, run = path, os.path.dirname(path)
    if os.path.isdir(os.path.join(path, "checkpoints")):
        checkpoints, run = os.path.join(path, "checkpoints"), path
    ids = _particles(checkpoints)
    if not ids:
        if model != "best":
            raise ValueError(f"{path} holds one model, not a swarm's particles")
        return _latest(checkpoints)
    dirs = {i: _latest(os.path.join(checkpoints, f"particle-{i}")) for i in ids}
    if model.startswith("particle-"):
        wanted = int(model[len("particle-"):])
        if wanted not in dirs:
            raise ValueError(f"{checkpoints} has no particle-{wanted}")
        return dirs[wanted]
    if model != "best":
        raise ValueError(f"model {model!r}: use best or particle-N (the average: checkpoints/average)")
    summary = _read_json(os.path.join(run, "summary.json")) or {}
    best = summary.get("best_particle")
    if best in dirs and all(_step_of(d) == summary.get("steps") for d in dirs.values()):
        return dirs[best]
    losses = {i: (_read_json(os.path.join(d, "state.json")) or {}).get("val_loss") for i, d in dirs.items()}
    losses = {i: v for i, v in losses.items() if isinstance(v, (int, float)) and math.isfinite(v)}
    if not losses:
        raise ValueError(f"{checkpoints}: no validation loss recorded; pass model='particle-N'")
    return dirs[min(losses, key=lambda i: (losses[i], i))]


def _verified(step_dir, name):
    manifest = _read_json(os.path.join(step_dir, "manifest.json"))
    if not manifest or name not in manifest.get("files", {}):
        raise ValueError(f"{step_dir}: no manifest.json listing {name}: not a nosync checkpoint")
    path = os.path.join(step_dir, name)
    with open(path, "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != manifest["files"][name]["sha256"]:
        raise ValueError(f"{path}: checksum mismatch: the checkpoint is corrupt")
    return path, data


def transform_of(card):
    """The function that turns raw inputs (what the data files hold: uint8 images [N, C, H, W] or
    [N, H, W], float images or features, token ids) into the network's input, exactly as nosync's
    loader does (src/nosync/data/loader.cpp; model_card.h states the rule)."""
    norm, dtype = card["normalization"], card["input"]["dtype"]
    channels_last = card.get("channels_last", False)
    if norm is None:
        return lambda x: torch.as_tensor(x).long()
    mean64 = torch.tensor(norm["mean"], dtype=torch.float64)
    std64 = torch.tensor(norm["std"], dtype=torch.float64)

    def transform(x):
        x = torch.as_tensor(x)
        if x.dim() == 3 and card["input"]["shape"][0] == 1 and dtype == "uint8":
            x = x.unsqueeze(1)  # N x H x W: one channel
        view = [1, -1] + [1] * (x.dim() - 2)
        if x.dtype == torch.uint8:
            out = ((x.double() / norm["pixel_scale"] - mean64.view(view)) / std64.view(view)).float()
        else:
            out = (x.float() - mean64.float().view(view)) / std64.float().view(view)
        return out.contiguous(memory_format=torch.channels_last) if channels_last and out.dim() == 4 else out
    return transform


def load(path, model="best"):
    """A ready model from a nosync run directory (single or swarm), its checkpoints/, a
    particle-N/ or a step-N/ directory: returns (net, transform). `net` is the nn.Module with the
    checkpoint's weights (sha256-verified), in eval mode; `transform` turns raw inputs into its
    input (the training split's normalization). `net.nosync_card` is the checkpoint's model card
    and `net.nosync_checkpoint` its directory. A bf16 run was evaluated under CPU autocast: wrap
    calls in torch.autocast("cpu", dtype=torch.bfloat16) to match `nosync eval` there."""
    step_dir = checkpoint_dir(path, model)
    _, state_bytes = _verified(step_dir, "state.json")
    card = json.loads(state_bytes).get("model_card")
    if card is None:
        raise ValueError(f"{step_dir}/state.json has no model_card (written by an older nosync): "
                         "build() the model and normalize the inputs yourself")
    m = card["model"]
    if m["name"] == "torchscript":
        net = torch.jit.load(m["path"])
    else:
        c, h, w = card["input"]["shape"]
        net = build(m["name"], (c, h, w), card["classes"], m["width"], m["depth"], m["layers"],
                    m["heads"], m["embed"])
    weights_path, _ = _verified(step_dir, "model.pt")
    net.load_state_dict(torch.load(weights_path, weights_only=True), strict=True)
    if card.get("channels_last"):
        net = net.to(memory_format=torch.channels_last)
    net.eval()
    try:
        net.nosync_card, net.nosync_checkpoint = card, step_dir
    except (AttributeError, RuntimeError):  # a ScriptModule takes no new attributes
        pass
    return net, transform_of(card)
