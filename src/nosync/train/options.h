// Options of one worker's training loop (the [train] and [checkpoint] config sections).
#pragma once

#include <cstdint>
#include <string>

namespace nosync::train {

struct TrainOptions {
  std::string optimizer = "sgd";  // sgd | adamw
  double lr = 0.05;
  double momentum = 0.9;          // sgd
  bool nesterov = false;          // sgd
  double weight_decay = 5e-4;     // sgd: L2 added to the gradient; adamw: decoupled
  double beta1 = 0.9;             // adamw
  double beta2 = 0.999;           // adamw
  double eps = 1e-8;              // adamw
  std::string schedule = "cosine";  // constant | step | cosine
  int64_t warmup_steps = 0;       // linear warm-up from lr/warmup_steps to lr
  int64_t lr_step_every = 1000;   // schedule = step: multiply by lr_gamma every this many steps
  double lr_gamma = 0.1;
  double min_lr = 0.0;            // schedule = cosine: final learning rate
  int64_t batch_size = 64;
  int64_t epochs = 5;
  int64_t steps = 0;              // > 0: train this many steps, ignoring epochs
  int64_t eval_every = 0;         // evaluate every N steps; 0 = at the end of every epoch
  int64_t log_every = 100;        // a metrics record every N steps
  int64_t seed = 0;
  int64_t threads = 0;            // intra-op threads; 0 = all cores
  std::string precision = "auto";  // auto (bf16 where the CPU has AVX512-BF16) | fp32 | bf16
  bool channels_last = true;      // conv models: NHWC weights and activations
  int64_t prefetch = 0;           // batches prepared ahead by a background thread (0 = none)
  double peak_gflops = 0;         // peak GFLOP/s of one core at `precision`; 0 = from CPU flags and clock
};

struct CheckpointOptions {
  int64_t every = 0;  // steps between checkpoints; 0 = at the end of every epoch
  int64_t keep = 2;   // newest checkpoints kept; 0 = all
  int64_t keep_best = 0;  // ... and besides them the K with the lowest validation loss (state.json "val_loss")
};

}  // namespace nosync::train
