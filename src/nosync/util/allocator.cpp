// glibc malloc tuning (see allocator.h for why).
#include "nosync/util/allocator.h"

#include <malloc.h>

#include <climits>

namespace nosync::util {

bool keep_freed_memory() {
  // mallopt returns 1 on success. M_TRIM_THRESHOLD takes an int: INT_MAX (2 GiB of free memory
  // at the top of the heap before trimming) is "never" for the heaps a training step makes.
  const bool no_mmap = mallopt(M_MMAP_MAX, 0) == 1;
  const bool no_trim = mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
  // Threads' own arenas are heaps of at most 64 MB that glibc unmaps as soon as they are empty,
  // whatever the trim threshold: one arena for all keeps particles' memory too.
  const bool one_arena = mallopt(M_ARENA_MAX, 1) == 1;
  return no_mmap && no_trim && one_arena;
}

}  // namespace nosync::util
