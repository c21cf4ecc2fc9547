#include "nosync/util/fs.h"

#include <cerrno>
#include <filesystem>
#include <functional>
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

// Every file-system failure a user can meet is one line with the path, the reason and a hint.
void expect_io_error(const std::function<void()>& fn, const std::string& path, const std::string& reason,
                     const std::string& hint) {
  try {
    fn();
    FAIL() << "no error for " << path;
  } catch (const UserError& e) {
    const std::string line = one_line(e);
    EXPECT_NE(line.find(path), std::string::npos) << line;
    EXPECT_NE(line.find(reason), std::string::npos) << line;
    EXPECT_NE(line.find(hint), std::string::npos) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  }
}

TEST(FsTest, PathErrorsAreUserErrorsWithReasonAndHint) {
  TempDir tmp;
  const std::string loop = tmp.file("loop");
  std::filesystem::create_symlink(loop, loop);  // a link to itself
  expect_io_error([&] { path_exists(loop); }, loop, "Too many levels of symbolic links", "loop of symbolic links");
  expect_io_error([&] { read_file(loop); }, loop, "Too many levels of symbolic links", "loop of symbolic links");
  const std::string long_name = tmp.file(std::string(300, 'x'));
  expect_io_error([&] { path_exists(long_name); }, long_name, "File name too long", "too long");
  expect_io_error([&] { write_file_atomic(long_name, std::string("x")); }, long_name, "File name too long",
                  "too long");
  write_file_atomic(tmp.file("file"), std::string("x"));
  const std::string under_file = tmp.file("file/inner");
  EXPECT_FALSE(path_exists(under_file)) << "a file on the way: nothing of that name exists";
  expect_io_error([&] { write_file_atomic(under_file, std::string("x")); }, under_file, "Not a directory",
                  "is a file, not a directory");
  expect_io_error([&] { check_writable_dir(tmp.file("file")); }, tmp.file("file"), "Not a directory",
                  "not a directory");
  EXPECT_NO_THROW(check_writable_dir(tmp.path()));
  EXPECT_FALSE(path_exists(tmp.file("missing")));
  EXPECT_TRUE(is_dir(tmp.path()));
  EXPECT_FALSE(is_dir(tmp.file("file")));
}

TEST(FsTest, PermissionDeniedIsNotReportedAsNotFound) {
  // As root every permission check passes, so the mapping is checked on the errno itself.
  const UserError e = io_error("open for reading", "/some/file", EACCES);
  EXPECT_EQ(one_line(e),
            "/some/file: open for reading failed: Permission denied (hint: check the permissions of the file and its "
            "directory)");
}

TEST(FsTest, FilesystemErrorsMapToTheSameLine) {
  TempDir tmp;
  const std::string loop = tmp.file("loop");
  std::filesystem::create_symlink(loop, loop);
  try {
    static_cast<void>(std::filesystem::exists(std::filesystem::path(loop) / "x"));  // throws: no error_code given
    FAIL() << "std::filesystem did not throw";
  } catch (const std::filesystem::filesystem_error& fe) {
    expect_io_error([&] { throw_fs(fe); }, loop, "Too many levels of symbolic links", "loop of symbolic links");
  }
}

}  // namespace
}  // namespace nosync::util
