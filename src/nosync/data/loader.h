// Batches for training and evaluation.
//
// The loader normalizes the whole data set to float once, then each batch is a gather into a
// reused buffer plus optional augmentation. Order and augmentation depend only on
// (seed, epoch, batch index): a loader can seek to any batch, which makes resume exact and lets
// every particle draw its own stream from its own seed. With prefetch > 0 a background thread
// prepares the next batches into a ring of reused buffers while the caller trains; since a
// batch is a pure function of its position, the stream is the same with and without it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <torch/types.h>

#include "nosync/data/dataset.h"

namespace nosync::data {

struct Batch {
  torch::Tensor x;  // float [B, C, H, W] or [B, D], normalized; language model: int64 tokens [B, T]
  torch::Tensor y;  // int64 [B]; language model: [B, T], the token after each of x's
};

struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = true;
  uint64_t seed = 0;
  int64_t augment_crop = 0;  // zero padding for a random crop; 0 = off
  bool augment_flip = false;
  int64_t shard_index = 0;   // this worker's disjoint shard of the data ...
  int64_t shard_count = 1;   // ... out of this many (1 = the full set)
  int64_t prefetch = 0;      // batches prepared ahead by a background thread; 0 = in next()
};

class BatchLoader {
 public:
  BatchLoader(const Dataset& dataset, const Normalization& norm, const LoaderOptions& options);
  ~BatchLoader();  // stops the prefetch thread
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next training batch (incomplete last batches of an epoch are dropped). Advances the
  // position; wraps to the next epoch (with a new shuffle) at the end of one.
  // The returned tensors are the loader's reused buffers: the next call to next() or seek()
  // may overwrite them. Clone them to keep a batch past that.
  // Augmentation (when on) is per sample: a random crop of the image zero-padded (black, i.e.
  // raw pixel 0) by augment_crop pixels on each side, then a horizontal flip with probability 1/2.
  Batch next();

  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  int64_t position() const { return position_; }  // batches drawn so far, over all epochs
  int64_t epoch() const { return position_ / batches_per_epoch_; }
  void seek(int64_t position);                       // the next next() returns batch `position`

 private:
  // Writes batch `position` into `out`. Runs in one thread at a time: the caller's without
  // prefetch, the prefetch thread's with it (order_ and scratch_ belong to that thread).
  void produce(int64_t position, Batch& out);
  void prepare_epoch(int64_t epoch);
  void augment(int64_t position, Batch& out);  // in place on out.x, seeded by (seed, shard, position)
  void prefetch_loop();

  torch::Tensor features_;  // normalized_features() of the data set
  torch::Tensor labels_;
  LoaderOptions options_;
  std::vector<int64_t> shard_;  // indices of this shard
  std::vector<int64_t> order_;  // permutation of shard_ for epoch order_epoch_
  int64_t order_epoch_ = -1;
  int64_t batches_per_epoch_ = 0;
  int64_t position_ = 0;
  std::vector<Batch> slots_;      // 1 buffer, or prefetch + 1 in a ring
  std::vector<float> pad_value_;  // per channel: a black pixel after normalization
  std::vector<float> scratch_;    // one sample, for augmentation

  // Prefetch ring. Item i of the current generation is batch base_ + i, in slot i % slots.
  // The consumer holds item taken_ - 1 until its next call; the producer may fill item j once
  // item j - slots is released (j < released_ + slots). seek() starts a new generation.
  std::thread producer_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t generation_ = 0, base_ = 0, produced_ = 0, taken_ = 0, released_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

// Normalized float features of a whole data set (loaders, evaluation); int64 token ids for a
// language model's data. Computed once per images
// tensor and normalization while any user holds the result: particles running as threads
// share one copy instead of one each. Read-only: do not modify the returned tensor.
torch::Tensor normalized_features(const Dataset& dataset, const Normalization& norm);

}  // namespace nosync::data
