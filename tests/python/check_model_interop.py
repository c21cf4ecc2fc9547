"""Loads a nosync model.pt with torch.load(weights_only=True) into the twin nn.Module from
python/nosync_models.py (strict) and checks its logits against the ones C++ computed.
Usage: check_model_interop.py SOURCE_DIR MODEL C H W CLASSES WIDTH DEPTH MODEL_PT INPUT_LOGITS_PT
                              [LAYERS HEADS EMBED]   (gpt: C = H = 1, W = context, CLASSES = vocabulary)
Tolerance: float32 logits agree to 1e-4 absolute; gpt (deeper, more reductions per logit) to
1e-5 relative to the largest logit."""
import sys

import torch

src, name, c, h, w, classes, width, depth, model_pt, io_pt = sys.argv[1:11]
gpt_sizes = [int(a) for a in sys.argv[11:14]]
sys.path.insert(0, src + "/python")
import nosync_models  # noqa: E402

net = nosync_models.build(name, (int(c), int(h), int(w)), int(classes), float(width), int(depth), *gpt_sizes)
state = torch.load(model_pt, weights_only=True)
net.load_state_dict(state, strict=True)
net.eval()
io = torch.load(io_pt, weights_only=True)
with torch.no_grad():
    logits = net(io["input"])
assert logits.shape == io["logits"].shape, f"{name}: shape {tuple(logits.shape)} != {tuple(io['logits'].shape)}"
diff = (logits - io["logits"]).abs().max().item()
tolerance = 1e-5 * io["logits"].abs().max().item() if name == "gpt" else 1e-4
if not diff <= tolerance:
    print(f"{name}: logits differ by {diff} (tolerance {tolerance:.2e})\n"
          f"python {logits.flatten()[:4].tolist()}\nc++    {io['logits'].flatten()[:4].tolist()}")
    sys.exit(1)
print(f"{name}: {len(state)} tensors loaded strictly, logits match (max diff {diff:.2e}, tolerance {tolerance:.2e})")
