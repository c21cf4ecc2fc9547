// Small file-system helpers with the durability the run directory needs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace nosync::util
