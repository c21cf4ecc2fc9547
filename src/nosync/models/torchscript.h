// A user's TorchScript module (saved from Python with torch.jit.script(m).save(path) or
// torch.jit.trace) as a nosync net: model.name = torchscript, model.path = FILE.
//
// The scripted module keeps running its own forward; its parameters and buffers are the very
// same tensors (same TensorImpl) as the ones this NetImpl registers, under the Python
// state_dict names ("features.0.weight", "bn1.running_mean"): libtorch refuses dots in a
// registered name, so child modules mirror the scripted submodule tree. Whatever nosync does to
// a parameter in place (train::flatten_parameters' set_data, optimizer steps, swarm blends,
// checkpoint restores) is therefore seen by the scripted forward, and checkpoints load in
// Python with load_state_dict(strict=True).
#pragma once

#include <string>
#include <vector>

#include <torch/csrc/jit/api/module.h>

#include "nosync/models/registry.h"

namespace nosync::models {

class TorchScriptNetImpl : public NetImpl {
 public:
  // `module`: loaded, with a forward method and at least one float32 parameter (load_torchscript checks).
  explicit TorchScriptNetImpl(torch::jit::Module module);

  torch::Tensor forward(torch::Tensor x) override;
  void train(bool on = true) override;  // reaches the scripted module: batch norm, dropout

  // The scripted BatchNorm layers (found by their running_mean/running_var buffers). Their
  // momentum is a compile-time constant of the scripted code, so it cannot be set to None as for
  // the built-in models: during an average, forward() turns each update
  // running = (1 - m) * old + m * batch back into the cumulative average
  // A_k = A_{k-1} + (running - A_{k-1}) / (m * k), which is the same average.
  bool has_batchnorm() const override { return !batchnorms_.empty(); }
  void begin_batchnorm_average() override;
  void end_batchnorm_average() override;

  // Writes the scripted module, with the current weights, to `path` (loads with torch.jit.load).
  void save(const std::string& path) const;
  torch::jit::Module& module() { return module_; }

 private:
  struct BatchNorm {
    torch::Tensor running_mean, running_var, num_batches_tracked;
    c10::optional<double> momentum;  // none: the layer averages cumulatively by itself
  };

  torch::jit::Module module_;
  std::vector<BatchNorm> batchnorms_;
  int64_t average_batches_ = -1;  // batches in the running average; -1 = not averaging
};

// Loads `path` (model.path) and checks it before anything is trained: a TorchScript archive with
// a forward method, float32 parameters only (at least one), and a forward that takes images of
// `input`'s shape and returns [batch, num_classes] (check_forward). Every failure is a UserError
// naming model.path.
Net load_torchscript(const std::string& path, const data::Shape& input, int64_t num_classes);

// The first of those checks, which needs no data: model.path is set and names a file. For the
// config check that runs before a run directory exists (models::check_model_options, defined
// in options.cpp with the other checks that need no data).
void check_torchscript_path(const std::string& path);

}  // namespace nosync::models
