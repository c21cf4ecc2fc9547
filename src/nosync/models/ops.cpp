// The fused ReLU + 2x2 max-pool kernel (channels-last, float / bfloat16) and its autograd node;
// causal self-attention (at the end of the file).
//
// Layout words: the input is N x H x W x C in memory (channels-last), the output N x OH x OW x C
// with OH = H / 2, OW = W / 2. For every output element the forward pass keeps `which`, an index
// naming the window element the value came from (0..3, row-major) or kNone when the maximum
// was <= 0 and ReLU cut it: backward then writes grad_output to exactly that input element and
// zero to the three others, so every input gradient is written once and nothing is zero-filled.
#include "nosync/models/ops.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <c10/util/BFloat16.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace nosync::models {

namespace {

constexpr uint8_t kNone = 4;

struct Dims {
  int64_t n, c, h, w, oh, ow;
};

Dims dims_of(const at::Tensor& x) {
  return {x.size(0), x.size(1), x.size(2), x.size(3), x.size(2) / 2, x.size(3) / 2};
}

// Elements are handled as their storage type U (float, or uint16_t holding bfloat16 bits):
// every output is one of the inputs or zero, so values are selected, never rounded, and the
// loops vectorize (bf16 -> float is a 16-bit shift).
inline float as_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline float as_float(uint16_t bits) {
  const uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Output rows [begin, end) of the forward pass; a row is one (n, oh).
template <typename U>
inline __attribute__((always_inline)) void forward_rows(const U* __restrict x, U* __restrict y,
                                                        U* __restrict which, const Dims& dims, int64_t begin,
                                                        int64_t end) {
  const Dims d = dims;  // a local copy: the stores below cannot alias it, so the loops vectorize
  const int64_t C = d.c;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t n = r / d.oh, oh = r % d.oh;
    const U* row0 = x + ((n * d.h + 2 * oh) * d.w) * C;
    const U* row1 = row0 + d.w * C;
    for (int64_t ow = 0; ow < d.ow; ++ow) {
      const U* __restrict a = row0 + 2 * ow * C;
      const U* __restrict b = a + C;
      const U* __restrict e = row1 + 2 * ow * C;
      const U* __restrict f = e + C;
      U* __restrict o = y + (r * d.ow + ow) * C;
      U* __restrict k = which + (r * d.ow + ow) * C;
      for (int64_t c = 0; c < C; ++c) {
        // ATen's max_pool2d comparison: a later element wins if larger or NaN. Bitwise | and &
        // keep the body free of branches.
        const U va = a[c], vb = b[c], ve = e[c], vf = f[c];
        const float fb = as_float(vb), fe = as_float(ve), ff = as_float(vf);
        U m = va;
        float fm = as_float(va);
        U i = 0;
        bool t = (fb > fm) | (fb != fb);
        m = t ? vb : m;
        fm = t ? fb : fm;
        i = t ? 1 : i;
        t = (fe > fm) | (fe != fe);
        m = t ? ve : m;
        fm = t ? fe : fm;
        i = t ? 2 : i;
        t = (ff > fm) | (ff != ff);
        m = t ? vf : m;
        fm = t ? ff : fm;
        i = t ? 3 : i;
        const bool cut = !(fm > 0) & (fm == fm);  // ReLU; NaN propagates like clamp_min
        o[c] = cut ? U(0) : m;
        k[c] = cut ? U(kNone) : i;
      }
    }
  }
}

// Input rows [begin, end) of the backward pass; a row is one (n, h).
template <typename U>
inline __attribute__((always_inline)) void backward_rows(const U* __restrict gy, const U* __restrict which,
                                                         U* __restrict gx, const Dims& dims, int64_t begin,
                                                         int64_t end) {
  const Dims d = dims;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t n = r / d.h, h = r % d.h;
    U* row = gx + r * d.w * d.c;
    if (h >= 2 * d.oh) {  // odd height: the last row is outside every window
      std::fill(row, row + d.w * d.c, U(0));
      continue;
    }
    const int64_t orow = n * d.oh + h / 2;
    const U base = static_cast<U>((h % 2) * 2);  // window elements of this row
    for (int64_t ow = 0; ow < d.ow; ++ow) {
      U* left = row + 2 * ow * d.c;
      U* right = left + d.c;
      const U* g = gy + (orow * d.ow + ow) * d.c;
      const U* k = which + (orow * d.ow + ow) * d.c;
      for (int64_t c = 0; c < d.c; ++c) {
        left[c] = k[c] == base ? g[c] : U(0);
        right[c] = k[c] == U(base + 1) ? g[c] : U(0);
      }
    }
    if (d.w > 2 * d.ow) std::fill(row + 2 * d.ow * d.c, row + d.w * d.c, U(0));  // odd width
  }
}

// Compiled for AVX-512, AVX2 and baseline x86-64; the loader picks one by CPU at start-up.
#define NOSYNC_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
// The float kernels work on the bits (uint32_t) as well: selecting needs no arithmetic.
NOSYNC_CLONES void forward_f32(const uint32_t* x, uint32_t* y, uint32_t* k, const Dims& d, int64_t b, int64_t e) {
  forward_rows(x, y, k, d, b, e);
}
NOSYNC_CLONES void forward_bf16(const uint16_t* x, uint16_t* y, uint16_t* k, const Dims& d, int64_t b, int64_t e) {
  forward_rows(x, y, k, d, b, e);
}
NOSYNC_CLONES void backward_f32(const uint32_t* gy, const uint32_t* k, uint32_t* gx, const Dims& d, int64_t b,
                                int64_t e) {
  backward_rows(gy, k, gx, d, b, e);
}
NOSYNC_CLONES void backward_bf16(const uint16_t* gy, const uint16_t* k, uint16_t* gx, const Dims& d, int64_t b,
                                 int64_t e) {
  backward_rows(gy, k, gx, d, b, e);
}
#undef NOSYNC_CLONES

// A tensor's elements as unsigned integers of their width (bf16: 16 bits, float and the
// matching `which` tensors: 32 bits).
template <typename U>
U* bits(const at::Tensor& t) {
  return static_cast<U*>(t.data_ptr());
}

bool fused_path(const at::Tensor& x) {
  return x.dim() == 4 && (x.scalar_type() == at::kFloat || x.scalar_type() == at::kBFloat16) &&
         x.device().is_cpu() && x.is_contiguous(at::MemoryFormat::ChannelsLast) && x.size(2) >= 2 &&
         x.size(3) >= 2;
}

class ReluMaxPool2x2 : public torch::autograd::Function<ReluMaxPool2x2> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    const Dims d = dims_of(x);
    auto y = at::empty({d.n, d.c, d.oh, d.ow}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    // `which` has the element width of x: every type in the loops the same width, so the
    // vector length is that of x (32 bf16 / 16 float lanes), which the channel counts fill.
    const bool f32 = x.scalar_type() == at::kFloat;
    auto which = at::empty({d.n, d.c, d.oh, d.ow},
                           x.options().dtype(f32 ? at::kInt : at::kShort).memory_format(at::MemoryFormat::ChannelsLast));
    at::parallel_for(0, d.n * d.oh, 1, [&](int64_t begin, int64_t end) {
      if (f32)
        forward_f32(bits<uint32_t>(x), bits<uint32_t>(y), bits<uint32_t>(which), d, begin, end);
      else
        forward_bf16(bits<uint16_t>(x), bits<uint16_t>(y), bits<uint16_t>(which), d, begin, end);
    });
    ctx->save_for_backward({which});
    ctx->saved_data["h"] = d.h;
    ctx->saved_data["w"] = d.w;
    ctx->mark_non_differentiable({which});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor which = ctx->get_saved_variables()[0];
    // The gradient arrives channels-last from a convolution, contiguous from a flatten.
    const at::Tensor gy = grads[0].contiguous(at::MemoryFormat::ChannelsLast);
    const Dims d{which.size(0), which.size(1), ctx->saved_data["h"].toInt(), ctx->saved_data["w"].toInt(),
                 which.size(2), which.size(3)};
    auto gx = at::empty({d.n, d.c, d.h, d.w}, gy.options().memory_format(at::MemoryFormat::ChannelsLast));
    const bool f32 = gy.scalar_type() == at::kFloat;
    at::parallel_for(0, d.n * d.h, 1, [&](int64_t begin, int64_t end) {
      if (f32)
        backward_f32(bits<uint32_t>(gy), bits<uint32_t>(which), bits<uint32_t>(gx), d, begin, end);
      else
        backward_bf16(bits<uint16_t>(gy), bits<uint16_t>(which), bits<uint16_t>(gx), d, begin, end);
    });
    return {gx};
  }
};

}  // namespace

at::Tensor relu_max_pool2x2(const at::Tensor& x) {
  if (!fused_path(x)) return at::max_pool2d(at::relu(x), {2, 2});
  return ReluMaxPool2x2::apply(x);
}

}  // namespace nosync::models

// Causal self-attention (ops.h). Words: B windows, T positions, H heads of D columns, C = H*D;
// S = Q K^T / sqrt(D) + M the scores, P = softmax(S) the weights, Y = P V.
//
// Why an autograd node of its own rather than ATen's autograd of the same products: the scale
// rides on the products' alpha in both directions (baddbmm), the three gradients of Q, K and V
// are written straight into one buffer in the qkv layout (ATen's select/unbind backward
// zero-fills or stacks a full-size copy per part), and P is the only T x T tensor kept for
// backward. Under bf16 autocast the products run in the dtype of qkv (bf16: the qkv linear ran
// in bf16) with autocast off inside, and the softmax in float32.
namespace nosync::models {

namespace {

// [3, B*H, T, D]: q, k and v of every head, contiguous, from [B*T, 3*C] (one copy).
at::Tensor split_heads(const at::Tensor& qkv, int64_t batch, int64_t time, int64_t heads) {
  const int64_t d = qkv.size(1) / (3 * heads);
  return qkv.view({batch, time, 3, heads, d}).permute({2, 0, 3, 1, 4}).reshape({3, batch * heads, time, d});
}

// The inverse: [3, B*H, T, D] -> [B*T, 3*C] (one copy).
at::Tensor join_heads(const at::Tensor& parts, int64_t batch, int64_t time, int64_t heads) {
  const int64_t d = parts.size(3);
  return parts.view({3, batch, heads, time, d}).permute({1, 3, 0, 2, 4}).reshape({batch * time, 3 * heads * d});
}

// [B*H, T, D] -> [B*T, C]
at::Tensor merge_heads(const at::Tensor& y, int64_t batch, int64_t time, int64_t heads) {
  const int64_t d = y.size(2);
  return y.view({batch, heads, time, d}).transpose(1, 2).reshape({batch * time, heads * d});
}

// [B*T, C] -> [B*H, T, D]
at::Tensor unmerge_heads(const at::Tensor& y, int64_t batch, int64_t time, int64_t heads) {
  const int64_t d = y.size(1) / heads;
  return y.view({batch, time, heads, d}).transpose(1, 2).reshape({batch * heads, time, d});
}

// The additive causal mask [T, T] (0 on and below the diagonal, -inf above), made once per
// (T, dtype) in each thread (the particles of a swarm are threads).
const at::Tensor& causal_mask(int64_t time, at::ScalarType dtype) {
  thread_local at::Tensor mask;
  if (!mask.defined() || mask.size(0) != time || mask.scalar_type() != dtype)
    mask = at::full({time, time}, -std::numeric_limits<float>::infinity(), at::TensorOptions().dtype(dtype)).triu_(1);
  return mask;
}

class CausalAttention : public torch::autograd::Function<CausalAttention> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& qkv, int64_t batch, int64_t time,
                            int64_t heads) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
    const auto parts = split_heads(qkv, batch, time, heads);
    const auto q = parts[0], k = parts[1], v = parts[2];
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(2)));
    // The softmax and its backward run in float32 whatever the products' dtype, as autocast
    // runs them: ATen 1.13's bf16 softmax kernels are several times slower than its float ones.
    const auto p = at::_softmax(
        at::baddbmm(causal_mask(time, q.scalar_type()), q, k.transpose(1, 2), 1, scale).to(at::kFloat), -1, false);
    ctx->save_for_backward({parts, p});
    ctx->saved_data["batch"] = batch;
    ctx->saved_data["time"] = time;
    ctx->saved_data["heads"] = heads;
    return merge_heads(at::bmm(p.to(v.scalar_type()), v), batch, time, heads);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& parts = saved[0];
    const at::Tensor& p = saved[1];
    const int64_t batch = ctx->saved_data["batch"].toInt(), time = ctx->saved_data["time"].toInt(),
                  heads = ctx->saved_data["heads"].toInt();
    const auto q = parts[0], k = parts[1], v = parts[2];
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(2)));
    const auto dy = unmerge_heads(grads[0].to(parts.scalar_type()), batch, time, heads);  // [B*H, T, D]
    auto dparts = at::empty_like(parts);
    auto dq = dparts[0], dk = dparts[1], dv = dparts[2];
    at::bmm_out(dv, p.to(dy.scalar_type()).transpose(1, 2), dy);    // dV = P^T dY
    const auto dp = at::bmm(dy, v.transpose(1, 2)).to(at::kFloat);  // dP = dY V^T
    const auto ds = at::_softmax_backward_data(dp, p, -1, at::kFloat).to(q.scalar_type());
    at::baddbmm_out(dq, dq, ds, k, /*beta=*/0, /*alpha=*/scale);      // dQ = dS K / sqrt(D)
    at::baddbmm_out(dk, dk, ds.transpose(1, 2), q, 0, scale);         // dK = dS^T Q / sqrt(D)
    return {join_heads(dparts, batch, time, heads), {}, {}, {}};
  }
};

}  // namespace

at::Tensor causal_attention(const at::Tensor& qkv, int64_t batch, int64_t time, int64_t heads) {
  return CausalAttention::apply(qkv, batch, time, heads);
}

at::Tensor causal_attention_reference(const at::Tensor& qkv, int64_t batch, int64_t time, int64_t heads) {
  const int64_t c = qkv.size(1) / 3, d = c / heads;
  const auto parts = qkv.view({batch, time, 3, heads, d}).unbind(2);  // [B, T, H, D] each
  const auto q = parts[0].transpose(1, 2), k = parts[1].transpose(1, 2), v = parts[2].transpose(1, 2);
  auto scores = at::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(d)));
  const auto future = at::ones({time, time}, qkv.options().dtype(at::kBool)).triu(1);
  scores = scores.masked_fill(future, -std::numeric_limits<double>::infinity());
  const auto y = at::matmul(at::softmax(scores, -1), v);  // [B, H, T, D]
  return y.transpose(1, 2).reshape({batch * time, c});
}

}  // namespace nosync::models
