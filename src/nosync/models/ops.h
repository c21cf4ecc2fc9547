// Fused operations the built-in models use where ATen's own are slow on CPU.
#pragma once

#include <ATen/core/Tensor.h>

namespace nosync::models {

// relu(x) followed by 2x2 max pooling with stride 2 (floor mode), as one pass.
//
// Same values and the same gradient as torch::max_pool2d(torch::relu(x), 2) (ties go to the
// first element of the window in row-major order; a window whose maximum is <= 0 passes no
// gradient). For channels-last float or bfloat16 input it runs a fused kernel that writes each
// input gradient exactly once; ATen's bf16 channels-last max-pool backward zero-fills and
// copies the whole input-sized gradient, which cost more than the convolutions around it.
// Other inputs take the unfused ATen path.
at::Tensor relu_max_pool2x2(const at::Tensor& x);

// Causal multi-head self-attention on the output of a fused qkv projection.
//
// qkv: [B*T, 3*C] with rows in (b, t) order and columns [q | k | v], each split into `heads`
// heads of D = C / heads columns. Returns [B*T, C]: for every head softmax(Q K^T / sqrt(D) +
// M) V, M = -inf above the diagonal (position t sees positions <= t), heads side by side.
// All heads run as one batched product; the mask and the 1/sqrt(D) scale enter the product
// itself (baddbmm), so no pass over the T x T scores is spent on them.
at::Tensor causal_attention(const at::Tensor& qkv, int64_t batch, int64_t time, int64_t heads);

// The same written the plain way (matmul, scale, masked_fill, softmax, matmul), as the PyTorch
// twin in python/nosync_models.py does: the reference the tests compare causal_attention with.
at::Tensor causal_attention_reference(const at::Tensor& qkv, int64_t batch, int64_t time, int64_t heads);

}  // namespace nosync::models
