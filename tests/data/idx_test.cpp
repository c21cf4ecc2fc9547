#include "nosync/data/idx.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "data/data_test_util.h"
#include "nosync/data/paths.h"
#include "nosync/models/registry.h"
#include "support/test_support.h"

namespace nosync::data {
namespace {

using nosync::testing::expect_user_error;
using nosync::testing::gzip;
using nosync::testing::idx_images;
using nosync::testing::idx_labels;
using nosync::testing::put_be32;
using nosync::testing::TempDir;
using nosync::testing::test_pixel;
using nosync::testing::write_bytes;

const std::vector<uint8_t> kLabels = {3, 0, 9, 1, 4};

void check_split(const Dataset& ds) {
  ASSERT_EQ(ds.inputs.sizes(), (std::vector<int64_t>{5, 1, 3, 4}));
  ASSERT_EQ(ds.inputs.scalar_type(), torch::kUInt8);
  ASSERT_EQ(ds.labels.scalar_type(), torch::kInt64);
  EXPECT_EQ(ds.num_classes, 10);
  EXPECT_EQ(ds.shape(), (Shape{1, 3, 4}));
  auto img = ds.inputs.accessor<uint8_t, 4>();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(ds.labels[i].item<int64_t>(), kLabels[i]);
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) EXPECT_EQ(img[i][0][y][x], test_pixel(i, y, x));
  }
}

TEST(IdxTest, RoundTripRaw) {
  TempDir dir;
  write_bytes(dir.file("train-images-idx3-ubyte"), idx_images(5, 3, 4, test_pixel));
  write_bytes(dir.file("train-labels-idx1-ubyte"), idx_labels(kLabels));
  Dataset ds = read_idx_split(dir.path(), "train");
  check_split(ds);
  EXPECT_NE(ds.source.find("train-images-idx3-ubyte"), std::string::npos);
}

TEST(IdxTest, RoundTripGzip) {
  TempDir dir;
  write_bytes(dir.file("t10k-images-idx3-ubyte.gz"), gzip(idx_images(5, 3, 4, test_pixel)));
  write_bytes(dir.file("t10k-labels-idx1-ubyte.gz"), gzip(idx_labels(kLabels)));
  check_split(read_idx_split(dir.path(), "t10k"));
}

TEST(IdxTest, GzipOfEmptyAndLargeRoundTrip) {
  TempDir dir;
  // Larger than any initial buffer guess made from a lying ISIZE: exercises buffer growth.
  std::vector<uint8_t> big(3'000'000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  write_bytes(dir.file("big.gz"), gzip(big, 1));
  EXPECT_EQ(read_file_maybe_gzip(dir.file("big.gz")), big);
  // Highly compressible data: output grows far past 4x the input.
  std::vector<uint8_t> zeros(5'000'000, 0);
  auto gz = gzip(zeros, 9);
  // Lie in the ISIZE trailer: the reader must not trust it.
  gz[gz.size() - 4] = 1;
  gz[gz.size() - 3] = gz[gz.size() - 2] = gz[gz.size() - 1] = 0;
  write_bytes(dir.file("zeros.gz"), gz);
  EXPECT_THROW(read_file_maybe_gzip(dir.file("zeros.gz")), UserError);  // zlib checks ISIZE
  write_bytes(dir.file("zeros2.gz"), gzip(zeros, 9));
  EXPECT_EQ(read_file_maybe_gzip(dir.file("zeros2.gz")), zeros);
  write_bytes(dir.file("empty.gz"), gzip({}));
  EXPECT_TRUE(read_file_maybe_gzip(dir.file("empty.gz")).empty());
}

TEST(IdxTest, ConcatenatedGzipMembers) {
  TempDir dir;
  auto a = gzip({1, 2, 3});
  auto b = gzip({4, 5});
  a.insert(a.end(), b.begin(), b.end());
  write_bytes(dir.file("two.gz"), a);
  EXPECT_EQ(read_file_maybe_gzip(dir.file("two.gz")), (std::vector<uint8_t>{1, 2, 3, 4, 5}));
}

TEST(IdxTest, PrefersGzWhenBothExist) {
  TempDir dir;
  write_bytes(dir.file("train-images-idx3-ubyte.gz"), gzip(idx_images(5, 3, 4, test_pixel)));
  write_bytes(dir.file("train-images-idx3-ubyte"), idx_images(2, 3, 4, test_pixel));
  write_bytes(dir.file("train-labels-idx1-ubyte"), idx_labels(kLabels));  // only the raw one
  check_split(read_idx_split(dir.path(), "train"));
}

TEST(IdxTest, MissingFileNamesGzPath) {
  TempDir dir;
  expect_user_error([&] { read_idx_split(dir.path(), "train"); },
                    {dir.file("train-images-idx3-ubyte.gz"), "not found"});
  write_bytes(dir.file("train-images-idx3-ubyte.gz"), gzip(idx_images(5, 3, 4, test_pixel)));
  expect_user_error([&] { read_idx_split(dir.path(), "train"); }, {dir.file("train-labels-idx1-ubyte.gz")});
}

TEST(IdxTest, MissingDirectoryHasHint) {
  TempDir dir;
  const std::string missing = dir.file("no-such-dir");
  try {
    read_idx_split(missing, "train");
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("data.dir"), std::string::npos) << e.hint();
  }
  EXPECT_EQ(missing_data_hint(kDefaultDataDir, "idx"),
            "install it: apt-get install dataset-fashion-mnist, or set data.dir");
  EXPECT_EQ(missing_data_hint("/usr/share/datasets/fashion-mnist/", "idx"),
            "install it: apt-get install dataset-fashion-mnist, or set data.dir");
  write_bytes(dir.file("afile"), {1, 2, 3});
  expect_user_error([&] { read_idx_split(dir.file("afile"), "train"); }, {dir.file("afile"), "directory"});
  expect_user_error([&] { read_file_maybe_gzip(dir.path()); }, {dir.path(), "directory"});
  expect_user_error([&] { read_file_maybe_gzip(dir.file("nope.gz")); }, {dir.file("nope.gz"), "not found"});
}

TEST(IdxTest, EmptyFile) {
  expect_user_error([] { parse_idx_images({}, "imgs.idx"); }, {"imgs.idx", "empty", "0x00000803"});
  expect_user_error([] { parse_idx_labels({}, "labs.idx", 10); }, {"labs.idx", "empty", "0x00000801"});
}

TEST(IdxTest, TruncatedHeader) {
  expect_user_error([] { parse_idx_images({0, 0}, "imgs.idx"); }, {"imgs.idx", "truncated header", "found only 2"});
  auto full = idx_images(5, 3, 4, test_pixel);
  std::vector<uint8_t> cut(full.begin(), full.begin() + 10);
  expect_user_error([&] { parse_idx_images(cut, "imgs.idx"); },
                    {"imgs.idx", "truncated header", "expected 16", "found 10"});
  auto labels = idx_labels(kLabels);
  std::vector<uint8_t> lcut(labels.begin(), labels.begin() + 6);
  expect_user_error([&] { parse_idx_labels(lcut, "labs.idx", 10); }, {"labs.idx", "expected 8", "found 6"});
}

TEST(IdxTest, WrongMagic) {
  std::vector<uint8_t> bad;
  put_be32(bad, 0xdeadbeef);
  put_be32(bad, 0);
  put_be32(bad, 0);
  put_be32(bad, 0);
  expect_user_error([&] { parse_idx_images(bad, "imgs.idx"); },
                    {"imgs.idx", "wrong magic", "offset 0", "expected 0x00000803", "found 0xdeadbeef"});
  // Float IDX.
  auto fl = idx_images(1, 1, 1, test_pixel);
  fl[2] = 0x0d;
  expect_user_error([&] { parse_idx_images(fl, "f.idx"); }, {"f.idx", "found 0x00000d03", "float32"});
  // Swapped files: a label file given as images and vice versa.
  expect_user_error([] { parse_idx_images(idx_labels(kLabels), "labels-as-images"); },
                    {"labels-as-images", "dimension count", "expected 3", "found 1", "0x00000801"});
  expect_user_error([] { parse_idx_labels(idx_images(5, 3, 4, test_pixel), "images-as-labels", 10); },
                    {"images-as-labels", "expected 1", "found 3", "0x00000803"});
  // Still gzip-compressed.
  expect_user_error([] { parse_idx_images(gzip(idx_images(1, 1, 1, test_pixel)), "double.gz"); },
                    {"double.gz", "found 0x1f8b"});
}

TEST(IdxTest, DimensionsDoNotMatchFileSize) {
  auto bytes = idx_images(5, 3, 4, test_pixel);  // 16 + 60 bytes
  bytes.resize(bytes.size() - 10);
  expect_user_error([&] { parse_idx_images(bytes, "imgs.idx"); },
                    {"imgs.idx", "5*3*4", "expected 76 bytes", "16 header", "found 66 bytes"});
  auto extra = idx_images(5, 3, 4, test_pixel);
  extra.push_back(0);
  expect_user_error([&] { parse_idx_images(extra, "imgs.idx"); }, {"expected 76 bytes", "found 77 bytes"});
  auto labels = idx_labels(kLabels);
  labels.pop_back();
  expect_user_error([&] { parse_idx_labels(labels, "labs.idx", 10); }, {"labs.idx", "expected 13 bytes", "found 12"});
  // Zero height.
  expect_user_error([] { parse_idx_images(idx_images(2, 0, 4, test_pixel), "zero.idx"); },
                    {"zero.idx", "dimension 1", "offset 8"});
}

TEST(IdxTest, HugeDimensionsDoNotAllocate) {
  // (2^32 - 1)^3 overflows 64 bits; 2^32-1 images of 1x1 would be 4 GB. Both must be rejected
  // from the header alone, quickly and without allocating.
  std::vector<uint8_t> huge;
  put_be32(huge, 0x00000803);
  put_be32(huge, 0xffffffff);
  put_be32(huge, 0xffffffff);
  put_be32(huge, 0xffffffff);
  huge.resize(100, 7);
  const auto start = std::chrono::steady_clock::now();
  expect_user_error([&] { parse_idx_images(huge, "huge.idx"); },
                    {"huge.idx", "4294967295*4294967295*4294967295", "more than 2^64", "found 100 bytes"});
  std::vector<uint8_t> many;
  put_be32(many, 0x00000803);
  put_be32(many, 0xffffffff);
  put_be32(many, 1);
  put_be32(many, 1);
  expect_user_error([&] { parse_idx_images(many, "many.idx"); }, {"expected 4294967311 bytes", "found 16 bytes"});
  std::vector<uint8_t> many_labels;
  put_be32(many_labels, 0x00000801);
  put_be32(many_labels, 0xffffffff);
  expect_user_error([&] { parse_idx_labels(many_labels, "many-labels.idx", 10); },
                    {"expected 4294967303 bytes", "found 8 bytes"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(IdxTest, LabelOutOfRange) {
  expect_user_error([] { parse_idx_labels(idx_labels({1, 2, 10, 3}), "labs.idx", 10); },
                    {"labs.idx", "label 10", "index 2", "byte offset 10", "0..9"});
  expect_user_error([] { parse_idx_labels(idx_labels({1, 2, 3}), "labs.idx", 3); }, {"label 3", "index 2", "0..2"});
  auto ok = parse_idx_labels(idx_labels({0, 2, 1}), "labs.idx", 3);
  EXPECT_EQ(ok.sizes(), (std::vector<int64_t>{3}));
}

// More than 10 classes (EMNIST letters has 26): the class count is the labels', over the training
// and test files, so a class that only the test set holds still gets a logit.
TEST(IdxTest, TwelveClassesFromTheLabels) {
  TempDir dir;
  std::vector<uint8_t> train_labels, test_labels;
  for (int i = 0; i < 60; ++i) train_labels.push_back(static_cast<uint8_t>(i % 11));  // 0..10
  for (int i = 0; i < 24; ++i) test_labels.push_back(static_cast<uint8_t>(i % 12));   // 0..11
  write_bytes(dir.file("train-images-idx3-ubyte.gz"), gzip(idx_images(60, 6, 6, test_pixel)));
  write_bytes(dir.file("train-labels-idx1-ubyte.gz"), gzip(idx_labels(train_labels)));
  write_bytes(dir.file("t10k-images-idx3-ubyte"), idx_images(24, 6, 6, test_pixel));
  write_bytes(dir.file("t10k-labels-idx1-ubyte"), idx_labels(test_labels));
  EXPECT_EQ(read_idx_split(dir.path(), "train").num_classes, 11);
  DataOptions options;
  options.dir = dir.path();
  options.val_size = 12;
  const Splits splits = load_splits(options);
  EXPECT_EQ(splits.train.num_classes, 12);
  EXPECT_EQ(splits.val.num_classes, 12);
  EXPECT_EQ(splits.test.num_classes, 12);
  EXPECT_EQ(splits.test.labels.max().item<int64_t>(), 11);
  models::ModelOptions model;
  model.name = "mlp";
  auto net = models::build_model_for(model, splits.train);
  EXPECT_EQ(net->logits(torch::zeros({2, 1, 6, 6})).sizes(), (std::vector<int64_t>{2, 12}));

  // One class in both files is refused, naming the directory.
  write_bytes(dir.file("train-labels-idx1-ubyte.gz"), gzip(idx_labels(std::vector<uint8_t>(60, 0))));
  write_bytes(dir.file("t10k-labels-idx1-ubyte"), idx_labels(std::vector<uint8_t>(24, 0)));
  expect_user_error([&] { load_splits(options); }, {dir.path(), "1 class(es)", "expected at least 2"});
}

TEST(IdxTest, CountMismatchNamesBothFiles) {
  TempDir dir;
  write_bytes(dir.file("train-images-idx3-ubyte.gz"), gzip(idx_images(5, 3, 4, test_pixel)));
  write_bytes(dir.file("train-labels-idx1-ubyte.gz"), gzip(idx_labels({1, 2, 3, 4})));
  expect_user_error([&] { read_idx_split(dir.path(), "train"); },
                    {dir.file("train-images-idx3-ubyte.gz"), dir.file("train-labels-idx1-ubyte.gz"), "5 images",
                     "4 labels"});
}

TEST(IdxTest, CorruptAndTruncatedGzip) {
  TempDir dir;
  std::vector<uint8_t> payload = idx_images(50, 10, 10, test_pixel);
  auto gz = gzip(payload);
  auto truncated = std::vector<uint8_t>(gz.begin(), gz.begin() + gz.size() / 2);
  write_bytes(dir.file("trunc.gz"), truncated);
  expect_user_error([&] { read_file_maybe_gzip(dir.file("trunc.gz")); }, {dir.file("trunc.gz"), "truncated gzip"});
  auto corrupt = gz;
  for (size_t i = 12; i < 40 && i < corrupt.size(); ++i) corrupt[i] ^= 0x5a;
  write_bytes(dir.file("corrupt.gz"), corrupt);
  expect_user_error([&] { read_file_maybe_gzip(dir.file("corrupt.gz")); }, {dir.file("corrupt.gz")});
  auto trailing = gz;
  trailing.push_back(42);
  trailing.push_back(43);
  write_bytes(dir.file("trailing.gz"), trailing);
  expect_user_error([&] { read_file_maybe_gzip(dir.file("trailing.gz")); }, {dir.file("trailing.gz"), "trailing"});
  write_bytes(dir.file("magic-only.gz"), {0x1f, 0x8b});
  expect_user_error([&] { read_file_maybe_gzip(dir.file("magic-only.gz")); }, {dir.file("magic-only.gz")});
}

// Random corruption of valid files (raw and gzip): parsing either succeeds or throws UserError.
TEST(IdxTest, FuzzedInputsNeverCrash) {
  TempDir dir;
  const auto images = idx_images(6, 5, 4, test_pixel);
  const auto labels = idx_labels({1, 2, 3, 4, 5, 6});
  std::mt19937_64 rng(1234);
  int errors = 0, ok = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    const bool use_labels = iter % 2;
    std::vector<uint8_t> bytes = use_labels ? labels : images;
    const bool compress = iter % 3 == 0;
    if (compress) bytes = gzip(bytes);
    const int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations; ++m) {
      switch (rng() % 4) {
        case 0: bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng()); break;
        case 1: bytes.resize(rng() % (bytes.size() + 1)); break;
        case 2: bytes.push_back(static_cast<uint8_t>(rng())); break;
        case 3: bytes[rng() % std::min<size_t>(bytes.size(), 16)] = static_cast<uint8_t>(rng() % 4 == 0 ? 0xff : rng());
      }
      if (bytes.empty()) break;
    }
    try {
      std::vector<uint8_t> content = bytes;
      if (compress) {
        write_bytes(dir.file("f.gz"), bytes);
        content = read_file_maybe_gzip(dir.file("f.gz"));
      }
      if (use_labels) {
        parse_idx_labels(content, "fuzz", 10);
      } else {
        parse_idx_images(content, "fuzz");
      }
      ++ok;
    } catch (const UserError& e) {
      ++errors;
      // Named by the file (gzip errors) or the parser's source name.
      const std::string msg = e.what();
      EXPECT_TRUE(msg.find(dir.file("f.gz")) != std::string::npos || msg.find("fuzz") != std::string::npos) << msg;
    }
  }
  EXPECT_GT(errors, 0);
  std::cout << "    fuzz: " << ok << " parsed, " << errors << " rejected\n";
}

}  // namespace
}  // namespace nosync::data
