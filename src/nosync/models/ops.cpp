// The fused ReLU + 2x2 max-pool kernel (channels-last, float / bfloat16) and its autograd node.
//
// Layout words: the input is N x H x W x C in memory (channels-last), the output N x OH x OW x C
// with OH = H / 2, OW = W / 2. For every output element the forward pass keeps `which`, a byte
// naming the window element the value came from (0..3, row-major) or kNone when the maximum
// was <= 0 and ReLU cut it: backward then writes grad_output to exactly that input element and
// zero to the three others, so every input gradient is written once and nothing is zero-filled.
#include "nosync/models/ops.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstring>

namespace nosync::models {

namespace {

constexpr uint8_t kNone = 4;

struct Dims {
  int64_t n, c, h, w, oh, ow;
};

Dims dims_of(const at::Tensor& x) {
  return {x.size(0), x.size(1), x.size(2), x.size(3), x.size(2) / 2, x.size(3) / 2};
}

template <typename T>
void forward_kernel(const T* x, T* y, uint8_t* which, const Dims& d) {
  at::parallel_for(0, d.n * d.oh, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {  // r = one output row (n, oh)
      const int64_t n = r / d.oh, oh = r % d.oh;
      const T* row0 = x + ((n * d.h + 2 * oh) * d.w) * d.c;
      const T* row1 = row0 + d.w * d.c;
      T* out = y + r * d.ow * d.c;
      uint8_t* k = which + r * d.ow * d.c;
      for (int64_t ow = 0; ow < d.ow; ++ow) {
        const T* a = row0 + 2 * ow * d.c;
        const T* b = a + d.c;
        const T* e = row1 + 2 * ow * d.c;
        const T* f = e + d.c;
        T* o = out + ow * d.c;
        uint8_t* ko = k + ow * d.c;
        for (int64_t c = 0; c < d.c; ++c) {
          // Same comparison as ATen's max_pool2d: a later element wins if larger or NaN.
          float m = static_cast<float>(a[c]);
          uint8_t i = 0;
          const float vb = static_cast<float>(b[c]), ve = static_cast<float>(e[c]), vf = static_cast<float>(f[c]);
          if (vb > m || vb != vb) { m = vb; i = 1; }
          if (ve > m || ve != ve) { m = ve; i = 2; }
          if (vf > m || vf != vf) { m = vf; i = 3; }
          if (!(m > 0) && m == m) { m = 0; i = kNone; }  // ReLU; NaN propagates like clamp_min
          o[c] = static_cast<T>(m);
          ko[c] = i;
        }
      }
    }
  });
}

template <typename T>
void backward_kernel(const T* gy, const uint8_t* which, T* gx, const Dims& d) {
  const T zero = static_cast<T>(0.0f);
  at::parallel_for(0, d.n * d.h, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {  // r = one input row (n, h)
      const int64_t n = r / d.h, h = r % d.h;
      T* row = gx + r * d.w * d.c;
      if (h >= 2 * d.oh) {  // odd height: the last row is outside every window
        std::fill(row, row + d.w * d.c, zero);
        continue;
      }
      const int64_t orow = n * d.oh + h / 2;
      const uint8_t base = static_cast<uint8_t>((h % 2) * 2);  // window elements of this row
      const T* g = gy + orow * d.ow * d.c;
      const uint8_t* k = which + orow * d.ow * d.c;
      for (int64_t ow = 0; ow < d.ow; ++ow) {
        T* left = row + 2 * ow * d.c;
        T* right = left + d.c;
        const T* go = g + ow * d.c;
        const uint8_t* ko = k + ow * d.c;
        for (int64_t c = 0; c < d.c; ++c) {
          left[c] = ko[c] == base ? go[c] : zero;
          right[c] = ko[c] == base + 1 ? go[c] : zero;
        }
      }
      if (d.w > 2 * d.ow) std::fill(row + 2 * d.ow * d.c, row + d.w * d.c, zero);  // odd width
    }
  });
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
    auto which = at::empty({d.n, d.c, d.oh, d.ow},
                           x.options().dtype(at::kByte).memory_format(at::MemoryFormat::ChannelsLast));
    if (x.scalar_type() == at::kFloat)
      forward_kernel(x.data_ptr<float>(), y.data_ptr<float>(), which.data_ptr<uint8_t>(), d);
    else
      forward_kernel(x.data_ptr<c10::BFloat16>(), y.data_ptr<c10::BFloat16>(), which.data_ptr<uint8_t>(), d);
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
    if (gy.scalar_type() == at::kFloat)
      backward_kernel(gy.data_ptr<float>(), which.data_ptr<uint8_t>(), gx.data_ptr<float>(), d);
    else
      backward_kernel(gy.data_ptr<c10::BFloat16>(), which.data_ptr<uint8_t>(), gx.data_ptr<c10::BFloat16>(), d);
    return {gx};
  }
};

}  // namespace

at::Tensor relu_max_pool2x2(const at::Tensor& x) {
  if (!fused_path(x)) return at::max_pool2d(at::relu(x), {2, 2});
  return ReluMaxPool2x2::apply(x);
}

}  // namespace nosync::models
