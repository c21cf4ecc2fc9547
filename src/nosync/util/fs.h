// Small file-system helpers with the durability the run directory needs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "nosync/util/error.h"

namespace nosync::util {

// Writes `path` atomically: a temp file beside it, fsync, rename, fsync of the directory.
// Errors (disk full, permissions) are UserErrors naming the path; the old file is untouched.
void write_file_atomic(const std::string& path, const void* data, size_t bytes);
void write_file_atomic(const std::string& path, const std::string& text);
// Writes and fsyncs `path` (no rename).
void write_file_synced(const std::string& path, const void* data, size_t bytes);
void fsync_dir(const std::string& dir);

// Whole file; missing or unreadable is a UserError naming it.
std::vector<char> read_file(const std::string& path);
std::string read_text(const std::string& path);

std::string sha256_hex(const void* data, size_t bytes);

// The one place a file-system error becomes a user error: "<path>: <what> failed: <strerror>"
// with a hint for the errno values a user can act on (permissions, full disk, read-only,
// missing, not a directory, name too long, symlink loop, ...).
UserError io_error(const std::string& what, const std::string& path, int err);
[[noreturn]] void throw_io(const std::string& what, const std::string& path, int err);
// A std::filesystem error (thrown by a call without an error_code) as the same one line.
[[noreturn]] void throw_fs(const std::filesystem::filesystem_error& e);

// Whether `path` exists: false only when it (or a directory on the way) does not; any other
// failure to look (permission denied, symlink loop, name too long) is a UserError naming it.
bool path_exists(const std::string& path);
bool is_dir(const std::string& path);  // exists and is a directory (same errors)

// Fails with a UserError unless this process may create files in directory `dir`.
void check_writable_dir(const std::string& dir);

}  // namespace nosync::util
