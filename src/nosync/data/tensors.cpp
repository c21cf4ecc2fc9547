// Tensor-file data sets: checks of every key, then the splits as Datasets.
#include "nosync/data/tensors.h"

#include <map>

#include "nosync/util/error.h"
#include "nosync/util/tensor_file.h"

namespace nosync::data {

namespace {

constexpr const char* kHint =
    "write it with torch.save({\"train_x\": X, \"train_y\": Y, \"test_x\": Xt, \"test_y\": Yt}, FILE) "
    "(optional val_x, val_y); see docs/own-model.md";

std::string sizes_of(const torch::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

torch::Tensor features(const std::string& path, const std::string& key, torch::Tensor x) {
  auto fail = [&](const std::string& what) {
    throw UserError(fmt::format("{}: {}: {}", path, key, what), kHint);
  };
  if (x.dim() == 3) x = x.unsqueeze(1);  // N x H x W: one channel
  if (x.dim() != 4 && x.dim() != 2)
    fail(fmt::format("expected images N x C x H x W or features N x D, found a tensor of shape {}", sizes_of(x)));
  if (x.numel() == 0 && x.size(0) > 0) fail(fmt::format("samples of shape {} hold no values", sizes_of(x)));
  if (x.scalar_type() == torch::kUInt8) {
    if (x.dim() != 4) fail("uint8 values are pixels: expected images N x C x H x W (or N x H x W)");
    return x.contiguous();
  }
  if (!at::isFloatingType(x.scalar_type()))
    fail(fmt::format("expected uint8 images or floating-point values, found dtype {}", c10::toString(x.scalar_type())));
  x = x.to(torch::kFloat).contiguous();
  if (!torch::isfinite(x).all().item<bool>()) {
    const int64_t bad = x.numel() - torch::isfinite(x).sum().item<int64_t>();
    fail(fmt::format("{} values are NaN or infinite", bad));
  }
  return x;
}

torch::Tensor labels(const std::string& path, const std::string& key, const torch::Tensor& y, int64_t n) {
  auto fail = [&](const std::string& what) {
    throw UserError(fmt::format("{}: {}: {}", path, key, what), kHint);
  };
  if (at::isFloatingType(y.scalar_type()) || y.scalar_type() == torch::kBool || at::isComplexType(y.scalar_type()))
    fail(fmt::format("expected integer class labels (int64), found dtype {}", c10::toString(y.scalar_type())));
  if (y.dim() != 1) fail(fmt::format("expected one label per sample (shape [N]), found shape {}", sizes_of(y)));
  if (y.size(0) != n) fail(fmt::format("{} labels for {} samples", y.size(0), n));
  torch::Tensor out = y.to(torch::kInt64).contiguous();
  if (n > 0 && out.min().item<int64_t>() < 0)
    fail(fmt::format("label {} is negative: expected classes 0, 1, ...", out.min().item<int64_t>()));
  return out;
}

}  // namespace

TensorSets read_tensor_file(const std::string& path) {
  if (path.empty())
    throw UserError("data.path is empty: data.format = tensors needs the file written by torch.save", kHint);
  std::map<std::string, torch::Tensor> entries;
  for (auto& [name, t] : util::load_tensors(path)) entries[name] = t;
  auto get = [&](const std::string& key, bool required) -> torch::Tensor {
    auto it = entries.find(key);
    if (it != entries.end()) return it->second;
    if (required) {
      std::vector<std::string> keys;
      for (const auto& e : entries) keys.push_back(e.first);
      throw UserError(fmt::format("{}: no key '{}' (found: {})", path, key, keys.empty() ? "none" : fmt::format("{}", fmt::join(keys, ", "))),
                      kHint);
    }
    return {};
  };
  for (const auto& [name, t] : entries) {
    static const char* known[] = {"train_x", "train_y", "val_x", "val_y", "test_x", "test_y"};
    if (std::find(std::begin(known), std::end(known), name) == std::end(known))
      throw UserError(fmt::format("{}: unknown key '{}'", path, name), kHint);
  }
  const bool has_val_x = entries.count("val_x") > 0, has_val_y = entries.count("val_y") > 0;
  if (has_val_x != has_val_y)
    throw UserError(fmt::format("{}: {} without {}", path, has_val_x ? "val_x" : "val_y", has_val_x ? "val_y" : "val_x"),
                    kHint);

  auto split = [&](const std::string& prefix) {
    Dataset ds;
    ds.source = fmt::format("{} ({}_x)", path, prefix);
    ds.inputs = features(path, prefix + "_x", get(prefix + "_x", true));
    ds.labels = labels(path, prefix + "_y", get(prefix + "_y", true), ds.inputs.size(0));
    return ds;
  };
  TensorSets out;
  out.train = split("train");
  out.test = split("test");
  if (has_val_x) out.val = split("val");

  std::vector<Dataset*> all = {&out.train, &out.test};
  if (out.val) all.push_back(&*out.val);
  for (const Dataset* ds : all) {
    if (ds->inputs.scalar_type() != out.train.inputs.scalar_type())
      throw UserError(fmt::format("{}: {} is {} but train_x is {}: expected one dtype", path, ds->source,
                                  c10::toString(ds->inputs.scalar_type()), c10::toString(out.train.inputs.scalar_type())),
                      kHint);
  }
  classes_from_labels(all, path, kHint);
  return out;
}

}  // namespace nosync::data
