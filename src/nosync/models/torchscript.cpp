// The TorchScript adapter: loading and checking a user's module, the mirrored parameter tree, and
// batch-norm re-estimation inside scripted code.
#include "nosync/models/torchscript.h"

#include <filesystem>
#include <sstream>

#include <torch/csrc/jit/serialization/import.h>

#include "nosync/util/error.h"

namespace nosync::models {

namespace {

std::vector<std::string> split_name(const std::string& name) {
  std::vector<std::string> parts;
  std::stringstream in(name);
  for (std::string part; std::getline(in, part, '.');) parts.push_back(part);
  return parts;
}

// The mirror of the scripted submodule that holds the tensor `parts` names (all but the last part),
// created on first use; returns it and leaves the tensor's own name in `leaf`.
torch::nn::Module& mirror_for(torch::nn::Module& root, const std::string& name, std::string& leaf) {
  auto parts = split_name(name);
  leaf = parts.back();
  parts.pop_back();
  torch::nn::Module* m = &root;
  for (const auto& part : parts) {
    auto children = m->named_children();
    if (auto* found = children.find(part)) {
      m = found->get();
    } else {
      m = m->register_module(part, std::make_shared<torch::nn::Module>(part)).get();
    }
  }
  return *m;
}

std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

}  // namespace

TorchScriptNetImpl::TorchScriptNetImpl(torch::jit::Module module) : module_(std::move(module)) {
  std::string leaf;
  // The same tensors, not copies: a Tensor shares its TensorImpl, so set_data and in-place
  // updates on one side are seen by the other.
  for (const auto& p : module_.named_parameters(/*recurse=*/true)) {
    auto& m = mirror_for(*this, p.name, leaf);
    m.register_parameter(leaf, p.value, p.value.requires_grad());
  }
  for (const auto& b : module_.named_buffers(/*recurse=*/true)) {
    auto& m = mirror_for(*this, b.name, leaf);
    m.register_buffer(leaf, b.value);
  }
  for (const auto& sub : module_.named_modules()) {
    const auto& m = sub.value;
    if (!m.hasattr("running_mean") || !m.hasattr("running_var")) continue;
    const auto mean = m.attr("running_mean"), var = m.attr("running_var");
    if (!mean.isTensor() || !var.isTensor()) continue;  // track_running_stats = False
    BatchNorm bn;
    bn.running_mean = mean.toTensor();
    bn.running_var = var.toTensor();
    if (m.hasattr("num_batches_tracked") && m.attr("num_batches_tracked").isTensor())
      bn.num_batches_tracked = m.attr("num_batches_tracked").toTensor();
    const std::string where = sub.name.empty() ? "the module" : "'" + sub.name + "'";
    if (!m.type()->hasConstant("momentum"))
      throw UserError(fmt::format("model.path: batch-norm layer {} has no momentum constant (a traced module?)", where),
                      "save models with batch norm with torch.jit.script(model).save(path): tracing fixes "
                      "batch norm's training mode in the code");
    const auto momentum = m.type()->getConstant("momentum");
    if (momentum.isDouble()) bn.momentum = momentum.toDouble();
    batchnorms_.push_back(std::move(bn));
  }
}

torch::Tensor TorchScriptNetImpl::forward(torch::Tensor x) {
  if (average_batches_ < 0 || !is_training()) return module_.forward({std::move(x)}).toTensor();
  std::vector<std::pair<torch::Tensor, torch::Tensor>> before;
  for (const auto& bn : batchnorms_)
    before.emplace_back(bn.momentum ? bn.running_mean.clone() : torch::Tensor(),
                        bn.momentum ? bn.running_var.clone() : torch::Tensor());
  auto out = module_.forward({std::move(x)}).toTensor();
  const double k = static_cast<double>(++average_batches_);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < batchnorms_.size(); ++i) {
    const auto& bn = batchnorms_[i];
    if (!bn.momentum) continue;  // momentum None: the layer's own cumulative average
    const double scale = 1.0 / (*bn.momentum * k);
    bn.running_mean.copy_(before[i].first + (bn.running_mean - before[i].first) * scale);
    bn.running_var.copy_(before[i].second + (bn.running_var - before[i].second) * scale);
  }
  return out;
}

void TorchScriptNetImpl::train(bool on) {
  NetImpl::train(on);
  module_.train(on);
}

void TorchScriptNetImpl::begin_batchnorm_average() {
  torch::NoGradGuard no_grad;
  for (auto& bn : batchnorms_) {
    bn.running_mean.zero_();
    bn.running_var.fill_(1);
    if (bn.num_batches_tracked.defined()) bn.num_batches_tracked.zero_();
  }
  average_batches_ = 0;
}

void TorchScriptNetImpl::end_batchnorm_average() { average_batches_ = -1; }

void TorchScriptNetImpl::save(const std::string& path) const { module_.save(path); }

namespace {

const char* const kSavedHint =
    "save it from Python with torch.jit.script(model).save(path) (or torch.jit.trace(model, example).save(path))";

}  // namespace

Net load_torchscript(const std::string& path, const data::Shape& input, int64_t num_classes) {
  check_torchscript_path(path);
  const std::string saved_hint = kSavedHint;
  torch::jit::Module module;
  try {
    module = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    throw UserError(fmt::format("model.path: {} is not a TorchScript archive ({})", path,
                                first_line(e.what_without_backtrace())),
                    saved_hint + "; torch.save(model) files are not TorchScript");
  } catch (const std::exception& e) {
    throw UserError(fmt::format("model.path: {} is not a TorchScript archive ({})", path, first_line(e.what())),
                    saved_hint + "; torch.save(model) files are not TorchScript");
  }
  if (!module.find_method("forward"))
    throw UserError(fmt::format("model.path: {} has no forward method", path),
                    "script an nn.Module whose forward takes images [B, C, H, W] and returns logits");
  int64_t trainable = 0;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    if (p.value.scalar_type() != torch::kFloat)
      throw UserError(fmt::format("model.path: {}: parameter '{}' is {}, nosync trains float32 parameters", path,
                                  p.name, c10::toString(p.value.scalar_type())),
                      "call model.float() before torch.jit.script(model).save(path)");
    if (p.value.requires_grad()) trainable += p.value.numel();
  }
  if (trainable == 0)
    throw UserError(fmt::format("model.path: {} has no trainable parameters", path),
                    "script a module with parameters that require gradients (nn.Linear, nn.Conv2d, ...)");
  auto net = std::make_shared<TorchScriptNetImpl>(std::move(module));
  check_forward(*net, input, num_classes, "model.path: " + path);
  return net;
}

}  // namespace nosync::models
