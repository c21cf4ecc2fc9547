// A small synthetic image classification set for tests: each class has a random prototype
// image; samples are prototype + noise, quantised to uint8. Deterministic in its seed.
#pragma once

#include "nosync/data/dataset.h"

namespace nosync::data {

struct SyntheticSets {
  Dataset train;
  Dataset test;
};

SyntheticSets make_synthetic(int64_t train_size, int64_t test_size, int64_t num_classes,
                             int64_t image_size, uint64_t seed);

}  // namespace nosync::data
