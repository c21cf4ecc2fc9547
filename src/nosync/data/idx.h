// IDX files (the MNIST family: MNIST, Fashion-MNIST, KMNIST, EMNIST), gzip-compressed or raw.
//
// Format: 2 zero bytes, a type byte (0x08 = unsigned byte), a dimension count d, then d
// big-endian uint32 sizes, then the data. Images have d = 3 (N, H, W), labels d = 1 (N).
// Parsers work on a memory buffer so that they can be fuzzed; `source` only names it in errors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nosync/data/dataset.h"

namespace nosync::data {

// Whole file, gunzipped when it starts with the gzip magic. Missing/unreadable/corrupt gzip:
// UserError naming the file.
std::vector<uint8_t> read_file_maybe_gzip(const std::string& path);
// `bytes` gunzipped when they start with the gzip magic, else unchanged; corrupt gzip: UserError.
std::vector<uint8_t> decode_maybe_gzip(std::vector<uint8_t> bytes, const std::string& source);

torch::Tensor parse_idx_images(const std::vector<uint8_t>& bytes, const std::string& source);  // uint8 [N,1,H,W]
// Labels are bytes: at most 256 classes.
constexpr int64_t kMaxIdxClasses = 256;
torch::Tensor parse_idx_labels(const std::vector<uint8_t>& bytes, const std::string& source,
                               int64_t num_classes);  // int64 [N], each checked < num_classes

// Reads "<prefix>-images-idx3-ubyte[.gz]" and "<prefix>-labels-idx1-ubyte[.gz]" from `dir`
// (prefix "train" or "t10k"), checking that the counts match. num_classes is the largest label + 1
// (load_splits makes the training and test splits agree).
Dataset read_idx_split(const std::string& dir, const std::string& prefix);

}  // namespace nosync::data
