// CIFAR-10 binary batches.
#include "nosync/data/cifar.h"

#include <cstring>
#include <filesystem>

#include "nosync/data/idx.h"
#include "nosync/util/error.h"

namespace nosync::data {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kCifarImageBytes = kCifarRecordBytes - 1;
constexpr const char* kCifarHint = "download the CIFAR-10 binary version and set data.dir";

// Copies the records of one batch file into images/labels starting at row `row`.
void copy_records(const std::vector<uint8_t>& bytes, const std::string& source, uint8_t* images, int64_t* labels) {
  const int64_t n = static_cast<int64_t>(bytes.size()) / kCifarRecordBytes;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* rec = bytes.data() + i * kCifarRecordBytes;
    if (rec[0] > 9) {
      throw UserError(fmt::format("{}: label {} of record {} (byte offset {}) is out of range: expected 0..9", source,
                                  rec[0], i, i * kCifarRecordBytes),
                      "the file is corrupt or not a CIFAR-10 binary batch (CIFAR-100 has 2 label bytes); "
                      "re-download the CIFAR-10 binary version");
    }
    labels[i] = rec[0];
    std::memcpy(images + i * kCifarImageBytes, rec + 1, kCifarImageBytes);
  }
}

void check_size(const std::vector<uint8_t>& bytes, const std::string& source) {
  const int64_t size = static_cast<int64_t>(bytes.size());
  if (size == 0) {
    throw UserError(fmt::format("{}: empty file: expected CIFAR-10 records of {} bytes (1 label + 3x32x32 pixels), "
                                "found 0 bytes",
                                source, kCifarRecordBytes),
                    "the file was not fully downloaded or extracted; re-download the CIFAR-10 binary version");
  }
  if (size % kCifarRecordBytes != 0) {
    const int64_t full = size / kCifarRecordBytes;
    throw UserError(fmt::format("{}: size {} bytes is not a multiple of the {}-byte CIFAR-10 record: incomplete "
                                "record {} at byte offset {} has {} of {} bytes",
                                source, size, kCifarRecordBytes, full, full * kCifarRecordBytes,
                                size - full * kCifarRecordBytes, kCifarRecordBytes),
                    "the file is truncated or not a CIFAR-10 binary batch; re-download the CIFAR-10 binary version");
  }
}

std::string find_cifar_file(const std::string& dir, const std::string& name) {
  std::error_code ec;
  for (const std::string& candidate : {(fs::path(dir) / name).string(), (fs::path(dir) / name).string() + ".gz",
                                       (fs::path(dir) / "cifar-10-batches-bin" / name).string()}) {
    if (fs::exists(candidate, ec)) return candidate;
  }
  throw UserError(fmt::format("{}: file not found (data.format = cifar10)", (fs::path(dir) / name).string()),
                  kCifarHint);
}

}  // namespace

Dataset parse_cifar10(const std::vector<uint8_t>& bytes, const std::string& source) {
  check_size(bytes, source);
  const int64_t n = static_cast<int64_t>(bytes.size()) / kCifarRecordBytes;
  Dataset ds;
  ds.inputs = torch::empty({n, 3, 32, 32}, torch::kUInt8);
  ds.labels = torch::empty({n}, torch::kInt64);
  copy_records(bytes, source, ds.inputs.data_ptr<uint8_t>(), ds.labels.data_ptr<int64_t>());
  ds.num_classes = 10;
  ds.source = source;
  return ds;
}

Dataset read_cifar10(const std::string& dir, bool train) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw UserError(fmt::format("data directory {} not found or not a directory (data.dir, data.format = cifar10)", dir),
                    kCifarHint);
  }
  std::vector<std::string> names;
  if (train) {
    for (int i = 1; i <= 5; ++i) names.push_back(fmt::format("data_batch_{}.bin", i));
  } else {
    names.push_back("test_batch.bin");
  }
  std::vector<std::string> paths;
  std::vector<std::vector<uint8_t>> files;
  int64_t total = 0;
  for (const auto& name : names) {
    paths.push_back(find_cifar_file(dir, name));
    files.push_back(read_file_maybe_gzip(paths.back()));
    check_size(files.back(), paths.back());
    total += static_cast<int64_t>(files.back().size()) / kCifarRecordBytes;
  }
  Dataset ds;
  ds.inputs = torch::empty({total, 3, 32, 32}, torch::kUInt8);
  ds.labels = torch::empty({total}, torch::kInt64);
  int64_t row = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    copy_records(files[f], paths[f], ds.inputs.data_ptr<uint8_t>() + row * kCifarImageBytes,
                 ds.labels.data_ptr<int64_t>() + row);
    row += static_cast<int64_t>(files[f].size()) / kCifarRecordBytes;
    std::vector<uint8_t>().swap(files[f]);  // free as we go
  }
  ds.num_classes = 10;
  ds.source = train ? (fs::path(paths.front()).parent_path() / "data_batch_{1..5}.bin").string() : paths.front();
  return ds;
}

}  // namespace nosync::data
