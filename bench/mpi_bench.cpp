// MPI transport benchmark; run under mpirun (bench/run_mpi_bench.sh runs it over shared memory and
// TCP). Measures, side by side in one job:
//   1. training-thread cost of one exchange (stage + publish_staged around a fitness evaluation, or
//      a plain publish; + headers + fetch_shared of the attractor) for a 1.7 MB and a 16 MB model,
//      while the attractor's new versions arrive in the background;
//   2. delivery latency: publish on rank 0 to the snapshot readable (fetched) on the others;
//   3. fast ranks' steps/s with one rank 10x slower that is everybody's attractor, relative to
//      the same job without the slow rank's delay;
//   4. allreduce_sum bandwidth of one flat buffer (the sync baseline's gradient all-reduce).
//   5. the snapshot copy publish() makes: util::copy_floats (streaming stores above 4 MB) vs
//      memcpy, every rank copying at once as in an exchange.
// "Training" is a sleep, so the numbers isolate what the transport costs the training thread.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <torch/torch.h>

#include "nosync/comm/mpi_transport.h"
#include "nosync/util/memory.h"

namespace {

using nosync::comm::Header;
using nosync::comm::MpiTransport;
using Clock = std::chrono::steady_clock;

double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / v.size();
}

// Reduces a per-rank value to its maximum on rank 0 (through the transport's collective).
double max_over_ranks(MpiTransport& t, double v) {
  torch::Tensor x = torch::zeros({t.particles()});
  x[t.particle()] = static_cast<float>(v);
  t.allreduce_sum(x);
  return x.max().item<double>();
}

// 1. Every rank publishes each exchange; all fetch particle 0 (rank 0 fetches particle 1). Two
// forms in alternating exchanges of one job:
//  - staged (what a NoSync worker does): stage(x), evaluate the fitness of x, publish_staged,
//    headers, fetch_shared. The snapshot copy runs on the communication thread during the
//    evaluation; the cost is the training thread's time in the transport calls only;
//  - plain: publish(x) (one copy on the training thread), headers, fetch_shared.
// The "fitness evaluation" is fitness_ms of busy work reading x, as a real one reads every
// weight (the real one is longer: 512 validation samples through the model).
void exchange_cost(int64_t numel, int exchanges, double step_s, double fitness_ms) {
  MpiTransport t(MPI_COMM_WORLD, numel);
  torch::Tensor x = torch::randn({numel}), a = torch::empty({numel});
  const int target = t.particle() == 0 ? 1 : 0;
  std::vector<double> staged_ms, staged_wait_ms, plain_ms, plain_publish_ms, staged_view_ms;
  double sink = 0;
  for (int e = 1; e <= 2 * exchanges; ++e) {
    std::this_thread::sleep_for(std::chrono::duration<double>(step_s));  // tau training steps
    x.add_(1e-3);  // the last optimizer step writes every weight right before an exchange
    const bool staged = e % 2 == 0;
    double cost = 0, wait = 0;
    if (staged) {
      double t0 = now_s();
      t.stage(x);
      cost += now_s() - t0;
      const double eval_end = now_s() + fitness_ms / 1e3;
      while (now_s() < eval_end) sink += x.sum().item<double>();  // reads x, as an evaluation does
      t0 = now_s();
      t.publish_staged(1.0, e);
      wait = now_s() - t0;
      cost += wait;
    } else {
      const double t0 = now_s();
      t.publish(x, 1.0, e);
      wait = now_s() - t0;
      cost += wait;
    }
    const double t1 = now_s();
    t.headers();
    t.fetch_shared(target, x, a);  // what the worker does: the received snapshot, no copy
    cost += now_s() - t1;
    if (e > 4) {  // the first fetches wait for the first transfer
      if (staged) staged_view_ms.push_back(1e3 * (now_s() - t1));
      (staged ? staged_ms : plain_ms).push_back(1e3 * cost);
      (staged ? staged_wait_ms : plain_publish_ms).push_back(1e3 * wait);
    }
  }
  const double staged_worst = max_over_ranks(t, median(staged_ms)), plain_worst = max_over_ranks(t, median(plain_ms));
  const double staged_wait = max_over_ranks(t, median(staged_wait_ms));
  const double staged_view = max_over_ranks(t, median(staged_view_ms));
  const double plain_pub = max_over_ranks(t, median(plain_publish_ms));
  const double staged_mean = max_over_ranks(t, mean(staged_ms)), plain_mean = max_over_ranks(t, mean(plain_ms));
  const auto stats = t.stats();
  const double received = max_over_ranks(t, static_cast<double>(stats.weights_received) / (2 * exchanges));
  t.close();
  if (t.particle() == 0)
    std::printf("exchange cost  %6.1f MB: staged median %.3f ms (publish_staged wait %.3f, headers+fetch %.3f; fitness %.0f ms) vs "
                "plain publish %.3f ms (publish %.3f) = %.2fx; means %.3f vs %.3f ms; snapshots received per "
                "exchange <= %.2f  [worst rank]%s\n",
                numel * 4 / 1e6, staged_worst, staged_wait, staged_view, fitness_ms, plain_worst, plain_pub,
                staged_worst / plain_worst, staged_mean, plain_mean, received, sink == 42 ? " " : "");
}

// 2. Rank 0 publishes with its clock in the fitness field; the others poll headers and fetch.
void delivery_latency(int64_t numel, int rounds) {
  MpiTransport t(MPI_COMM_WORLD, numel);
  torch::Tensor x = torch::randn({numel}), a = torch::empty({numel});
  std::vector<double> lat_ms;
  for (int r = 1; r <= rounds; ++r) {
    t.barrier();
    if (t.particle() == 0) {
      t.publish(x, now_s(), r);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // busy "training", no MPI
    } else {
      // fetch returns the newest snapshot that has arrived: poll until it is version r.
      Header h;
      while ((h = t.fetch(0, a)).version < static_cast<uint64_t>(r))
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      lat_ms.push_back(1e3 * (now_s() - h.fitness));
    }
  }
  const double worst = max_over_ranks(t, median(lat_ms));
  t.close();
  if (t.particle() == 0)
    std::printf("delivery       %6.1f MB: publish on rank 0 -> fetched on every other rank, median %.2f ms "
                "[worst rank]\n",
                numel * 4 / 1e6, worst);
}

// 3. Steps of step_s each, exchange every tau steps (nosync gbest: all fetch the last rank, which
// has the best fitness). With `slow`, the last rank's steps take 10x as long.
double fast_steps_per_s(int64_t numel, bool slow, double step_s, int tau, double duration_s) {
  MpiTransport t(MPI_COMM_WORLD, numel);
  const int last = t.particles() - 1;
  const bool me_slow = slow && t.particle() == last;
  torch::Tensor x = torch::randn({numel}), a = torch::empty({numel});
  t.barrier();
  const double start = now_s();
  int64_t steps = 0;
  while (now_s() - start < duration_s) {
    std::this_thread::sleep_for(std::chrono::duration<double>(me_slow ? 10 * step_s : step_s));
    ++steps;
    if (steps % tau == 0) {
      t.publish(x, t.particle() == last ? 0.0 : 1.0 + t.particle(), steps);
      const auto hs = t.headers();
      if (t.particle() != last && hs[last].valid()) t.fetch(last, a);
    }
  }
  const double rate = steps / (now_s() - start);
  // Mean steps/s of the fast ranks (all but the last).
  torch::Tensor r = torch::zeros({t.particles()});
  if (t.particle() != last) r[t.particle()] = static_cast<float>(rate);
  t.allreduce_sum(r);
  t.close();
  return r.sum().item<double>() / std::max(1, t.particles() - 1);
}

void allreduce_bandwidth(int64_t numel, int calls) {
  MpiTransport t(MPI_COMM_WORLD, 0);
  torch::Tensor g = torch::randn({numel});
  t.allreduce_sum(g);  // warm-up
  t.barrier();
  const double t0 = now_s();
  for (int i = 0; i < calls; ++i) t.allreduce_sum(g);
  const double per_call = (now_s() - t0) / calls;
  const double worst = max_over_ranks(t, per_call);
  const int rank = t.particle();
  t.close();
  // The same sum with a plain blocking MPI_Allreduce on this thread (no transport alive), as a
  // reference measured beside it.
  MPI_Barrier(MPI_COMM_WORLD);
  const double r0 = now_s();
  for (int i = 0; i < calls; ++i)
    MPI_Allreduce(MPI_IN_PLACE, g.data_ptr<float>(), static_cast<int>(numel), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  double raw = (now_s() - r0) / calls;
  MPI_Allreduce(MPI_IN_PLACE, &raw, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0)
    std::printf("allreduce      %6.1f MB: %.2f ms per call, %.2f GB/s algorithm bandwidth (bytes / time); "
                "plain blocking MPI_Allreduce %.2f ms\n",
                numel * 4 / 1e6, 1e3 * worst, numel * 4 / worst / 1e9, 1e3 * raw);
}

}  // namespace

// 5. publish()'s copy, streaming vs memcpy, into a pre-faulted snapshot buffer.
void snapshot_copy(int64_t numel, int rounds) {
  MpiTransport t(MPI_COMM_WORLD, 1);
  torch::Tensor src = torch::randn({numel}), dst = torch::zeros({numel});
  std::vector<double> plain_ms, stream_ms;
  for (int r = 0; r < rounds; ++r) {
    src.add_(1e-3);  // the optimizer step before an exchange leaves the weights hot in cache
    double t0 = now_s();
    std::memcpy(dst.data_ptr<float>(), src.data_ptr<float>(), numel * sizeof(float));
    plain_ms.push_back(1e3 * (now_s() - t0));
    src.add_(1e-3);
    t0 = now_s();
    nosync::util::copy_floats(dst.data_ptr<float>(), src.data_ptr<float>(), numel);
    stream_ms.push_back(1e3 * (now_s() - t0));
  }
  const double plain = max_over_ranks(t, median(plain_ms)), stream = max_over_ranks(t, median(stream_ms));
  t.close();
  if (t.particle() == 0)
    std::printf("snapshot copy  %6.1f MB: copy_floats %.3f ms vs memcpy %.3f ms = %.2fx  [worst rank]\n",
                numel * 4 / 1e6, stream, plain, stream / plain);
}

int main(int argc, char** argv) {
  nosync::comm::MpiScope mpi(&argc, &argv);
  const std::string label = argc > 1 ? argv[1] : "";
  torch::set_num_threads(1);
  const int64_t small = 425000, large = 4 << 20;  // 1.7 MB and 16.8 MB of floats
  if (mpi.rank() == 0) std::printf("== %s, %d ranks ==\n", label.c_str(), mpi.size());
  exchange_cost(small, 40, 0.05, 2.0);
  exchange_cost(large, 40, 0.05, 2.0);
  snapshot_copy(small, 30);
  snapshot_copy(large, 30);
  delivery_latency(small, 10);
  delivery_latency(large, 10);
  for (int64_t numel : {small, large}) {
    const double base = fast_steps_per_s(numel, false, 0.005, 10, 6.0);
    const double with_slow = fast_steps_per_s(numel, true, 0.005, 10, 6.0);
    if (mpi.rank() == 0)
      std::printf("straggler      %6.1f MB: fast ranks %.1f steps/s alone, %.1f beside a 10x slower attractor "
                  "rank: %.3fx\n",
                  numel * 4 / 1e6, base, with_slow, with_slow / base);
  }
  allreduce_bandwidth(small, 50);
  allreduce_bandwidth(large, 10);
  return 0;
}
