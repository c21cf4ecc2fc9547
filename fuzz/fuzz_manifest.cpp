// A checkpoint's manifest.json from arbitrary text.
#include <string>

#include "fuzz_support.h"
#include "nosync/train/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return nosync::fuzz::expect_result_or_user_error([&] {
    const auto files = nosync::train::parse_manifest(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    for (const auto& [name, entry] : files)
      if (name.empty() || name.find('/') != std::string::npos) std::abort();  // never a path outside the directory
  });
}
