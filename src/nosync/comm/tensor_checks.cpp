// Checks of the tensors handed to a transport (see tensor_checks.h).
#include "nosync/comm/tensor_checks.h"

#include <fmt/format.h>

#include "nosync/util/error.h"

namespace nosync::comm {

// A problem as text rather than a throw: the local board's allreduce_sum records it and reports
// it from every particle at once, after its second barrier.
std::string float_buffer_problem(const torch::Tensor& t) {
  if (!t.defined()) return "undefined tensor";
  if (t.scalar_type() != torch::kFloat) return fmt::format("dtype {}, expected float", std::string(c10::toString(t.scalar_type())));
  if (!t.device().is_cpu()) return fmt::format("device {}, expected cpu", t.device().str());
  if (!t.is_contiguous()) return "not contiguous";
  return {};
}

void check_float_buffer(const torch::Tensor& t, const char* what) {
  const std::string problem = float_buffer_problem(t);
  NOSYNC_CHECK(problem.empty(), "{}: {}", what, problem);
}

void check_snapshot_tensor(const torch::Tensor& t, int64_t numel, const char* what, const char* holder) {
  check_float_buffer(t, what);
  NOSYNC_CHECK(t.numel() == numel, "{}: {} floats, the {} holds {}", what, t.numel(), holder, numel);
}

}  // namespace nosync::comm
