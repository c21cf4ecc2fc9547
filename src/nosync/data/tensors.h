// Data sets from PyTorch (data.format = tensors): one file written by
//   torch.save({"train_x": X, "train_y": Y, "test_x": Xt, "test_y": Yt}, FILE)
// with optional "val_x" / "val_y" (otherwise data.val_size samples are held out of the end of
// the training set, as for the other formats).
//
// x: uint8 images N x C x H x W (or N x H x W: one channel), float images N x C x H x W, or
//    float features N x D; float16/bfloat16/float64 become float32. No NaN or infinity.
// y: integer class labels, N of them (int64; other integer types are converted).
// The class count is the largest label + 1 over all splits (at least 2). numpy data converts in
// one line: torch.save({k: torch.from_numpy(v) for k, v in arrays.items()}, FILE).
#pragma once

#include <optional>
#include <string>

#include "nosync/data/dataset.h"

namespace nosync::data {

struct TensorSets {
  Dataset train, test;
  std::optional<Dataset> val;
};

// Reads and checks FILE (dtypes, shapes, counts, label range); every problem is a UserError
// naming the file and the key.
TensorSets read_tensor_file(const std::string& path);

}  // namespace nosync::data
