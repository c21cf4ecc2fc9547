#include "nosync/util/memory.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace nosync::util {
namespace {

// Every element arrives, none beyond n is written, for sizes below and above the streaming
// threshold and for destinations at every float offset within a cache line.
TEST(CopyFloats, ExactForAllSizesAndAlignments) {
  const int64_t big = kStreamingCopyBytes / static_cast<int64_t>(sizeof(float)) + 37;
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{15}, int64_t{16}, int64_t{1000}, big}) {
    std::vector<float> src(n + 32);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i) * 0.5f + 1.0f;
    for (int offset : {0, 1, 3, 15}) {
      std::vector<float> dst(n + 64, -7.0f);
      copy_floats(dst.data() + offset, src.data() + 1, n);
      for (int64_t i = 0; i < offset; ++i) ASSERT_EQ(dst[i], -7.0f) << "n=" << n << " offset=" << offset;
      ASSERT_EQ(std::memcmp(dst.data() + offset, src.data() + 1, n * sizeof(float)), 0)
          << "n=" << n << " offset=" << offset;
      for (size_t i = offset + n; i < dst.size(); ++i) ASSERT_EQ(dst[i], -7.0f) << "n=" << n << " offset=" << offset;
    }
  }
}

}  // namespace
}  // namespace nosync::util
