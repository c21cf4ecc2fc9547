#include "nosync/data/cifar.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "data/data_test_util.h"
#include "support/test_support.h"

namespace nosync::data {
namespace {

using nosync::testing::cifar_records;
using nosync::testing::expect_user_error;
using nosync::testing::gzip;
using nosync::testing::TempDir;
using nosync::testing::write_bytes;

TEST(CifarTest, ParseRoundTrip) {
  const auto bytes = cifar_records({7, 0, 9});
  Dataset ds = parse_cifar10(bytes, "batch.bin");
  ASSERT_EQ(ds.inputs.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  ASSERT_EQ(ds.labels.sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(ds.num_classes, 10);
  EXPECT_EQ(ds.shape(), (Shape{3, 32, 32}));
  EXPECT_EQ(ds.labels[0].item<int64_t>(), 7);
  EXPECT_EQ(ds.labels[2].item<int64_t>(), 9);
  // Planar layout: byte k of the record's image is channel k/1024, row (k%1024)/32, column k%32.
  auto img = ds.inputs.accessor<uint8_t, 4>();
  for (int r = 0; r < 3; ++r)
    for (int k : {0, 1, 31, 32, 1023, 1024, 2048, 3071})
      EXPECT_EQ(img[r][k / 1024][(k % 1024) / 32][k % 32], static_cast<uint8_t>(r * 13 + k * 5)) << r << " " << k;
}

TEST(CifarTest, EmptyFile) {
  expect_user_error([] { parse_cifar10({}, "batch.bin"); }, {"batch.bin", "empty", "3073"});
}

TEST(CifarTest, NotAMultipleOfTheRecordSize) {
  auto bytes = cifar_records({1, 2});
  bytes.resize(bytes.size() + 100, 0);
  expect_user_error([&] { parse_cifar10(bytes, "batch.bin"); },
                    {"batch.bin", "not a multiple", "record 2", "byte offset 6146", "100 of 3073"});
  std::vector<uint8_t> small(10, 1);
  expect_user_error([&] { parse_cifar10(small, "tiny.bin"); }, {"tiny.bin", "record 0", "byte offset 0"});
}

TEST(CifarTest, LabelOutOfRange) {
  auto bytes = cifar_records({1, 10, 2});
  expect_user_error([&] { parse_cifar10(bytes, "batch.bin"); },
                    {"batch.bin", "label 10", "record 1", "byte offset 3073", "0..9"});
}

TEST(CifarTest, ReadsTrainAndTestBatches) {
  TempDir dir;
  for (int i = 1; i <= 5; ++i) {
    auto recs = cifar_records({static_cast<uint8_t>(i), static_cast<uint8_t>(i + 1)}, static_cast<uint8_t>(i));
    if (i == 3) {
      write_bytes(dir.file("data_batch_3.bin.gz"), gzip(recs));  // compressed batches are fine too
    } else {
      write_bytes(dir.file("data_batch_" + std::to_string(i) + ".bin"), recs);
    }
  }
  write_bytes(dir.file("test_batch.bin"), cifar_records({0, 4, 8}));
  Dataset train = read_cifar10(dir.path(), true);
  ASSERT_EQ(train.size(), 10);
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(train.labels[2 * (i - 1)].item<int64_t>(), i);
    EXPECT_EQ(train.labels[2 * (i - 1) + 1].item<int64_t>(), i + 1);
    // Image bytes come from the right file (salt = i), in order.
    EXPECT_EQ(train.inputs[2 * (i - 1) + 1][0][0][1].item<uint8_t>(), static_cast<uint8_t>(13 + 5 + i));
  }
  Dataset test = read_cifar10(dir.path(), false);
  ASSERT_EQ(test.size(), 3);
  EXPECT_EQ(test.labels[2].item<int64_t>(), 8);
  EXPECT_NE(test.source.find("test_batch.bin"), std::string::npos);
}

TEST(CifarTest, AcceptsExtractedSubdirectory) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("cifar-10-batches-bin"));
  write_bytes(dir.file("cifar-10-batches-bin/test_batch.bin"), cifar_records({5}));
  EXPECT_EQ(read_cifar10(dir.path(), false).size(), 1);
}

TEST(CifarTest, MissingFilesHaveHint) {
  TempDir dir;
  write_bytes(dir.file("data_batch_1.bin"), cifar_records({1}));
  write_bytes(dir.file("data_batch_2.bin"), cifar_records({1}));
  try {
    read_cifar10(dir.path(), true);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("data_batch_3.bin")), std::string::npos) << e.what();
    EXPECT_EQ(e.hint(), "download the CIFAR-10 binary version and set data.dir");
  }
  try {
    read_cifar10(dir.file("missing"), false);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("missing")), std::string::npos) << e.what();
    EXPECT_EQ(e.hint(), "download the CIFAR-10 binary version and set data.dir");
  }
  // A bad record inside the second of several files is reported against that file.
  auto bad = cifar_records({1, 2});
  bad[3073] = 200;
  write_bytes(dir.file("data_batch_2.bin"), bad);
  for (int i = 3; i <= 5; ++i) write_bytes(dir.file("data_batch_" + std::to_string(i) + ".bin"), cifar_records({1}));
  expect_user_error([&] { read_cifar10(dir.path(), true); },
                    {dir.file("data_batch_2.bin"), "label 200", "record 1", "byte offset 3073"});
}

}  // namespace
}  // namespace nosync::data
