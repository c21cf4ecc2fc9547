// Models as flat float vectors.
#include "nosync/train/flat_state.h"

#include "nosync/train/trainer.h"
#include "nosync/util/error.h"

namespace nosync::train {

namespace {

torch::Tensor concat(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> parts;
  for (const auto& t : tensors) parts.push_back(t.detach().to(torch::kFloat).reshape({-1}));
  return parts.empty() ? torch::empty({0}) : torch::cat(parts);
}

void scatter(std::vector<torch::Tensor> targets, const torch::Tensor& flat, const char* what) {
  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (auto& t : targets) {
    NOSYNC_CHECK(offset + t.numel() <= flat.numel(), "{}: {} floats for a larger model", what, flat.numel());
    t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
  NOSYNC_CHECK(offset == flat.numel(), "{}: {} floats for a model of {}", what, flat.numel(), offset);
}

std::vector<torch::Tensor> state_tensors(const models::NetImpl& net) {
  std::vector<torch::Tensor> out;
  for (const auto& [name, t] : model_state(net)) out.push_back(t);
  return out;
}

}  // namespace

torch::Tensor flat_parameters(const models::NetImpl& net) { return concat(net.parameters()); }

void load_flat_parameters(models::NetImpl& net, const torch::Tensor& flat) {
  scatter(net.parameters(), flat, "parameters");
}

torch::Tensor flat_state(const models::NetImpl& net) { return concat(state_tensors(net)); }

void load_flat_state(models::NetImpl& net, const torch::Tensor& flat) { scatter(state_tensors(net), flat, "state"); }

}  // namespace nosync::train
