// DiLoCo's outer step against its closed form: two workers on the local board, weights set by
// hand, two rounds (the second one exercises the outer momentum).
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "nosync/comm/local_board.h"
#include "nosync/data/dataset.h"
#include "nosync/swarm/exchange.h"
#include "nosync/train/loop.h"
#include "nosync/train/trainer.h"

namespace nosync::swarm {
namespace {

TEST(DiLoCo, OuterNesterovStepMatchesItsClosedForm) {
  data::DataOptions data_options;
  data_options.format = "synthetic";
  data_options.val_size = 32;
  data_options.synthetic_train = 64;
  data_options.synthetic_test = 32;
  const data::Splits splits = data::load_splits(data_options);
  train::TrainOptions opt;
  opt.batch_size = 8;
  opt.threads = 1;
  models::ModelOptions m;
  m.name = "mlp";
  m.width = 0.25;
  SwarmOptions so;
  so.algo = "diloco";
  so.outer_lr = 0.7;
  so.outer_momentum = 0.9;

  const int n = 2;
  torch::manual_seed(1);
  auto probe = models::build_model(m, splits.train.shape(), splits.train.num_classes);
  const int64_t numel = models::parameter_count(*probe);
  const torch::Tensor start = torch::randn({numel});
  // Each worker's weights after each round's inner steps: start - d[round][worker].
  std::vector<std::vector<torch::Tensor>> d(2);
  for (auto& round : d)
    for (int i = 0; i < n; ++i) round.push_back(torch::randn({numel}));

  comm::LocalBoard board(n, numel);
  std::vector<std::vector<torch::Tensor>> after(2, std::vector<torch::Tensor>(n));
  std::vector<std::thread> workers;
  for (int i = 0; i < n; ++i) {
    workers.emplace_back([&, i] {
      auto net = models::build_model(m, splits.train.shape(), splits.train.num_classes);
      train::Trainer trainer(net, opt, splits.train, splits.norm, train::training_loader_options(data_options, opt), 10);
      auto transport = board.endpoint(i);
      train::EventSink sink;
      trainer.flat_params().copy_(start);
      auto ex = make_exchange(Algo::kDiLoCo, ExchangeContext{i, n, so, trainer, *transport, sink, 0});
      torch::Tensor base = start.clone();
      for (int round = 0; round < 2; ++round) {
        trainer.flat_params().copy_(base - d[round][i]);
        ExchangeInput in;
        in.step = 10 * (round + 1);
        ex->exchange(in);
        after[round][i] = trainer.flat_params().clone();
        base = after[round][i];
      }
    });
  }
  for (auto& w : workers) w.join();

  // Closed form, in double: delta_k = mean_i d[k][i]; v_k = mu v_{k-1} + delta_k;
  // start_k = start_{k-1} - lr (delta_k + mu v_k).
  const double lr = so.outer_lr, mu = so.outer_momentum;
  torch::Tensor s = start.to(torch::kDouble), v = torch::zeros_like(s);
  for (int round = 0; round < 2; ++round) {
    const torch::Tensor delta = (d[round][0].to(torch::kDouble) + d[round][1].to(torch::kDouble)) / 2;
    v = mu * v + delta;
    s = s - lr * (delta + mu * v);
    for (int i = 0; i < n; ++i) {
      const double err = (after[round][i].to(torch::kDouble) - s).abs().max().item<double>();
      EXPECT_LT(err, 1e-5) << "round " << round << " worker " << i;
    }
    EXPECT_TRUE(torch::equal(after[round][0], after[round][1])) << "workers differ after round " << round;
  }
}

}  // namespace
}  // namespace nosync::swarm
