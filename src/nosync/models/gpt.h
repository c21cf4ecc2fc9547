// The `gpt` model: a decoder-only transformer over token windows (GPT-2 style, pre-norm).
//
// Tokens [B, T'] (int64, T' <= context) in, logits [B, T', vocab] out. Names mirror the GPT
// twin in python/nosync_models.py:
//   tok_emb.weight (also the output head: tied, one parameter), pos_emb.weight,
//   blocks.<i>.{ln1, attn.qkv, attn.proj, ln2, mlp.fc, mlp.proj}.{weight,bias}, ln_f.{weight,bias}
#pragma once

#include <vector>

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "nosync/models/registry.h"

namespace nosync::models {

struct GptSize {
  int64_t vocab;    // V: tokens 0..V-1, and the logits per position
  int64_t context;  // T: the longest window (learned positions 0..T-1)
  int64_t layers;   // L: transformer blocks
  int64_t heads;    // H: attention heads; embed % heads == 0
  int64_t embed;    // C: width of the residual stream
};

// Parameters of a GptSize: V*C + T*C + L*(12*C*C + 13*C) + 2*C (the head is the embedding).
int64_t gpt_parameter_count(const GptSize& size);

// Causal multi-head self-attention: one qkv linear, all heads in one batched product.
class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  CausalSelfAttentionImpl(int64_t embed, int64_t heads);
  // x [B*T, C] (rows in (b, t) order) -> [B*T, C]
  torch::Tensor forward(const torch::Tensor& x, int64_t batch, int64_t time);

  torch::nn::Linear qkv{nullptr}, proj{nullptr};

 private:
  int64_t heads_;
};

class GptMlpImpl : public torch::nn::Module {
 public:
  explicit GptMlpImpl(int64_t embed);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear fc{nullptr}, proj{nullptr};
};

class GptBlockImpl : public torch::nn::Module {
 public:
  GptBlockImpl(int64_t embed, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x, int64_t batch, int64_t time);

  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  std::shared_ptr<CausalSelfAttentionImpl> attn;
  std::shared_ptr<GptMlpImpl> mlp;
};

class GptImpl : public NetImpl {
 public:
  explicit GptImpl(const GptSize& size);
  torch::Tensor forward(torch::Tensor x) override;
  // Per block: qkv, Q K^T, A V, proj, mlp.fc, mlp.proj; then the head. The first entry is the
  // embedding lookup (0: no multiply-adds), so that training_flops_per_sample counts the
  // input gradient of the first block. The attention products are counted over the full
  // T x T square, as they are computed.
  std::vector<double> layer_flops(const data::Shape& input) const override;
  const GptSize& size() const { return size_; }

 private:
  GptSize size_;
  torch::nn::Embedding tok_emb_{nullptr}, pos_emb_{nullptr};
  std::vector<std::shared_ptr<GptBlockImpl>> blocks_;
  torch::nn::LayerNorm ln_f_{nullptr};
};

}  // namespace nosync::models
