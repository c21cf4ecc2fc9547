#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <string>

#include "data/data_test_util.h"
#include "nosync/data/dataset.h"
#include "nosync/data/loader.h"
#include "nosync/data/text.h"
#include "support/test_support.h"

namespace nosync::data {
namespace {

using nosync::testing::expect_user_error;
using nosync::testing::TempDir;
using nosync::testing::write_bytes;

std::vector<uint8_t> bytes_of(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

std::string row(const torch::Tensor& t, int64_t i) {
  std::string out;
  const auto r = t[i].to(torch::kInt64);
  for (int64_t k = 0; k < r.size(0); ++k) out += static_cast<char>(r[k].item<int64_t>());
  return out;
}

TEST(TextTest, WindowsAndNextByteTargetsAreExact) {
  const Dataset ds = text_windows(bytes_of("abcdefghij"), 3, 2, "mem");
  EXPECT_EQ(ds.task, Task::language_model);
  EXPECT_EQ(ds.num_classes, 256);
  ASSERT_EQ(ds.size(), 4);  // starts 0, 2, 4, 6; the last window's target is byte 9
  EXPECT_EQ(ds.inputs.scalar_type(), torch::kUInt8);
  EXPECT_EQ(ds.labels.scalar_type(), torch::kInt64);
  const char* inputs[] = {"abc", "cde", "efg", "ghi"};
  const char* targets[] = {"bcd", "def", "fgh", "hij"};
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(row(ds.inputs, i), inputs[i]);
    EXPECT_EQ(row(ds.labels, i), targets[i]);
  }
  EXPECT_EQ(ds.shape(), (Shape{1, 1, 3}));
  EXPECT_EQ(ds.targets_per_sample(), 3);
  EXPECT_EQ(text_windows(bytes_of("abc"), 3, 1, "mem").size(), 0);  // no byte left to predict
  EXPECT_EQ(text_windows(bytes_of("abcd"), 3, 1, "mem").size(), 1);
}

TEST(TextTest, SplitsPartitionTheCorpusInInterleavedBlocks) {
  // Context 4: blocks of 128 bytes; byte value = its block number, so each window names its block.
  const int64_t blocks = 200;
  std::vector<uint8_t> corpus;
  for (int64_t b = 0; b < blocks; ++b) corpus.insert(corpus.end(), 128, static_cast<uint8_t>(b));
  TextOptions o;
  o.context = 4;
  o.val_fraction = 0.05;
  o.test_fraction = 0.1;
  const TextSplits s = split_text(corpus, o, "mem");
  auto blocks_of = [](const Dataset& ds) {
    std::set<int64_t> out;
    for (int64_t i = 0; i < ds.size(); ++i) out.insert(ds.inputs[i][0].item<int64_t>());
    return out;
  };
  const auto train = blocks_of(s.train), val = blocks_of(s.val), test = blocks_of(s.test);
  EXPECT_EQ(val.size(), 10u);   // 5 % of 200 blocks
  EXPECT_EQ(test.size(), 20u);  // 10 %
  EXPECT_EQ(train.size(), 170u);
  for (int64_t b : val) EXPECT_EQ(train.count(b) + test.count(b), 0u) << "block " << b << " in two splits";
  for (int64_t b : test) EXPECT_EQ(train.count(b), 0u) << "block " << b << " in two splits";
  // Interleaved: held-out blocks come from all over the corpus, not from its end.
  EXPECT_LT(*val.begin(), blocks / 4);
  EXPECT_GT(*val.rbegin(), 3 * blocks / 4);
  EXPECT_LT(*test.begin(), blocks / 4);
  // Held-out windows do not overlap: each byte of the validation stream is a target once.
  EXPECT_EQ(s.val.size(), (10 * 128 - 1) / 4);
  // Training windows start every context / 2 bytes by default.
  EXPECT_EQ(s.train.size(), (170 * 128 - 4 - 1) / 2 + 1);
}

TEST(TextTest, CorpusDirectoryConcatenatesItsTextFilesInNameOrder) {
  TempDir dir;
  write_bytes(dir.file("b.txt"), bytes_of("second\n"));
  write_bytes(dir.file("a.txt"), bytes_of("first\n"));
  write_bytes(dir.file("a.dat"), {1, 0, 2, 0});  // binary (has NUL bytes): skipped
  std::filesystem::create_symlink(dir.file("a.txt"), dir.file("c.u8"));  // a link repeats its target: skipped
  std::vector<std::string> sources;
  const auto corpus = read_text_corpus(dir.path(), &sources);
  EXPECT_EQ(std::string(corpus.begin(), corpus.end()), "first\nsecond\n");
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0], dir.file("a.txt"));
  const auto one = read_text_corpus(dir.file("b.txt"));
  EXPECT_EQ(std::string(one.begin(), one.end()), "second\n");
}

TEST(TextTest, BadCorporaAreUserErrors) {
  TempDir dir;
  expect_user_error([&] { read_text_corpus(dir.file("missing.txt")); }, {"data.path", "missing.txt", "no such file"});
  expect_user_error([&] { read_text_corpus(""); }, {"data.path is empty"});
  write_bytes(dir.file("empty.txt"), {});
  expect_user_error([&] { read_text_corpus(dir.file("empty.txt")); }, {"empty.txt", "no text"});
  TextOptions o;
  o.context = 16;
  expect_user_error([&] { split_text(bytes_of(std::string(3000, 'x')), o, "small.txt"); },
                    {"small.txt", "less than one window", "data.context = 16"});
  o.val_fraction = 0.96;
  expect_user_error([&] { split_text(bytes_of(std::string(3000, 'x')), o, "f"); }, {"data.val_fraction = 0.96", "sum below 1"});
}

TEST(TextTest, UnigramEntropy) {
  EXPECT_NEAR(unigram_entropy(bytes_of("aabb")), std::log(2.0), 1e-12);
  EXPECT_NEAR(unigram_entropy(bytes_of("aaaa")), 0.0, 1e-12);
  EXPECT_NEAR(unigram_entropy(bytes_of("abcd")), std::log(4.0), 1e-12);
}

TEST(TextTest, LoaderGivesTokenBatchesAndEachSeedItsOwnStream) {
  std::string text;
  for (int i = 0; i < 400; ++i) text += static_cast<char>('a' + i % 26);
  const Dataset ds = text_windows(bytes_of(text), 8, 4, "mem");
  const Normalization norm = Normalization::from(ds);
  EXPECT_TRUE(norm.mean.empty());  // tokens are not normalized
  LoaderOptions lo;
  lo.batch_size = 5;
  lo.seed = 1;
  BatchLoader a(ds, norm, lo);
  const Batch b = a.next();
  ASSERT_EQ(b.x.sizes(), (std::vector<int64_t>{5, 8}));
  ASSERT_EQ(b.y.sizes(), (std::vector<int64_t>{5, 8}));
  EXPECT_EQ(b.x.scalar_type(), torch::kInt64);
  // Every target is the next letter of its input.
  EXPECT_TRUE(torch::equal((b.x - 'a' + 1).remainder(26), b.y - 'a'));
  const torch::Tensor first = b.x.clone();
  lo.seed = 2;
  BatchLoader c(ds, norm, lo);
  EXPECT_FALSE(torch::equal(first, c.next().x));
  lo.augment_flip = true;
  expect_user_error([&] { BatchLoader bad(ds, norm, lo); }, {"augment", "images"});
}

TEST(TextTest, LoadSplitsReadsTextFormat) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += static_cast<char>('a' + (i * 7) % 26);
  write_bytes(dir.file("corpus.txt"), bytes_of(text));
  DataOptions o;
  o.format = "text";
  o.path = dir.file("corpus.txt");
  o.context = 16;
  const Splits s = load_splits(o);
  EXPECT_EQ(s.train.task, Task::language_model);
  EXPECT_EQ(s.val.task, Task::language_model);
  EXPECT_EQ(s.test.task, Task::language_model);
  EXPECT_GT(s.train.size(), 0);
  EXPECT_GT(s.val.size(), 0);
  EXPECT_GT(s.test.size(), 0);
  const int64_t bytes = s.train.size() * 8 + s.val.size() * 16 + s.test.size() * 16;
  EXPECT_NEAR(static_cast<double>(bytes), 20000.0, 3 * 512.0);  // every byte in one split (to a block)
  o.augment_crop = 2;
  expect_user_error([&] { load_splits(o); }, {"augment", "text"});
}

}  // namespace
}  // namespace nosync::data
