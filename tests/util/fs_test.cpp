#include "nosync/util/fs.h"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "nosync/util/error.h"
#include "support/test_support.h"

namespace nosync::util {
namespace {

using nosync::testing::TempDir;

size_t count_entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(FsTest, AtomicWriteCreatesAndReplaces) {
  TempDir tmp;
  const std::string path = tmp.file("a.txt");
  write_file_atomic(path, std::string("first version, longer"));
  EXPECT_EQ(read_text(path), "first version, longer");
  write_file_atomic(path, std::string("second"));
  EXPECT_EQ(read_text(path), "second");
  EXPECT_EQ(count_entries(tmp.path()), 1u) << "no temp file may be left behind";
}

TEST(FsTest, AtomicWriteBinaryAndEmpty) {
  TempDir tmp;
  const std::string path = tmp.file("b.bin");
  const char data[] = {'\0', '\x01', '\xff', '\0', 'z'};
  write_file_atomic(path, data, sizeof data);
  std::vector<char> back = read_file(path);
  ASSERT_EQ(back.size(), sizeof data);
  EXPECT_EQ(std::string(back.begin(), back.end()), std::string(data, sizeof data));
  write_file_atomic(path, nullptr, 0);
  EXPECT_TRUE(read_file(path).empty());
}

TEST(FsTest, AtomicWriteFailureLeavesTargetAndNoTemp) {
  TempDir tmp;
  // The target is a non-empty directory: the rename fails, the temp must be cleaned up.
  const std::string target = tmp.file("occupied");
  std::filesystem::create_directory(target);
  write_file_atomic(target + "/inside.txt", std::string("keep me"));
  try {
    write_file_atomic(target, std::string("x"));
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(target), std::string::npos) << e.what();
  }
  EXPECT_EQ(count_entries(tmp.path()), 1u) << "temp file left behind";
  EXPECT_EQ(read_text(target + "/inside.txt"), "keep me");
}

TEST(FsTest, WriteIntoMissingDirectoryIsUserError) {
  TempDir tmp;
  const std::string path = tmp.file("no/such/dir/file.txt");
  try {
    write_file_atomic(path, std::string("x"));
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(tmp.path() + "/no/such/dir/file.txt"), std::string::npos) << msg;
    EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  }
}

TEST(FsTest, SyncedWriteAndFsyncDir) {
  TempDir tmp;
  const std::string path = tmp.file("s.txt");
  write_file_synced(path, "hello", 5);
  fsync_dir(tmp.path());
  EXPECT_EQ(read_text(path), "hello");
  EXPECT_THROW(fsync_dir(tmp.file("missing")), UserError);
}

TEST(FsTest, DiskFullIsUserErrorWithHint) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "/dev/full not available";
  try {
    write_file_synced("/dev/full", "x", 1);
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("/dev/full"), std::string::npos) << msg;
    EXPECT_NE(msg.find("No space left on device"), std::string::npos) << msg;
    EXPECT_NE(e.hint().find("disk is full"), std::string::npos) << e.hint();
  }
}

TEST(FsTest, ReadMissingFileNamesIt) {
  TempDir tmp;
  const std::string path = tmp.file("missing.bin");
  try {
    read_file(path);
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  }
  EXPECT_THROW(read_text(path), UserError);
  EXPECT_THROW(read_file(tmp.path()), UserError) << "a directory is not a file";
}

TEST(FsTest, Sha256KnownValues) {
  EXPECT_EQ(sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc", 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace nosync::util
