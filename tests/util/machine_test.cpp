// util::blas_info: which BLAS float32 matrix products run on, and that particles can share it.
#include "nosync/util/machine.h"

#include <omp.h>
#include <torch/torch.h>

#include <filesystem>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace nosync::util {
namespace {

TEST(Blas, ClassifiesTheDebianAlternatives) {
  const auto reference = classify_blas("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3", -1);
  EXPECT_EQ(reference.name, "reference BLAS");
  EXPECT_TRUE(reference.reference);
  EXPECT_NE(reference.advice.find("install libopenblas0-openmp"), std::string::npos) << reference.advice;
  EXPECT_NE(reference.advice.find("/blas/libblas.so.3"), std::string::npos) << "the advice names the file";

  const auto openmp = classify_blas("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3", 2);
  EXPECT_EQ(openmp.name, "OpenBLAS (openmp)");
  EXPECT_FALSE(openmp.reference);
  EXPECT_TRUE(openmp.advice.empty()) << openmp.advice;

  const auto pthreads = classify_blas("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3", 1);
  EXPECT_EQ(pthreads.name, "OpenBLAS (pthreads)");
  EXPECT_NE(pthreads.advice.find("update-alternatives"), std::string::npos) << pthreads.advice;

  EXPECT_EQ(classify_blas("/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3", -1).name, "BLIS");
  EXPECT_EQ(classify_blas("", -1).name, "none loaded");
}

// scripts/install-deps.sh installs libopenblas0-openmp: a machine set up by it must not run
// float32 matrix products on the reference BLAS (10x slower) or on OpenBLAS's own thread pool.
TEST(Blas, ThisProcessUsesAnOptimizedOpenMpBlas) {
  torch::mm(torch::ones({2, 2}), torch::ones({2, 2}));  // ATen's BLAS is linked; make sure it ran
  const BlasInfo& blas = blas_info();
  ASSERT_FALSE(blas.path.empty()) << "no library defines sgemm_";
  EXPECT_TRUE(std::filesystem::exists(blas.path)) << blas.path;
  EXPECT_FALSE(blas.reference) << blas.advice;
  EXPECT_TRUE(blas.advice.empty()) << blas.advice;
}

// Particles are threads of one process, each with its own OpenMP thread count: concurrent float32
// matrix products from them must give exactly what one thread computes alone.
TEST(Blas, ConcurrentProductsFromParticleThreadsMatchASingleThread) {
  torch::manual_seed(7);
  const auto a = torch::randn({192, 3136});
  const auto b = torch::randn({3136, 128});
  torch::Tensor expected;
  std::thread([&] {
    omp_set_num_threads(1);
    expected = torch::mm(a, b);
  }).join();
  const int workers = 3;
  std::vector<int> mismatches(workers, 0);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&, w] {
      omp_set_num_threads(1);
      for (int i = 0; i < 40; ++i) mismatches[w] += torch::equal(torch::mm(a, b), expected) ? 0 : 1;
    });
  for (auto& t : threads) t.join();
  for (int w = 0; w < workers; ++w) EXPECT_EQ(mismatches[w], 0) << "thread " << w;
}

TEST(Threads, EachWorkerGetsItsShareOfTheCoresAtMost) {
  const int64_t cores = cpu_info().cores;
  EXPECT_EQ(share_threads(0, 1).threads, cores);  // 0: all cores for one worker
  EXPECT_EQ(share_threads(0, 2 * cores).threads, 1);
  EXPECT_TRUE(share_threads(0, 2 * cores).warning.empty());
  EXPECT_EQ(share_threads(1, 4 * cores).threads, 1);  // 4x oversubscribed by particles: cannot go lower
  EXPECT_TRUE(share_threads(1, 4 * cores).warning.empty());
  EXPECT_EQ(share_threads(cores, 1).threads, cores);
  EXPECT_TRUE(share_threads(cores, 1).warning.empty());

  const ThreadShare many = share_threads(1024, 4);
  EXPECT_EQ(many.threads, std::max<int64_t>(1, cores / 4));
  EXPECT_NE(many.warning.find("train.threads = 1024 for each of 4 worker(s) oversubscribes the"), std::string::npos)
      << many.warning;
  EXPECT_EQ(share_threads(cores + 1, 1).threads, cores);
  EXPECT_FALSE(share_threads(cores + 1, 1).warning.empty());
}

}  // namespace
}  // namespace nosync::util
