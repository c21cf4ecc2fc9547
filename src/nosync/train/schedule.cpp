#include "nosync/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace nosync::train {

double learning_rate(const TrainOptions& o, int64_t step, int64_t total_steps) {
  if (o.warmup_steps > 0 && step < o.warmup_steps)
    return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup_steps);
  if (o.schedule == "step") {
    const int64_t drops = o.lr_step_every > 0 ? step / o.lr_step_every : 0;
    return o.lr * std::pow(o.lr_gamma, static_cast<double>(drops));
  }
  if (o.schedule == "cosine") {
    // Cosine from lr (end of warm-up) to min_lr (last step).
    const int64_t span = std::max<int64_t>(1, total_steps - 1 - o.warmup_steps);
    const double progress = std::clamp(static_cast<double>(step - o.warmup_steps) / span, 0.0, 1.0);
    return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1.0 + std::cos(M_PI * progress));
  }
  return o.lr;  // constant
}

}  // namespace nosync::train
