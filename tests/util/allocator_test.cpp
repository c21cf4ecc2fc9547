// util::keep_freed_memory: large allocations stop being separate mappings.
#include "nosync/util/allocator.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <thread>

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

// A thread's allocations reuse the memory the main heap keeps, instead of growing an arena of
// the thread's own (which glibc unmaps again as soon as it is empty).
TEST(KeepFreedMemory, ThreadsReuseTheMainHeap) {
  ASSERT_TRUE(keep_freed_memory());
  char* volatile kept = static_cast<char*>(std::malloc(size_t{48} << 20));  // leaves >= 48 MB free
  ASSERT_NE(kept, nullptr);
  std::memset(kept, 1, size_t{48} << 20);
  std::free(kept);
  long grew = -1;
  std::thread t([&] {
    const long before = static_cast<long>(mallinfo2().arena);  // heap memory of every arena
    char* volatile p = static_cast<char*>(std::malloc(size_t{40} << 20));
    ASSERT_NE(p, nullptr);
    std::memset(p, 1, size_t{40} << 20);
    grew = static_cast<long>(mallinfo2().arena) - before;
    std::free(p);
  });
  t.join();
  EXPECT_EQ(grew, 0) << "a thread's 40 MB block grew the heaps by " << grew << " bytes instead of reusing kept memory";
}

}  // namespace
}  // namespace nosync::util
