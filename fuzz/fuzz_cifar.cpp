// CIFAR-10 binary batches from arbitrary bytes.
#include <vector>

#include "fuzz_support.h"
#include "nosync/data/cifar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return nosync::fuzz::expect_result_or_user_error([&] {
    const auto ds = nosync::data::parse_cifar10(std::vector<uint8_t>(data, data + size), "fuzz");
    if (ds.size() * 3073 != static_cast<int64_t>(size)) std::abort();  // every record accounted for
  });
}
