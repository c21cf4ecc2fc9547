"""Loads a nosync model.pt with torch.load(weights_only=True) into the twin nn.Module from
python/nosync_models.py (strict) and checks its logits against the ones C++ computed.
Usage: check_model_interop.py SOURCE_DIR MODEL C H W CLASSES WIDTH DEPTH MODEL_PT INPUT_LOGITS_PT"""
import sys

import torch

src, name, c, h, w, classes, width, depth, model_pt, io_pt = sys.argv[1:]
sys.path.insert(0, src + "/python")
import nosync_models  # noqa: E402

net = nosync_models.build(name, (int(c), int(h), int(w)), int(classes), float(width), int(depth))
state = torch.load(model_pt, weights_only=True)
net.load_state_dict(state, strict=True)
net.eval()
io = torch.load(io_pt, weights_only=True)
with torch.no_grad():
    logits = net(io["input"])
diff = (logits - io["logits"]).abs().max().item()
if diff > 1e-4:
    print(f"{name}: logits differ by {diff}\npython {logits[0, :4].tolist()}\nc++    {io['logits'][0, :4].tolist()}")
    sys.exit(1)
print(f"{name}: {len(state)} tensors loaded strictly, logits match (max diff {diff:.2e})")
