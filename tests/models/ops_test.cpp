// Causal attention (ops.h): the batched op against the plain ATen composition, values and
// gradients. (The fused ReLU + max-pool is tested in models_test.cpp.)
#include <gtest/gtest.h>

#include "nosync/models/ops.h"

namespace nosync::models {
namespace {

// qkv of B windows of T positions for `heads` heads of d columns, and a gradient for the output.
void check_attention(int64_t batch, int64_t time, int64_t heads, int64_t d) {
  torch::manual_seed(21);
  const int64_t c = heads * d;
  auto base = torch::randn({batch * time, 3 * c});
  auto x_ref = base.clone().requires_grad_();
  auto x = base.clone().requires_grad_();
  auto y_ref = causal_attention_reference(x_ref, batch, time, heads);
  auto y = causal_attention(x, batch, time, heads);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{batch * time, c}));
  EXPECT_TRUE(torch::allclose(y, y_ref, /*rtol=*/1e-5, /*atol=*/1e-6))
      << "values differ by " << (y - y_ref).abs().max().item<float>() << " at B " << batch << " T " << time;
  auto g = torch::randn(y.sizes());
  y_ref.backward(g);
  y.backward(g);
  EXPECT_TRUE(torch::allclose(x.grad(), x_ref.grad(), 1e-5, 1e-6))
      << "gradients differ by " << (x.grad() - x_ref.grad()).abs().max().item<float>();
}

TEST(CausalAttention, MatchesTheUnfusedComposition) {
  check_attention(2, 16, 4, 8);
  check_attention(3, 7, 1, 5);   // one head, odd sizes
  check_attention(1, 1, 2, 4);   // a single position sees only itself: y = v
}

TEST(CausalAttention, FirstPositionIsItsValue) {
  auto qkv = torch::randn({2 * 5, 3 * 6});
  auto y = causal_attention(qkv, 2, 5, 3);
  // Position 0 of each window attends to itself alone: its output is its v.
  for (int64_t b = 0; b < 2; ++b)
    EXPECT_TRUE(torch::allclose(y[b * 5], qkv[b * 5].narrow(0, 12, 6)));
}

}  // namespace
}  // namespace nosync::models
