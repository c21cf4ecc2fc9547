// CIFAR-10 binary batches: records of 1 label byte + 3072 image bytes (3 x 32 x 32, planar).
// Training set: data_batch_1.bin .. data_batch_5.bin; test set: test_batch.bin.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nosync/data/dataset.h"

namespace nosync::data {

constexpr int64_t kCifarRecordBytes = 1 + 3 * 32 * 32;

Dataset parse_cifar10(const std::vector<uint8_t>& bytes, const std::string& source);
// train = the five data batches concatenated; otherwise test_batch.bin.
Dataset read_cifar10(const std::string& dir, bool train);

}  // namespace nosync::data
