// Batches for training and evaluation.
//
// The loader normalizes the whole data set to float once, then each batch is a gather into a
// reused buffer plus optional augmentation. Order and augmentation depend only on
// (seed, epoch, batch index): a loader can seek to any batch, which makes resume exact and lets
// every particle draw its own stream from its own seed.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "nosync/data/dataset.h"

namespace nosync::data {

struct Batch {
  torch::Tensor x;  // float [B, C, H, W], normalized
  torch::Tensor y;  // int64 [B]
};

struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = true;
  uint64_t seed = 0;
  int64_t augment_crop = 0;  // zero padding for a random crop; 0 = off
  bool augment_flip = false;
  int64_t shard_index = 0;   // this worker's disjoint shard of the data ...
  int64_t shard_count = 1;   // ... out of this many (1 = the full set)
};

class BatchLoader {
 public:
  BatchLoader(const Dataset& dataset, const Normalization& norm, const LoaderOptions& options);

  // The next training batch (incomplete last batches of an epoch are dropped). Advances the
  // position; wraps to the next epoch (with a new shuffle) at the end of one.
  // The returned tensors are the loader's reused buffers: the next call to next() overwrites
  // them. Clone them to keep a batch past that.
  // Augmentation (when on) is per sample: a random crop of the image zero-padded (black, i.e.
  // raw pixel 0) by augment_crop pixels on each side, then a horizontal flip with probability 1/2.
  Batch next();

  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  int64_t position() const { return position_; }  // batches drawn so far, over all epochs
  int64_t epoch() const { return position_ / batches_per_epoch_; }
  void seek(int64_t position);                       // the next next() returns batch `position`

 private:
  void prepare_epoch(int64_t epoch);
  void augment(int64_t position);  // in place on buffer_.x, seeded by (seed, shard, position)

  torch::Tensor features_;  // float [N, C, H, W], normalized
  torch::Tensor labels_;
  LoaderOptions options_;
  std::vector<int64_t> shard_;  // indices of this shard
  torch::Tensor order_;         // int64 permutation of shard_ for the current epoch
  int64_t order_epoch_ = -1;
  int64_t batches_per_epoch_ = 0;
  int64_t position_ = 0;
  Batch buffer_;
  std::vector<float> pad_value_;  // per channel: a black pixel after normalization
  std::vector<float> scratch_;    // one sample, for augmentation
};

// Normalized float features of a whole data set (used by evaluation).
torch::Tensor normalized_features(const Dataset& dataset, const Normalization& norm);

}  // namespace nosync::data
