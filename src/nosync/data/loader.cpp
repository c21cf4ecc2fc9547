// Batches: a gather into reused buffers plus optional crop / flip augmentation, all a pure
// function of (seed, shard, epoch, batch position).
#include "nosync/data/loader.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>
#include <random>

#include "nosync/data/random.h"
#include "nosync/util/error.h"

namespace nosync::data {

namespace {

constexpr uint64_t kShuffleTag = 0x73687566666c65ULL;  // "shuffle"
constexpr uint64_t kAugmentTag = 0x6175676d656e74ULL;  // "augment"

}  // namespace

namespace {

// One entry per (images tensor, normalization) whose features are alive somewhere.
struct SharedFeatures {
  c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl> inputs, features;
  std::vector<float> mean, std;
};

std::mutex shared_mutex;
std::vector<SharedFeatures> shared_features;

torch::Tensor compute_normalized_features(const Dataset& dataset, const Normalization& norm);

}  // namespace

torch::Tensor normalized_features(const Dataset& dataset, const Normalization& norm) {
  std::lock_guard<std::mutex> lock(shared_mutex);
  // Forget entries whose images or features are gone (their TensorImpl address may be reused).
  shared_features.erase(std::remove_if(shared_features.begin(), shared_features.end(),
                                       [](const SharedFeatures& e) { return e.inputs.expired() || e.features.expired(); }),
                        shared_features.end());
  for (const auto& e : shared_features) {
    if (e.mean != norm.mean || e.std != norm.std) continue;
    auto images = e.inputs.lock();
    if (images.get() != dataset.inputs.unsafeGetTensorImpl()) continue;
    auto features = e.features.lock();
    if (features) return torch::Tensor(std::move(features));
  }
  torch::Tensor out = compute_normalized_features(dataset, norm);
  shared_features.push_back({c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>(
                                 dataset.inputs.getIntrusivePtr()),
                             c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>(out.getIntrusivePtr()),
                             norm.mean, norm.std});
  return out;
}

namespace {

torch::Tensor compute_normalized_features(const Dataset& dataset, const Normalization& norm) {
  const torch::Tensor& inputs = dataset.inputs;
  NOSYNC_CHECK(inputs.defined() && inputs.dim() >= 2, "features of {}", dataset.source);
  if (dataset.task == Task::language_model) return inputs.to(torch::kInt64).contiguous();  // token ids
  const int64_t channels = channels_of(dataset);
  NOSYNC_CHECK(static_cast<int64_t>(norm.mean.size()) == channels && static_cast<int64_t>(norm.std.size()) == channels,
               "normalization has {} / {} channels, the data set {}", norm.mean.size(), norm.std.size(), channels);
  for (int64_t c = 0; c < channels; ++c)
    NOSYNC_CHECK(norm.std[c] > 0, "normalization std of channel {} is {}", c, norm.std[c]);
  if (inputs.scalar_type() != torch::kUInt8) {  // float features: (x - mean) / std per channel
    std::vector<int64_t> view(static_cast<size_t>(inputs.dim()), 1);
    view[1] = channels;
    const auto mean = torch::tensor(norm.mean).view(view), sd = torch::tensor(norm.std).view(view);
    return ((inputs.to(torch::kFloat) - mean) / sd).contiguous();
  }
  const Shape s = dataset.shape();
  const int64_t n = inputs.size(0);
  const torch::Tensor images = inputs.contiguous();
  torch::Tensor out = torch::empty({n, s.channels, s.height, s.width}, torch::kFloat32);
  if (n == 0) return out;
  // A 256-entry lookup table per channel: (v / 255 - mean) / std.
  std::vector<float> lut(static_cast<size_t>(s.channels) * 256);
  for (int64_t c = 0; c < s.channels; ++c) {
    for (int v = 0; v < 256; ++v) {
      lut[c * 256 + v] = static_cast<float>((v / 255.0 - norm.mean[c]) / norm.std[c]);
    }
  }
  const uint8_t* in = images.data_ptr<uint8_t>();
  float* o = out.data_ptr<float>();
  const int64_t plane = s.height * s.width;
  const int64_t rows = n * s.channels;
  at::parallel_for(0, rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* table = lut.data() + (r % s.channels) * 256;
      const uint8_t* src = in + r * plane;
      float* dst = o + r * plane;
      for (int64_t k = 0; k < plane; ++k) dst[k] = table[src[k]];
    }
  });
  return out;
}

}  // namespace

BatchLoader::BatchLoader(const Dataset& dataset, const Normalization& norm, const LoaderOptions& options)
    : options_(options) {
  if (options.batch_size <= 0) {
    throw UserError(fmt::format("train.batch_size = {}: expected a positive batch size", options.batch_size));
  }
  if (options.augment_crop < 0) {
    throw UserError(fmt::format("data.augment_crop = {}: expected 0 (off) or a padding in pixels", options.augment_crop));
  }
  NOSYNC_CHECK(options.shard_count >= 1 && options.shard_index >= 0 && options.shard_index < options.shard_count,
               "shard {} of {}", options.shard_index, options.shard_count);
  const Shape s = dataset.shape();
  if ((options.augment_crop > 0 || options.augment_flip) && dataset.inputs.dim() != 4) {
    throw UserError(fmt::format("data.augment_crop / data.augment_flip apply to images; {} holds samples of shape {}",
                                dataset.source, fmt::join(dataset.inputs.sizes().slice(1), "x")),
                    "set data.augment_crop = 0 and data.augment_flip = false");
  }
  if (options.augment_crop > 0 && (options.augment_crop >= s.height || options.augment_crop >= s.width)) {
    throw UserError(fmt::format("data.augment_crop = {}: expected a padding smaller than the {}x{} images of {}",
                                options.augment_crop, s.height, s.width, dataset.source),
                    "typical values are 2-4 pixels");
  }
  features_ = normalized_features(dataset, norm);
  labels_ = dataset.labels.to(torch::kInt64).contiguous();
  for (int64_t i = options.shard_index; i < dataset.size(); i += options.shard_count) shard_.push_back(i);
  const int64_t shard_size = static_cast<int64_t>(shard_.size());
  if (shard_size < options.batch_size) {
    throw UserError(
        fmt::format("train.batch_size = {} is larger than the {} samples of this worker's shard ({} samples of {} "
                    "split into {} shard(s)): not even one batch per epoch",
                    options.batch_size, shard_size, dataset.size(), dataset.source, options.shard_count),
        "lower train.batch_size, use fewer workers or a larger data set");
  }
  batches_per_epoch_ = shard_size / options.batch_size;
  if (options.prefetch < 0) throw UserError(fmt::format("train.prefetch = {}: expected 0 (off) or more", options.prefetch));
  slots_.resize(static_cast<size_t>(options.prefetch + 1));
  auto batch_of = [&](const torch::Tensor& t) {
    std::vector<int64_t> sizes = t.sizes().vec();
    sizes[0] = options.batch_size;
    return torch::empty(sizes, t.options());
  };
  for (auto& slot : slots_) {
    slot.x = batch_of(features_);
    slot.y = batch_of(labels_);
  }
  // Augmentation pads with a black pixel: raw 0 after normalization.
  if (dataset.inputs.dim() == 4) {
    pad_value_.resize(static_cast<size_t>(s.channels));
    for (int64_t c = 0; c < s.channels; ++c) pad_value_[c] = static_cast<float>(-norm.mean[c] / norm.std[c]);
  }
  if (options.prefetch > 0) producer_ = std::thread([this] { prefetch_loop(); });
}

BatchLoader::~BatchLoader() {
  if (!producer_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  producer_.join();
}

void BatchLoader::prepare_epoch(int64_t epoch) {
  if (order_epoch_ == epoch) return;
  order_ = shard_;
  if (options_.shuffle) {
    std::mt19937_64 rng(mix_seed(options_.seed, kShuffleTag, static_cast<uint64_t>(epoch)));
    for (size_t i = order_.size(); i > 1; --i) {
      const size_t j = static_cast<size_t>(uniform_below(rng, i));
      std::swap(order_[i - 1], order_[j]);
    }
  }
  order_epoch_ = epoch;
}

void BatchLoader::seek(int64_t position) {
  NOSYNC_CHECK(position >= 0, "seek to batch {}", position);
  position_ = position;
  if (options_.prefetch == 0) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;  // whatever the producer is preparing now is dropped
    base_ = position;
    produced_ = taken_ = released_ = 0;
  }
  changed_.notify_all();
}

void BatchLoader::produce(int64_t position, Batch& out) {
  const int64_t batch_size = options_.batch_size;
  prepare_epoch(position / batches_per_epoch_);
  const int64_t* index = order_.data() + (position % batches_per_epoch_) * batch_size;
  // A plain gather (no ATen parallel region): the prefetch thread must not start an OpenMP team
  // of its own next to the training threads.
  const size_t sample = features_.nbytes() / static_cast<size_t>(features_.size(0));
  const size_t label = labels_.nbytes() / static_cast<size_t>(labels_.size(0));
  const char* features = static_cast<const char*>(features_.data_ptr());
  const char* labels = static_cast<const char*>(labels_.data_ptr());
  char* x = static_cast<char*>(out.x.data_ptr());
  char* y = static_cast<char*>(out.y.data_ptr());
  for (int64_t i = 0; i < batch_size; ++i) {
    std::memcpy(x + i * sample, features + index[i] * sample, sample);
    std::memcpy(y + i * label, labels + index[i] * label, label);
  }
  if (options_.augment_crop > 0 || options_.augment_flip) augment(position, out);
}

Batch BatchLoader::next() {
  if (options_.prefetch == 0) {
    produce(position_++, slots_[0]);
    return slots_[0];
  }
  std::unique_lock<std::mutex> lock(mutex_);
  released_ = taken_;  // the caller is done with the batch it holds
  changed_.notify_all();
  changed_.wait(lock, [&] { return produced_ > taken_ || error_; });
  if (error_) std::rethrow_exception(error_);
  const Batch& batch = slots_[static_cast<size_t>(taken_ % static_cast<int64_t>(slots_.size()))];
  ++taken_;
  position_ = base_ + taken_;
  return batch;
}

void BatchLoader::prefetch_loop() {
  const int64_t slots = static_cast<int64_t>(slots_.size());
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stop_ || produced_ < released_ + slots; });
    if (stop_) return;
    const int64_t generation = generation_, item = produced_, position = base_ + item;
    lock.unlock();
    try {
      produce(position, slots_[static_cast<size_t>(item % slots)]);
    } catch (...) {
      lock.lock();
      error_ = std::current_exception();
      changed_.notify_all();
      return;
    }
    lock.lock();
    if (generation != generation_) continue;  // a seek happened meanwhile
    ++produced_;
    changed_.notify_all();
  }
}

void BatchLoader::augment(int64_t position, Batch& out) {
  SplitMix64 rng(mix_seed(options_.seed, kAugmentTag, static_cast<uint64_t>(options_.shard_index),
                          static_cast<uint64_t>(position)));
  const int64_t batch_size = out.x.size(0);
  const int64_t channels = out.x.size(1);
  const int64_t height = out.x.size(2);
  const int64_t width = out.x.size(3);
  const int64_t plane = height * width;
  const int64_t pad = options_.augment_crop;
  scratch_.resize(static_cast<size_t>(channels * plane));
  float* x = out.x.data_ptr<float>();
  for (int64_t i = 0; i < batch_size; ++i) {
    // Offsets in [0, 2 * pad] into the zero-padded image; pad = no shift.
    const int64_t dy = pad > 0 ? static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(2 * pad + 1))) - pad : 0;
    const int64_t dx = pad > 0 ? static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(2 * pad + 1))) - pad : 0;
    const bool flip = options_.augment_flip && (rng() >> 63);
    if (dy == 0 && dx == 0 && !flip) continue;
    float* sample = x + i * channels * plane;
    std::memcpy(scratch_.data(), sample, sizeof(float) * channels * plane);
    for (int64_t c = 0; c < channels; ++c) {
      const float* src = scratch_.data() + c * plane;
      float* dst = sample + c * plane;
      const float fill = pad_value_[c];
      for (int64_t y = 0; y < height; ++y) {
        const int64_t sy = y + dy;
        float* row = dst + y * width;
        if (sy < 0 || sy >= height) {
          std::fill(row, row + width, fill);
          continue;
        }
        const float* srow = src + sy * width;
        for (int64_t xo = 0; xo < width; ++xo) {
          // Crop, then flip: output column xo reads cropped column (flip ? width-1-xo : xo).
          const int64_t sx = (flip ? width - 1 - xo : xo) + dx;
          row[xo] = (sx < 0 || sx >= width) ? fill : srow[sx];
        }
      }
    }
  }
}

}  // namespace nosync::data
