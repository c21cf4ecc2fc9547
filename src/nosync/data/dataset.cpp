// Data sets, normalization statistics and the train / validation / test splits.
#include "nosync/data/dataset.h"

#include <array>
#include <cmath>

#include "nosync/data/cifar.h"
#include "nosync/data/idx.h"
#include "nosync/data/synthetic.h"
#include "nosync/util/error.h"

namespace nosync::data {

Shape Dataset::shape() const {
  if (!images.defined() || images.dim() != 4) return {};
  return Shape{images.size(1), images.size(2), images.size(3)};
}

Dataset Dataset::slice(int64_t begin, int64_t end) const {
  NOSYNC_CHECK(0 <= begin && begin <= end && end <= size(), "slice [{}, {}) of a data set of {} samples", begin, end,
               size());
  Dataset out;
  out.images = images.slice(0, begin, end).clone(at::MemoryFormat::Contiguous);
  out.labels = labels.slice(0, begin, end).clone(at::MemoryFormat::Contiguous);
  out.num_classes = num_classes;
  out.source = source;
  return out;
}

Normalization Normalization::identity(int64_t channels) {
  Normalization n;
  n.mean.assign(static_cast<size_t>(channels), 0.0f);
  n.std.assign(static_cast<size_t>(channels), 1.0f);
  return n;
}

Normalization Normalization::from(const Dataset& ds) {
  const Shape s = ds.shape();
  NOSYNC_CHECK(ds.images.defined() && ds.images.scalar_type() == torch::kUInt8, "normalization needs uint8 images");
  NOSYNC_CHECK(ds.size() > 0, "normalization statistics of an empty data set ({})", ds.source);
  const torch::Tensor images = ds.images.contiguous();
  const uint8_t* p = images.data_ptr<uint8_t>();
  const int64_t n = ds.size();
  const int64_t plane = s.height * s.width;
  // Exact statistics from per-channel histograms of the byte values.
  std::vector<std::array<int64_t, 256>> hist(static_cast<size_t>(s.channels));
  for (auto& h : hist) h.fill(0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < s.channels; ++c) {
      const uint8_t* q = p + (i * s.channels + c) * plane;
      auto& h = hist[static_cast<size_t>(c)];
      for (int64_t k = 0; k < plane; ++k) ++h[q[k]];
    }
  }
  Normalization norm;
  const double count = static_cast<double>(n) * static_cast<double>(plane);
  for (int64_t c = 0; c < s.channels; ++c) {
    double sum = 0, sum_sq = 0;
    for (int v = 0; v < 256; ++v) {
      const double x = v / 255.0;
      const double k = static_cast<double>(hist[static_cast<size_t>(c)][v]);
      sum += k * x;
      sum_sq += k * x * x;
    }
    const double mean = sum / count;
    const double var = std::max(0.0, sum_sq / count - mean * mean);
    double sd = std::sqrt(var);
    if (sd < 1e-6) sd = 1.0;  // a constant channel: centre it, do not blow it up
    norm.mean.push_back(static_cast<float>(mean));
    norm.std.push_back(static_cast<float>(sd));
  }
  return norm;
}

namespace {

void require_non_negative(const char* key, int64_t value) {
  if (value < 0) throw UserError(fmt::format("{} = {}: expected 0 or more", key, value));
}

// The first `limit` samples (0 = all); a limit beyond the data is an error naming the key.
Dataset take_first(Dataset ds, int64_t limit, const char* key, const char* what) {
  if (limit == 0 || limit == ds.size()) return ds;
  if (limit > ds.size()) {
    throw UserError(fmt::format("{} = {} exceeds the {} {} samples available ({})", key, limit, ds.size(), what,
                                ds.source),
                    fmt::format("set {} to at most {}, or 0 for all", key, ds.size()));
  }
  return ds.slice(0, limit);
}

}  // namespace

Splits load_splits(const DataOptions& options) {
  require_non_negative("data.val_size", options.val_size);
  require_non_negative("data.train_limit", options.train_limit);
  require_non_negative("data.test_limit", options.test_limit);
  require_non_negative("data.augment_crop", options.augment_crop);

  Dataset train, test;
  if (options.format == "idx") {
    train = read_idx_split(options.dir, "train");
    test = read_idx_split(options.dir, "t10k");
  } else if (options.format == "cifar10") {
    train = read_cifar10(options.dir, true);
    test = read_cifar10(options.dir, false);
  } else if (options.format == "synthetic") {
    SyntheticSets sets = make_synthetic(options.synthetic_train, options.synthetic_test, options.synthetic_classes,
                                        options.synthetic_size, options.synthetic_seed);
    train = std::move(sets.train);
    test = std::move(sets.test);
  } else {
    throw UserError(fmt::format("data.format = \"{}\": unknown data format", options.format),
                    "use idx (MNIST / Fashion-MNIST files), cifar10 (CIFAR-10 binary version) or synthetic");
  }

  if (!(train.shape() == test.shape())) {
    const Shape a = train.shape(), b = test.shape();
    throw UserError(fmt::format("{} has {}x{}x{} images but {} has {}x{}x{}: expected the same shape", train.source,
                                a.channels, a.height, a.width, test.source, b.channels, b.height, b.width),
                    "the training and test files come from different data sets");
  }

  const int64_t n = train.size();
  if (options.val_size >= n) {
    throw UserError(fmt::format("data.val_size = {} leaves no training data: {} holds {} samples", options.val_size,
                                train.source, n),
                    fmt::format("set data.val_size below {}", n));
  }
  Splits splits;
  const int64_t available = n - options.val_size;
  if (options.train_limit > available) {
    throw UserError(fmt::format("data.train_limit = {} exceeds the {} training samples left after data.val_size = {} "
                                "({} holds {})",
                                options.train_limit, available, options.val_size, train.source, n),
                    fmt::format("set data.train_limit to at most {}, or 0 for all", available));
  }
  if (options.val_size > 0) {
    splits.val = train.slice(available, n);
  } else {
    splits.val = train.slice(0, 0);
  }
  // One copy at most: slice straight to the training rows wanted.
  const int64_t train_end = options.train_limit > 0 ? options.train_limit : available;
  splits.train = train_end == n ? std::move(train) : train.slice(0, train_end);
  splits.test = take_first(std::move(test), options.test_limit, "data.test_limit", "test");
  splits.norm = options.normalize ? Normalization::from(splits.train)
                                  : Normalization::identity(splits.train.shape().channels);
  return splits;
}

}  // namespace nosync::data
