// One worker's training step and its checkpointable state.
#include "nosync/train/trainer.h"

#include <map>
#include <tuple>

#include <ATen/Parallel.h>

#include <torch/optim/adamw.h>

#include "nosync/train/schedule.h"
#include "nosync/train/speed.h"
#include "nosync/util/error.h"

namespace nosync::train {

namespace {

std::string shape_str(const torch::Tensor& t) { return fmt::format("{}", fmt::join(t.sizes(), "x")); }

// Optimizer state is keyed by the parameter's TensorImpl address in libtorch.
std::string state_key(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

}  // namespace

Trainer::Trainer(models::Net net, const TrainOptions& options, const data::Dataset& train_set,
                 const data::Normalization& norm, const data::LoaderOptions& loader_options,
                 int64_t total_steps)
    : net_(std::move(net)), options_(options), loader_(train_set, norm, loader_options), total_steps_(total_steps) {
  NOSYNC_CHECK(total_steps_ > 0, "total_steps {}", total_steps_);
  net_->train();
  net_->set_compute(compute_settings(options_, *net_));
  std::tie(flat_params_, flat_grads_) = flatten_parameters(*net_, net_->compute().channels_last);
  if (options_.optimizer == "sgd") {
    // SGD runs as one fused pass over the flat buffers (sgd_update); its momentum buffer is flat
    // too, zero at the start (identical to PyTorch's clone-on-first-step, as dampening is 0).
    flat_momentum_ = torch::zeros_like(flat_params_);
  } else if (options_.optimizer == "adamw") {
    optimizer_ = std::make_unique<torch::optim::AdamW>(
        net_->parameters(), torch::optim::AdamWOptions(options_.lr)
                                .betas({options_.beta1, options_.beta2})
                                .eps(options_.eps)
                                .weight_decay(options_.weight_decay));
  } else {
    throw UserError(fmt::format("train.optimizer: unknown optimizer '{}'", options_.optimizer),
                    "choose sgd or adamw");
  }
  set_lr(learning_rate(options_, 0, total_steps_));
}

void Trainer::set_lr(double lr) {
  lr *= lr_multiplier_;
  lr_ = lr;
  if (optimizer_)
    for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
}

namespace {

// PyTorch's SGD (dampening 0) on flat float buffers in one pass instead of ~4 tensor operations
// per parameter: d = g + wd * p; v = m * v + d; p -= lr * (nesterov ? d + m * v : v).
// The chunk loop takes its own copies of the scalars and restrict pointers: with the scalars
// read through the closure, every store to p could alias them, so each iteration reloaded them
// and nothing vectorized (perf, fp32 cnn at two threads: 3.9 % of all samples before, 1.5 % after).
void sgd_chunk(float* __restrict p, const float* __restrict g, float* __restrict v, int64_t n, const float lr,
               const float momentum, const float weight_decay, const bool nesterov) {
  if (momentum == 0) {
    for (int64_t i = 0; i < n; ++i) p[i] -= lr * (g[i] + weight_decay * p[i]);
  } else if (nesterov) {
    for (int64_t i = 0; i < n; ++i) {
      const float d = g[i] + weight_decay * p[i];
      const float m = momentum * v[i] + d;
      v[i] = m;
      p[i] -= lr * (d + momentum * m);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float m = momentum * v[i] + (g[i] + weight_decay * p[i]);
      v[i] = m;
      p[i] -= lr * m;
    }
  }
}

void sgd_update(float* p, const float* g, float* v, int64_t n, float lr, float momentum, float weight_decay,
                bool nesterov) {
  at::parallel_for(0, n, 1 << 15, [=](int64_t begin, int64_t end) {
    sgd_chunk(p + begin, g + begin, v + begin, end - begin, lr, momentum, weight_decay, nesterov);
  });
}

}  // namespace

float Trainer::step() {
  set_lr(learning_rate(options_, step_, total_steps_));
  last_batch_ = loader_.next();
  flat_grads_.zero_();
  auto loss = prediction_loss(net_->logits(last_batch_.x), last_batch_.y);
  loss.backward();
  if (gradient_hook_) gradient_hook_();
  if (optimizer_) {
    optimizer_->step();
  } else {
    torch::NoGradGuard no_grad;
    sgd_update(flat_params_.data_ptr<float>(), flat_grads_.data_ptr<float>(), flat_momentum_.data_ptr<float>(),
               flat_params_.numel(), static_cast<float>(lr_), static_cast<float>(options_.momentum),
               static_cast<float>(options_.weight_decay), options_.nesterov);
  }
  ++step_;
  return loss.item<float>();
}

models::Compute compute_settings(const TrainOptions& options, const models::NetImpl& net) {
  if (options.precision != "fp32" && options.precision != "bf16" && options.precision != "auto")
    throw UserError(fmt::format("train.precision: unknown precision '{}'", options.precision),
                    "choose auto, fp32 or bf16");
  models::Compute c;
  c.bf16 = resolved_precision(options) == "bf16";
  bool convolutional = false;
  for (const auto& p : net.parameters()) convolutional |= p.dim() == 4;
  c.channels_last = options.channels_last && convolutional;
  return c;
}

std::pair<torch::Tensor, torch::Tensor> flatten_parameters(models::NetImpl& net, bool channels_last) {
  torch::NoGradGuard no_grad;
  auto params = net.parameters();
  int64_t numel = 0;
  for (const auto& p : params) {
    NOSYNC_CHECK(p.scalar_type() == torch::kFloat, "parameter dtype {}", c10::toString(p.scalar_type()));
    numel += p.numel();
  }
  auto flat = torch::empty({numel}, params.empty() ? torch::TensorOptions() : params[0].options());
  auto grads = torch::zeros({numel}, flat.options());
  int64_t offset = 0;
  for (auto& p : params) {
    const int64_t n = p.numel();
    auto view_of = [&](const torch::Tensor& buffer) {
      if (channels_last && p.dim() == 4)
        return buffer.as_strided(p.sizes(), c10::get_channels_last_strides_2d(p.sizes()), offset);
      return buffer.narrow(0, offset, n).view(p.sizes());
    };
    auto view = view_of(flat);
    view.copy_(p);
    p.set_data(view);
    p.mutable_grad() = view_of(grads);
    offset += n;
  }
  return {flat, grads};
}

bool has_batchnorm(const models::NetImpl& net) { return net.has_batchnorm(); }

void recompute_batchnorm(models::NetImpl& net, data::BatchLoader& loader, int64_t batches) {
  if (!net.has_batchnorm()) return;
  torch::NoGradGuard no_grad;
  net.begin_batchnorm_average();  // cumulative average over the batches below
  const bool was_training = net.is_training();
  net.train();
  for (int64_t i = 0; i < batches; ++i) net.logits(loader.next().x);
  net.train(was_training);
  net.end_batchnorm_average();
}

void reestimate_batchnorm(models::NetImpl& net, const data::Splits& splits, uint64_t seed, int64_t batches) {
  if (!has_batchnorm(net)) return;
  data::LoaderOptions lo;
  lo.batch_size = 128;
  lo.seed = seed;
  data::BatchLoader loader(splits.train, splits.norm, lo);
  recompute_batchnorm(net, loader, batches);
}

void Trainer::scale_momentum(double factor) {
  torch::NoGradGuard no_grad;
  if (flat_momentum_.defined())  // zero_ rather than mul_(0): the buffer may hold NaN
    factor == 0 ? flat_momentum_.zero_() : flat_momentum_.mul_(factor);
  if (!optimizer_) return;
  for (auto& [key, state] : optimizer_->state()) {
    if (auto* a = dynamic_cast<torch::optim::AdamWParamState*>(state.get())) {
      factor == 0 ? a->exp_avg().zero_() : a->exp_avg().mul_(factor);
      if (factor == 0) a->exp_avg_sq().zero_();
    }
  }
}

TensorList model_state(const models::NetImpl& net) {
  TensorList out;
  for (const auto& p : net.named_parameters()) out.emplace_back(p.key(), p.value().detach());
  for (const auto& b : net.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

models::Net load_trained_net(const models::ModelOptions& model, const TrainOptions& options, const data::Dataset& train,
                             const TensorList& state, const std::string& origin) {
  auto net = models::build_model_for(model, train);
  load_model_state(*net, state, origin);
  net->set_compute(compute_settings(options, *net));
  return net;
}

void load_model_state(models::NetImpl& net, const TensorList& source, const std::string& origin) {
  std::map<std::string, torch::Tensor> by_name(source.begin(), source.end());
  torch::NoGradGuard no_grad;
  auto copy_into = [&](const std::string& name, torch::Tensor& target) {
    auto it = by_name.find(name);
    if (it == by_name.end())
      throw UserError(fmt::format("{}: no tensor '{}' for this model", origin, name),
                      "the checkpoint was written by another model; check model.* in its config.toml");
    if (!it->second.sizes().equals(target.sizes()))
      throw UserError(fmt::format("{}: '{}' has shape {} in the checkpoint but {} in this model", origin,
                                  name, shape_str(it->second), shape_str(target)),
                      "the checkpoint was written by another model; check model.* in its config.toml");
    target.copy_(it->second);
    by_name.erase(it);
  };
  for (auto& p : net.named_parameters()) copy_into(p.key(), p.value());
  for (auto& b : net.named_buffers()) copy_into(b.key(), b.value());
  if (!by_name.empty())
    throw UserError(fmt::format("{}: tensor '{}' does not belong to this model", origin, by_name.begin()->first),
                    "the checkpoint was written by another model; check model.* in its config.toml");
}

TensorList Trainer::model_state() const { return train::model_state(*net_); }

torch::Tensor Trainer::momentum_view(const torch::Tensor& param) const {
  // A parameter is a view of flat_params_ (storage offset 0): the same view of the momentum.
  return flat_momentum_.as_strided(param.sizes(), param.strides(), param.storage_offset());
}

TensorList Trainer::optimizer_state() const {
  TensorList out;
  if (!optimizer_) {  // flat SGD: buffers exist from the first step on, as in PyTorch
    if (step_ > 0 && options_.momentum != 0)
      for (const auto& p : net_->named_parameters()) out.emplace_back(p.key() + ".momentum_buffer", momentum_view(p.value()));
    return out;
  }
  auto& state = optimizer_->state();
  for (const auto& p : net_->named_parameters()) {
    auto it = state.find(state_key(p.value()));
    if (it == state.end()) continue;
    if (auto* a = dynamic_cast<torch::optim::AdamWParamState*>(it->second.get())) {
      out.emplace_back(p.key() + ".step", torch::tensor(a->step(), torch::kInt64));
      out.emplace_back(p.key() + ".exp_avg", a->exp_avg());
      out.emplace_back(p.key() + ".exp_avg_sq", a->exp_avg_sq());
    }
  }
  return out;
}

nlohmann::json Trainer::progress_state() const {
  return {{"step", step_}, {"loader_position", loader_.position()}, {"total_steps", total_steps_}};
}

void Trainer::restore(const TensorList& model, const TensorList& optimizer, const nlohmann::json& progress) {
  load_model_state(*net_, model, "model.pt");
  std::map<std::string, torch::Tensor> by_name(optimizer.begin(), optimizer.end());
  auto take = [&](const std::string& name) -> torch::Tensor {
    auto it = by_name.find(name);
    return it == by_name.end() ? torch::Tensor() : it->second;
  };
  if (!optimizer_) {
    torch::NoGradGuard no_grad;
    flat_momentum_.zero_();  // a missing buffer is a zero one (the state before the first step)
    for (const auto& p : net_->named_parameters()) {
      auto buf = take(p.key() + ".momentum_buffer");
      if (!buf.defined()) continue;
      if (!buf.sizes().equals(p.value().sizes()))
        throw UserError(fmt::format("optimizer.pt: '{}.momentum_buffer' has shape {} but the parameter {}", p.key(),
                                    shape_str(buf), shape_str(p.value())),
                        "the checkpoint was written by another model; check model.* in its config.toml");
      momentum_view(p.value()).copy_(buf);
    }
    step_ = progress.at("step").get<int64_t>();
    loader_.seek(progress.at("loader_position").get<int64_t>());
    set_lr(learning_rate(options_, step_, total_steps_));
    return;
  }
  auto& state = optimizer_->state();
  state.clear();
  for (const auto& p : net_->named_parameters()) {
    auto step = take(p.key() + ".step");  // adamw
    if (!step.defined()) continue;
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(step.item<int64_t>());
    s->exp_avg(torch::empty_like(p.value()).copy_(take(p.key() + ".exp_avg")));  // the parameter's layout
    s->exp_avg_sq(torch::empty_like(p.value()).copy_(take(p.key() + ".exp_avg_sq")));
    state[state_key(p.value())] = std::move(s);
  }
  step_ = progress.at("step").get<int64_t>();
  loader_.seek(progress.at("loader_position").get<int64_t>());
  set_lr(learning_rate(options_, step_, total_steps_));
}

}  // namespace nosync::train
