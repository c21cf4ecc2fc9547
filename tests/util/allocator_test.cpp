// util::keep_freed_memory: large allocations stop being separate mappings.
#include "nosync/util/allocator.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

namespace nosync::util {
namespace {

TEST(KeepFreedMemory, LargeAllocationsComeFromTheHeapAndStayReusable) {
  ASSERT_TRUE(keep_freed_memory());
  const size_t bytes = size_t{64} << 20;  // above glibc's largest mmap threshold (32 MB)
  const size_t mapped_before = mallinfo2().hblkhd;
  // volatile: the compiler may otherwise drop a malloc/free pair whose memory is never read.
  char* volatile p = static_cast<char*>(std::malloc(bytes));
  ASSERT_NE(p, nullptr);
  std::memset(p, 1, bytes);
  EXPECT_EQ(p[bytes - 1], 1);
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before) << "a 64 MB block was still served by its own mmap";
  const size_t heap = mallinfo2().arena;
  std::free(p);
  EXPECT_GE(mallinfo2().arena, heap) << "the heap was trimmed after the free";
  char* volatile q = static_cast<char*>(std::malloc(bytes));  // served from the kept memory
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(mallinfo2().arena, heap);
  std::free(q);
}

}  // namespace
}  // namespace nosync::util
