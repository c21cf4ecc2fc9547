// Synthetic classification data: class prototypes plus Gaussian noise.
#include "nosync/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "nosync/data/random.h"
#include "nosync/util/error.h"

namespace nosync::data {

namespace {

// Samples are prototype + N(0, kNoise^2) per pixel (plus a per-sample brightness shift),
// clamped to [0, 255]. Prototype pixels are 64 or 192, so two prototypes differ by 128 in about
// half their pixels: far apart compared with the noise, yet single pixels are unreliable.
constexpr double kLow = 64.0;
constexpr double kHigh = 192.0;
constexpr double kNoise = 56.0;
constexpr double kBrightness = 16.0;

Dataset make_samples(const std::vector<double>& prototypes, int64_t n, int64_t num_classes, int64_t image_size,
                     uint64_t seed, const std::string& source) {
  const int64_t pixels = image_size * image_size;
  std::mt19937_64 rng(seed);
  Dataset ds;
  ds.inputs = torch::empty({n, 1, image_size, image_size}, torch::kUInt8);
  ds.labels = torch::empty({n}, torch::kInt64);
  uint8_t* img = ds.inputs.data_ptr<uint8_t>();
  int64_t* lab = ds.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(num_classes)));
    lab[i] = label;
    const double shift = kBrightness * standard_normal(rng);
    const double* proto = prototypes.data() + label * pixels;
    uint8_t* out = img + i * pixels;
    for (int64_t p = 0; p < pixels; ++p) {
      const double v = proto[p] + shift + kNoise * standard_normal(rng);
      out[p] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    }
  }
  ds.num_classes = num_classes;
  ds.source = source;
  return ds;
}

}  // namespace

SyntheticSets make_synthetic(int64_t train_size, int64_t test_size, int64_t num_classes, int64_t image_size,
                             uint64_t seed) {
  if (train_size <= 0) {
    throw UserError(fmt::format("data.synthetic_train = {}: expected a positive sample count", train_size));
  }
  if (test_size <= 0) {
    throw UserError(fmt::format("data.synthetic_test = {}: expected a positive sample count", test_size));
  }
  if (num_classes < 2 || num_classes > 1000) {
    throw UserError(fmt::format("data.synthetic_classes = {}: expected 2..1000 classes", num_classes));
  }
  if (image_size < 1 || image_size > 256) {
    throw UserError(fmt::format("data.synthetic_size = {}: expected an image size of 1..256 pixels", image_size));
  }
  const int64_t pixels = image_size * image_size;
  // Independent streams: prototypes, train samples, test samples. The test set therefore does
  // not depend on the training set's size.
  std::mt19937_64 proto_rng(mix_seed(seed, 0x70726f746fULL));
  std::vector<double> prototypes(static_cast<size_t>(num_classes * pixels));
  for (auto& v : prototypes) v = (proto_rng() >> 63) ? kHigh : kLow;

  const std::string source =
      fmt::format("synthetic(seed={}, classes={}, size={})", seed, num_classes, image_size);
  SyntheticSets sets;
  sets.train = make_samples(prototypes, train_size, num_classes, image_size, mix_seed(seed, 0x747261696eULL),
                            source + " train");
  sets.test = make_samples(prototypes, test_size, num_classes, image_size, mix_seed(seed, 0x74657374ULL),
                           source + " test");
  return sets;
}

}  // namespace nosync::data
