#include "nosync/data/paths.h"

#include <filesystem>

#include "nosync/util/error.h"

namespace nosync::data {

namespace fs = std::filesystem;

namespace {

bool is_default_dir(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return fs::path(dir).lexically_normal() == fs::path(kDefaultDataDir).lexically_normal();
}

}  // namespace

std::string missing_data_hint(const std::string& dir, const std::string& format) {
  if (is_default_dir(dir)) return "install it: apt-get install dataset-fashion-mnist, or set data.dir";
  if (format == "cifar10") return "download the CIFAR-10 binary version and set data.dir";
  if (format == "idx") {
    return "set data.dir to a directory holding train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
           "t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]";
  }
  return "check the path and data.dir";
}

void check_data_dir(const std::string& dir, const std::string& format) {
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (!fs::exists(status)) {
    throw UserError(fmt::format("data directory {} not found (data.dir, data.format = {})", dir, format),
                    missing_data_hint(dir, format));
  }
  if (!fs::is_directory(status)) {
    throw UserError(fmt::format("data.dir = {}: expected a directory, found a file", dir),
                    "set data.dir to the directory that holds the data set files");
  }
}

std::string find_data_file(const std::string& dir, const std::string& name) {
  const std::string base = (fs::path(dir) / name).string();
  std::error_code ec;
  if (fs::exists(base + ".gz", ec)) return base + ".gz";
  if (fs::exists(base, ec)) return base;
  throw UserError(fmt::format("{}.gz: file not found (nor {} without .gz)", base, name),
                  missing_data_hint(dir, "idx"));
}

}  // namespace nosync::data
