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

}  // namespace nosync::models
