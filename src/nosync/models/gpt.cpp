// The `gpt` model (gpt.h).
//
// Dimension words: B windows, T positions, C = embed, H heads of D = C / H, V vocabulary. The
// residual stream is kept as [B*T, C] so that every linear is one addmm (bias fused); only the
// attention looks at it as [B, T, ...].
#include "nosync/models/gpt.h"

#include <cmath>

#include <ATen/Functions.h>
#include <torch/nn/init.h>

#include "nosync/models/ops.h"
#include "nosync/util/error.h"

namespace nosync::models {

int64_t gpt_parameter_count(const GptSize& s) {
  const int64_t c = s.embed;
  return s.vocab * c + s.context * c + s.layers * (12 * c * c + 13 * c) + 2 * c;
}

CausalSelfAttentionImpl::CausalSelfAttentionImpl(int64_t embed, int64_t heads) : heads_(heads) {
  NOSYNC_CHECK(heads > 0 && embed % heads == 0, "embed {} heads {}", embed, heads);
  qkv = register_module("qkv", torch::nn::Linear(embed, 3 * embed));
  proj = register_module("proj", torch::nn::Linear(embed, embed));
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x, int64_t batch, int64_t time) {
  return proj->forward(causal_attention(qkv->forward(x), batch, time, heads_));
}

GptMlpImpl::GptMlpImpl(int64_t embed) {
  fc = register_module("fc", torch::nn::Linear(embed, 4 * embed));
  proj = register_module("proj", torch::nn::Linear(4 * embed, embed));
}

torch::Tensor GptMlpImpl::forward(const torch::Tensor& x) { return proj->forward(at::gelu(fc->forward(x))); }

GptBlockImpl::GptBlockImpl(int64_t embed, int64_t heads) {
  ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({embed})));
  attn = register_module("attn", std::make_shared<CausalSelfAttentionImpl>(embed, heads));
  ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({embed})));
  mlp = register_module("mlp", std::make_shared<GptMlpImpl>(embed));
}

torch::Tensor GptBlockImpl::forward(const torch::Tensor& x, int64_t batch, int64_t time) {
  auto h = x + attn->forward(ln1->forward(x), batch, time);
  return h + mlp->forward(ln2->forward(h));
}

namespace {

// GPT-2's initialisation: every weight N(0, 0.02), the projections into the residual stream
// N(0, 0.02 / sqrt(2 L)) so that its variance does not grow with depth, biases 0, layer norms
// the identity.
void init_gpt_weights(GptImpl& net, int64_t layers) {
  torch::NoGradGuard no_grad;
  const double residual_std = 0.02 / std::sqrt(2.0 * static_cast<double>(layers));
  for (auto& item : net.named_parameters()) {
    const std::string& name = item.key();
    auto& p = item.value();
    const bool is_weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    if (name.find(".ln") != std::string::npos || name.rfind("ln_f.", 0) == 0) {
      is_weight ? p.fill_(1) : p.zero_();
    } else if (!is_weight) {
      p.zero_();
    } else if (name.find(".attn.proj.") != std::string::npos || name.find(".mlp.proj.") != std::string::npos) {
      p.normal_(0, residual_std);
    } else {
      p.normal_(0, 0.02);
    }
  }
}

}  // namespace

GptImpl::GptImpl(const GptSize& size) : size_(size) {
  tok_emb_ = register_module("tok_emb", torch::nn::Embedding(size.vocab, size.embed));
  pos_emb_ = register_module("pos_emb", torch::nn::Embedding(size.context, size.embed));
  auto blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < size.layers; ++i) {
    blocks_.push_back(std::make_shared<GptBlockImpl>(size.embed, size.heads));
    blocks->push_back(blocks_.back());
  }
  ln_f_ = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({size.embed})));
  init_gpt_weights(*this, size.layers);
}

torch::Tensor GptImpl::forward(torch::Tensor x) {
  NOSYNC_CHECK(x.dim() == 2 && x.scalar_type() == torch::kLong && x.size(1) >= 1 && x.size(1) <= size_.context,
               "gpt input: expected int64 tokens [B, T <= {}], found {} of {} dims", size_.context,
               c10::toString(x.scalar_type()), x.dim());
  const int64_t batch = x.size(0), time = x.size(1);
  // [B*T, C]: token embedding plus the position embedding of each row's t.
  auto h = (tok_emb_->forward(x) + pos_emb_->weight.narrow(0, 0, time)).view({batch * time, size_.embed});
  for (auto& block : blocks_) h = block->forward(h, batch, time);
  // The head is the token embedding read the other way (tied weights, no bias).
  auto logits = at::linear(ln_f_->forward(h), tok_emb_->weight);
  return logits.view({batch, time, size_.vocab});
}

std::vector<double> GptImpl::layer_flops(const data::Shape& input) const {
  const double t = static_cast<double>(input.width), c = static_cast<double>(size_.embed);
  std::vector<double> out = {0.0};  // token + position embedding: a lookup
  for (int64_t i = 0; i < size_.layers; ++i) {
    out.push_back(2 * t * c * 3 * c);  // qkv
    out.push_back(2 * t * t * c);      // Q K^T, all heads: H * T * T * D multiply-adds
    out.push_back(2 * t * t * c);      // A V
    out.push_back(2 * t * c * c);      // attn.proj
    out.push_back(2 * t * c * 4 * c);  // mlp.fc
    out.push_back(2 * t * 4 * c * c);  // mlp.proj
  }
  out.push_back(2 * t * c * static_cast<double>(size_.vocab));  // head
  return out;
}

}  // namespace nosync::models
