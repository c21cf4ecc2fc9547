// Run-directory ownership (run_dir.h): an flock(2)-held lock file, and what a directory holds.
#include "nosync/app/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "nosync/util/error.h"
#include "nosync/util/fs.h"

namespace nosync::app {

namespace fs = std::filesystem;

namespace {

// The PID a holder wrote into its lock file; it may be writing it right now, so wait a little.
std::string holder_pid(int fd) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string pid(buf, n > 0 ? static_cast<size_t>(n) : 0);
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    if (!pid.empty()) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "unknown";
}

bool same_file(int fd, const std::string& path) {
  struct stat by_fd {}, by_path {};
  return ::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 && by_fd.st_dev == by_path.st_dev &&
         by_fd.st_ino == by_path.st_ino;
}

// Any complete checkpoint: a `latest` in checkpoints/ or one level below (particle-<i>/).
bool has_checkpoint(const std::string& run_dir) {
  const std::string dir = run_dir + "/checkpoints";
  if (!util::is_dir(dir)) return false;
  if (util::path_exists(dir + "/latest")) return true;
  try {
    for (const auto& e : fs::directory_iterator(dir))
      if (util::path_exists((e.path() / "latest").string())) return true;
  } catch (const fs::filesystem_error& e) {
    util::throw_fs(e);
  }
  return false;
}

}  // namespace

RunDirLock::RunDirLock(const std::string& dir) : path_(dir + "/" + kFileName) {
  // A holder removes the file when it is done: a lock taken on a file that is no longer at the
  // path guards nothing, so take it again on the new file.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) util::throw_io("create the lock file", path_, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err != EWOULDBLOCK) {
        ::close(fd);
        util::throw_io("lock", path_, err);
      }
      const std::string pid = holder_pid(fd);
      ::close(fd);
      throw UserError(fmt::format("{}: in use by another nosync process (PID {}); nothing was written", dir, pid),
                      fmt::format("two runs cannot share a directory: wait for PID {} to end, or choose another "
                                  "--run-dir",
                                  pid));
    }
    if (same_file(fd, path_)) {
      const std::string pid = fmt::format("{}\n", static_cast<long>(::getpid()));
      if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        const int err = errno;
        ::close(fd);
        util::throw_io("write", path_, err);
      }
      fd_ = fd;
      return;
    }
    ::close(fd);
  }
  throw UserError(fmt::format("{}: could not take the lock: other processes keep replacing it", path_),
                  "stop the other nosync processes that use this run directory");
}

RunDirLock::~RunDirLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still holding it: a waiter then sees a new file (same_file)
  ::close(fd_);
}

RunDirKind inspect_run_dir(const std::string& dir) {
  if (!util::path_exists(dir)) return RunDirKind::kAbsent;
  if (!util::is_dir(dir)) throw util::io_error("use as run directory", dir, ENOTDIR);
  bool any = false;
  try {
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename() != RunDirLock::kFileName) any = true;
  } catch (const fs::filesystem_error& e) {
    util::throw_fs(e);
  }
  if (!any) return RunDirKind::kAbsent;
  if (!util::path_exists(dir + "/config.toml")) return RunDirKind::kForeign;
  if (util::path_exists(dir + "/summary.json") || has_checkpoint(dir)) return RunDirKind::kRun;
  return RunDirKind::kFresh;
}

NewRunDir::NewRunDir(const std::string& dir) : dir_(dir) {
  if (util::path_exists(dir) && !util::is_dir(dir)) throw util::io_error("use as run directory", dir, ENOTDIR);
  std::error_code ec;
  created_ = fs::create_directories(dir, ec);  // true for only one of two racing processes
  if (ec) throw util::io_error("create the run directory", dir, ec.value());
  try {
    lock_ = std::make_unique<RunDirLock>(dir);
    switch (inspect_run_dir(dir)) {
      case RunDirKind::kRun:
        throw UserError(fmt::format("{}: already holds a run", dir),
                        fmt::format("continue it with --resume {}, or choose another --run-dir", dir));
      case RunDirKind::kForeign:
        throw UserError(fmt::format("{}: holds files but no config.toml, so it is not a nosync run; nothing was "
                                    "written",
                                    dir),
                        "choose a new or empty --run-dir");
      case RunDirKind::kFresh:  // died before its first checkpoint: start it again from nothing
        fs::remove(dir + "/metrics.jsonl", ec);
        break;
      case RunDirKind::kAbsent:
        break;
    }
  } catch (...) {
    abandon();
    throw;
  }
}

NewRunDir::~NewRunDir() = default;

void NewRunDir::abandon() {
  lock_.reset();
  if (created_) ::rmdir(dir_.c_str());  // only if still empty
  created_ = false;
}

}  // namespace nosync::app
