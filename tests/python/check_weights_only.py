"""Cross-language check for nosync tensor files (run by tests/train/checkpoint_test.cpp).

usage: check_weights_only.py <file-written-by-nosync> <file-for-nosync-to-read>

Loads the first file with torch.load(weights_only=True) and checks every value against the
tensors the C++ test wrote; then writes the same tensors with torch.save for the C++ side.
Exit status 0 and "weights_only OK" on success.
"""
import sys

import torch


def expected():
    # Must match expected_interop_tensors() in checkpoint_test.cpp, in this order.
    return [
        ("layer.weight", torch.arange(12, dtype=torch.float32).reshape(3, 4) / 4),
        ("big", torch.arange(5, dtype=torch.int64) + (1 << 40)),
        ("half", (torch.arange(8, dtype=torch.float32) * 0.5).to(torch.bfloat16)),
        ("empty", torch.zeros(0, 3, dtype=torch.float32)),
        ("transposed", torch.arange(6, dtype=torch.float64).reshape(2, 3).t()),
        ("slice", torch.arange(10, dtype=torch.float32)[2:5]),
    ]


def main():
    src, dst = sys.argv[1], sys.argv[2]
    loaded = torch.load(src, weights_only=True)
    assert isinstance(loaded, dict), f"expected a dict, got {type(loaded)}"
    want = expected()
    assert list(loaded.keys()) == [k for k, _ in want], f"keys/order differ: {list(loaded.keys())}"
    for name, ref in want:
        got = loaded[name]
        assert isinstance(got, torch.Tensor), f"{name}: not a tensor ({type(got)})"
        assert got.dtype == ref.dtype, f"{name}: dtype {got.dtype} != {ref.dtype}"
        assert got.shape == ref.shape, f"{name}: shape {tuple(got.shape)} != {tuple(ref.shape)}"
        assert torch.equal(got, ref), f"{name}: values differ:\n{got}\nvs\n{ref}"
    torch.save({name: ref.contiguous() for name, ref in want}, dst)
    print("weights_only OK")


if __name__ == "__main__":
    main()
