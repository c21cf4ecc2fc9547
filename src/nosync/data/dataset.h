// In-memory data sets and the train / validation / test splits every run uses.
//
// Images are kept as uint8 [N, C, H, W] exactly as read from disk; normalization and
// augmentation happen when batches are made (see loader.h), so a data set is cheap to split,
// subset and share between particles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace nosync::data {

struct Shape {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t numel() const { return channels * height * width; }
  bool operator==(const Shape& o) const {
    return channels == o.channels && height == o.height && width == o.width;
  }
};

struct Dataset {
  torch::Tensor images;  // uint8 [N, C, H, W], contiguous
  torch::Tensor labels;  // int64 [N], each in [0, num_classes)
  int64_t num_classes = 0;
  std::string source;  // where it came from, for messages ("…/train-images-idx3-ubyte.gz")

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  Shape shape() const;
  // Rows [begin, end) as a new Dataset sharing no storage with this one.
  Dataset slice(int64_t begin, int64_t end) const;
};

// Per-channel statistics applied as (x / 255 - mean) / std.
struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;
  static Normalization identity(int64_t channels);  // mean 0, std 1: x / 255 only
  static Normalization from(const Dataset& ds);      // statistics of a (training) data set
};

struct DataOptions {
  std::string format = "idx";  // idx | cifar10 | synthetic
  std::string dir = "/usr/share/datasets/fashion-mnist";
  int64_t val_size = 5000;      // held out of the training set, taken from its end
  int64_t train_limit = 0;      // 0 = all remaining training samples; else the first N
  int64_t test_limit = 0;       // 0 = the whole test set; else the first N
  bool normalize = true;        // per-channel mean/std of the training split
  int64_t augment_crop = 0;     // random crop with this zero padding (pixels); 0 = off
  bool augment_flip = false;    // random horizontal flip
  // synthetic data set (format = synthetic): class prototypes plus noise, learnable.
  int64_t synthetic_train = 2048;
  int64_t synthetic_test = 512;
  int64_t synthetic_classes = 4;
  int64_t synthetic_size = 12;  // images are 1 x size x size
  uint64_t synthetic_seed = 7;
};

struct Splits {
  Dataset train;
  Dataset val;
  Dataset test;
  Normalization norm;
};

// Reads the data set named by `options` and splits it. Bad or missing files throw UserError
// (one line: file, what was expected, what was found, byte offset, hint).
Splits load_splits(const DataOptions& options);

}  // namespace nosync::data
