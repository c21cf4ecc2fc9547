// IDX images and labels, raw or gzip, from arbitrary bytes. The first byte picks the parser.
#include <vector>

#include "fuzz_support.h"
#include "nosync/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool labels = data[0] & 1;
  return nosync::fuzz::expect_result_or_user_error([&] {
    const auto bytes = nosync::data::decode_maybe_gzip(std::vector<uint8_t>(data + 1, data + size), "fuzz");
    if (labels) {
      const auto t = nosync::data::parse_idx_labels(bytes, "fuzz", 10);
      if (t.numel() > 0 && (t.min().item<int64_t>() < 0 || t.max().item<int64_t>() >= 10)) std::abort();
    } else {
      const auto t = nosync::data::parse_idx_images(bytes, "fuzz");
      if (t.dim() != 4 || t.size(1) != 1) std::abort();
    }
  });
}
