// Process-wide settings of the C library's memory allocator for training processes.
#pragma once

namespace nosync::util {

// Makes glibc malloc keep freed memory for reuse instead of handing it back to the kernel: no
// allocation is served by its own mmap (M_MMAP_MAX = 0), the heap is never trimmed
// (M_TRIM_THRESHOLD at its maximum), and every thread allocates from the one main heap
// (M_ARENA_MAX = 1: a thread's own arena is a heap of at most 64 MB that glibc unmaps as soon as
// it is empty, whatever the trim threshold, so particles running as threads paid the same page
// faults: a 2-particle swarm trained at 3,600 samples/s with separate arenas, 8,800 with one).
//
// Why: by default every allocation above the mmap threshold (dynamic, at most 32 MB) is a fresh
// mapping whose pages are zeroed by the kernel on first touch and unmapped on free. Evaluation
// batches of 1,000 samples allocate ~50 MB per convolution output, so every batch paid ~12,000
// page faults, and page faults are slow in virtual machines: a 1-step `nosync train` (start-up
// and the final evaluations) took 16 s, 11 s of it in the kernel, and 5-7 s with this setting.
// PyTorch in Python suffers the same way here (1.9-4.8x slower training steps without it, see
// docs/performance.md). The cost: the process keeps its peak heap (peak RSS +5-15 % measured).
// Call it first thing in main(), before other threads start; returns false when glibc refused.
bool keep_freed_memory();

}  // namespace nosync::util
