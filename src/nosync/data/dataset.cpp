// Data sets, normalization statistics and the train / validation / test splits.
#include "nosync/data/dataset.h"

#include <array>
#include <cmath>
#include <optional>

#include "nosync/data/cifar.h"
#include "nosync/data/idx.h"
#include "nosync/data/synthetic.h"
#include "nosync/data/tensors.h"
#include "nosync/data/text.h"
#include "nosync/util/error.h"

namespace nosync::data {

const char* task_name(Task task) {
  return task == Task::language_model ? "language_model" : "classification";
}

Shape Dataset::shape() const {
  if (!inputs.defined()) return {};
  if (inputs.dim() == 4) return Shape{inputs.size(1), inputs.size(2), inputs.size(3)};
  if (inputs.dim() == 2) return Shape{1, 1, inputs.size(1)};
  return {};
}

int64_t channels_of(const Dataset& ds) {
  if (ds.task == Task::language_model || !ds.inputs.defined() || ds.inputs.dim() < 2) return 0;
  return ds.inputs.size(1);
}

void classes_from_labels(const std::vector<Dataset*>& sets, const std::string& source, const std::string& hint) {
  int64_t classes = 0;
  for (const Dataset* ds : sets)
    if (ds->size() > 0) classes = std::max(classes, ds->labels.max().item<int64_t>() + 1);
  if (classes < 2)
    throw UserError(fmt::format("{}: the labels hold {} class(es): expected at least 2", source, classes), hint);
  for (Dataset* ds : sets) ds->num_classes = classes;
}

Dataset Dataset::slice(int64_t begin, int64_t end) const {
  NOSYNC_CHECK(0 <= begin && begin <= end && end <= size(), "slice [{}, {}) of a data set of {} samples", begin, end,
               size());
  Dataset out;
  out.inputs = inputs.slice(0, begin, end).clone(at::MemoryFormat::Contiguous);
  out.labels = labels.slice(0, begin, end).clone(at::MemoryFormat::Contiguous);
  out.num_classes = num_classes;
  out.task = task;
  out.source = source;
  return out;
}

namespace {

// uint8 images: exact statistics of pixel / 255.
Normalization from_pixels(const Dataset& ds) {
  const Shape s = ds.shape();
  const torch::Tensor images = ds.inputs.contiguous();
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

}  // namespace

Normalization Normalization::identity(int64_t channels) {
  Normalization n;
  n.mean.assign(static_cast<size_t>(channels), 0.0f);
  n.std.assign(static_cast<size_t>(channels), 1.0f);
  return n;
}

Normalization Normalization::none_for(const Dataset& ds) { return identity(channels_of(ds)); }

Normalization Normalization::from(const Dataset& ds) {
  if (ds.task == Task::language_model) return none_for(ds);
  NOSYNC_CHECK(ds.size() > 0, "normalization statistics of an empty data set ({})", ds.source);
  if (ds.inputs.scalar_type() == torch::kUInt8) return from_pixels(ds);
  NOSYNC_CHECK(ds.inputs.scalar_type() == torch::kFloat, "normalization of {} inputs",
               c10::toString(ds.inputs.scalar_type()));
  // Float features: per-channel mean and standard deviation in double precision.
  const int64_t c = channels_of(ds);
  const torch::Tensor x = ds.inputs.transpose(0, 1).reshape({c, -1}).to(torch::kDouble);
  const torch::Tensor mean = x.mean(1);
  const torch::Tensor sd = x.std(1, /*unbiased=*/false);
  Normalization norm;
  for (int64_t i = 0; i < c; ++i) {
    const double d = sd[i].item<double>();
    norm.mean.push_back(static_cast<float>(mean[i].item<double>()));
    norm.std.push_back(static_cast<float>(d < 1e-6 ? 1.0 : d));  // a constant channel: centre it only
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

namespace {

std::string sizes_str(const torch::Tensor& t) {
  return t.dim() <= 1 ? std::string("scalars") : fmt::format("{}", fmt::join(t.sizes().slice(1), "x"));
}

void require_same_shape(const Dataset& a, const Dataset& b) {
  if (a.inputs.sizes().slice(1) == b.inputs.sizes().slice(1)) return;
  throw UserError(fmt::format("{} has samples of {} but {} has {}: expected the same shape", a.source,
                              sizes_str(a.inputs), b.source, sizes_str(b.inputs)),
                  "the training and test data come from different data sets");
}

}  // namespace

Splits load_splits(const DataOptions& options) {
  require_non_negative("data.val_size", options.val_size);
  require_non_negative("data.train_limit", options.train_limit);
  require_non_negative("data.test_limit", options.test_limit);
  require_non_negative("data.augment_crop", options.augment_crop);

  Dataset train, test;
  std::optional<Dataset> val;  // a split the data brings (text, tensors with val_x): data.val_size unused
  if (options.format == "idx") {
    train = read_idx_split(options.dir, "train");
    test = read_idx_split(options.dir, "t10k");
    classes_from_labels({&train, &test}, options.dir + " (train and t10k labels)",
                        "the label files hold one class only; check data.dir");
  } else if (options.format == "cifar10") {
    train = read_cifar10(options.dir, true);
    test = read_cifar10(options.dir, false);
  } else if (options.format == "tensors") {
    TensorSets sets = read_tensor_file(options.path);
    train = std::move(sets.train);
    test = std::move(sets.test);
    val = std::move(sets.val);
  } else if (options.format == "text") {
    const std::vector<uint8_t> corpus = read_text_corpus(options.path);
    TextOptions text;
    text.path = options.path;
    text.context = options.context;
    text.stride = options.stride;
    text.val_fraction = options.val_fraction;
    text.test_fraction = options.test_fraction;
    TextSplits sets = split_text(corpus, text, options.path);
    train = std::move(sets.train);
    test = std::move(sets.test);
    val = std::move(sets.val);
  } else if (options.format == "synthetic") {
    SyntheticSets sets = make_synthetic(options.synthetic_train, options.synthetic_test, options.synthetic_classes,
                                        options.synthetic_size, options.synthetic_seed);
    train = std::move(sets.train);
    test = std::move(sets.test);
  } else {
    throw UserError(fmt::format("data.format = \"{}\": unknown data format", options.format),
                    "use idx (MNIST / Fashion-MNIST files), cifar10 (CIFAR-10 binary version), tensors (a torch.save "
                    "file), text (any text file, as bytes) or synthetic");
  }
  require_same_shape(train, test);
  if (val) require_same_shape(train, *val);
  if (test.size() == 0)
    throw UserError(fmt::format("{}: the test set is empty, so no result could be reported", test.source),
                    "check data.dir / data.path and data.test_limit (0 = the whole test set)");
  if (train.task == Task::language_model && (options.augment_crop > 0 || options.augment_flip))
    throw UserError("data.augment_crop / data.augment_flip apply to images, not to text",
                    "set them to 0 / false for data.format = text");

  Splits splits;
  const int64_t n = train.size();
  int64_t available = n;
  if (val) {
    splits.val = std::move(*val);
  } else {
    if (options.val_size >= n) {
      throw UserError(fmt::format("data.val_size = {} leaves no training data: {} holds {} samples", options.val_size,
                                  train.source, n),
                      fmt::format("set data.val_size below {}", n));
    }
    available = n - options.val_size;
    splits.val = train.slice(available, n);
  }
  if (options.train_limit > available) {
    throw UserError(fmt::format("data.train_limit = {} exceeds the {} training samples left after data.val_size = {} "
                                "({} holds {})",
                                options.train_limit, available, val ? 0 : options.val_size, train.source, n),
                    fmt::format("set data.train_limit to at most {}, or 0 for all", available));
  }
  // One copy at most: slice straight to the training rows wanted.
  const int64_t train_end = options.train_limit > 0 ? options.train_limit : available;
  splits.train = train_end == n ? std::move(train) : train.slice(0, train_end);
  splits.test = take_first(std::move(test), options.test_limit, "data.test_limit", "test");
  splits.norm = options.normalize ? Normalization::from(splits.train) : Normalization::none_for(splits.train);
  return splits;
}

}  // namespace nosync::data
