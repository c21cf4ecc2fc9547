"""PyTorch twins of nosync's built-in models (src/nosync/models/zoo.cpp).

Parameter and buffer names match the C++ models exactly, so a nosync checkpoint loads with

    import torch, nosync_models
    net = nosync_models.build("cnn", in_shape=(1, 28, 28), num_classes=10)
    net.load_state_dict(torch.load("runs/X/checkpoints/step-N/model.pt", weights_only=True))
"""
import math

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
