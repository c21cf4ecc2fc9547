// Durable file writes (temp + fsync + rename + fsync of the directory) and whole-file reads.
#include "nosync/util/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <openssl/evp.h>

#include "nosync/util/error.h"

namespace nosync::util {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// A hint for the errno values a user can do something about.
std::string hint_for(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return "the disk is full; free some space or point the run at another directory";
    case EACCES:
    case EPERM:
      return "check the permissions of the file and its directory";
    case EROFS:
      return "the file system is read-only; point the run at a writable directory";
    case ENOENT:
      return "check that the path exists";
    case EISDIR:
      return "the path is a directory, expected a file";
    case EIO:
      return "the storage device reported an I/O error";
    case ENOTDIR:
      return "a component of the path is a file, not a directory";
    case ENAMETOOLONG:
      return "the path or one of its names is too long; choose a shorter one";
    case ELOOP:
      return "the path has a loop of symbolic links; fix or remove the link";
    case EEXIST:
      return "something of that name exists already; choose another path";
    default:
      return {};
  }
}

// Closes a file descriptor on scope exit unless released.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and returns close()'s errno (0 on success).
  int close_now() {
    int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

std::string parent_dir(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

std::string temp_name_for(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("{}.tmp-{}-{}", path, static_cast<long>(::getpid()), counter++);
}

}  // namespace

UserError io_error(const std::string& what, const std::string& path, int err) {
  return UserError(fmt::format("{}: {} failed: {}", path, what, errno_text(err)), hint_for(err));
}

void throw_io(const std::string& what, const std::string& path, int err) { throw io_error(what, path, err); }

void throw_fs(const std::filesystem::filesystem_error& e) {
  // what() is "filesystem error: <operation>: <reason> [path1] [path2]": keep the operation.
  std::string op = e.what();
  const std::string prefix = "filesystem error: ";
  if (op.rfind(prefix, 0) == 0) op = op.substr(prefix.size());
  if (const auto colon = op.find(": "); colon != std::string::npos) op.resize(colon);
  if (const auto failed = op.rfind(" failed"); failed != std::string::npos && failed + 7 == op.size()) op.resize(failed);
  const std::string path = e.path1().empty() ? std::string("(no path)") : e.path1().string();
  throw io_error(op, path, e.code().value());
}

bool path_exists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  if (errno == ENOTDIR) return false;  // a file on the way: nothing of that name can exist
  throw_io("stat", path, errno);
}

bool is_dir(const std::string& path) {
  if (!path_exists(path)) return false;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw_io("stat", path, errno);
  return S_ISDIR(st.st_mode);
}

void check_writable_dir(const std::string& dir) {
  if (!is_dir(dir)) throw io_error("open directory", dir, path_exists(dir) ? ENOTDIR : ENOENT);
  if (::access(dir.c_str(), W_OK | X_OK) != 0) throw_io("write access", dir, errno);
}

void write_file_synced(const std::string& path, const void* data, size_t bytes) {
  int raw = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (raw < 0) throw_io("open for writing", path, errno);
  Fd fd(raw);
  const char* p = static_cast<const char*>(data);
  size_t left = bytes;
  while (left > 0) {
    ssize_t n = ::write(fd.get(), p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io("write", path, errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) throw_io("fsync", path, errno);
  if (int err = fd.close_now(); err != 0) throw_io("close", path, err);
}

void fsync_dir(const std::string& dir) {
  int raw = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (raw < 0) throw_io("open directory", dir, errno);
  Fd fd(raw);
  // Some file systems refuse fsync on directories (EINVAL); there is nothing more to do there.
  if (::fsync(fd.get()) != 0 && errno != EINVAL) throw_io("fsync of directory", dir, errno);
}

void write_file_atomic(const std::string& path, const void* data, size_t bytes) {
  const std::string temp = temp_name_for(path);
  try {
    write_file_synced(temp, data, bytes);
    if (::rename(temp.c_str(), path.c_str()) != 0) throw_io("rename into place", path, errno);
  } catch (...) {
    ::unlink(temp.c_str());  // best effort; the old `path` was never touched
    throw;
  }
  fsync_dir(parent_dir(path));
}

void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

std::vector<char> read_file(const std::string& path) {
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) throw_io("open for reading", path, errno);
  Fd fd(raw);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_io("stat", path, errno);
  if (S_ISDIR(st.st_mode)) throw_io("read", path, EISDIR);
  std::vector<char> out;
  if (S_ISREG(st.st_mode)) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io("read", path, errno);
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  return out;
}

std::string read_text(const std::string& path) {
  std::vector<char> bytes = read_file(path);
  return std::string(bytes.begin(), bytes.end());
}

std::string sha256_hex(const void* data, size_t bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  NOSYNC_CHECK(ctx != nullptr, "EVP_MD_CTX_new failed");
  bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, data, bytes) == 1 && EVP_DigestFinal_ex(ctx, digest, &len) == 1;
  EVP_MD_CTX_free(ctx);
  NOSYNC_CHECK(ok && len == 32, "sha256 failed (ok={}, len={})", ok, len);
  static const char* kHex = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

}  // namespace nosync::util
