#include "nosync/util/memory.h"

#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace nosync::util {

void copy_floats(float* dst, const float* src, int64_t n) {
  if (n <= 0) return;
  const auto bytes = static_cast<size_t>(n) * sizeof(float);
#if defined(__x86_64__)
  if (static_cast<int64_t>(bytes) >= kStreamingCopyBytes) {
    int64_t i = 0;
    // Head: plain stores up to a 64-byte boundary of dst (whole cache lines from then on).
    while (i < n && (reinterpret_cast<uintptr_t>(dst + i) & 63) != 0) {
      dst[i] = src[i];
      ++i;
    }
    for (; i + 16 <= n; i += 16) {  // one cache line per iteration, SSE2 (every x86-64 CPU)
      _mm_stream_ps(dst + i, _mm_loadu_ps(src + i));
      _mm_stream_ps(dst + i + 4, _mm_loadu_ps(src + i + 4));
      _mm_stream_ps(dst + i + 8, _mm_loadu_ps(src + i + 8));
      _mm_stream_ps(dst + i + 12, _mm_loadu_ps(src + i + 12));
    }
    for (; i < n; ++i) dst[i] = src[i];
    _mm_sfence();  // streaming stores are weakly ordered: visible before the lock that publishes them
    return;
  }
#endif
  std::memcpy(dst, src, bytes);
}

}  // namespace nosync::util
