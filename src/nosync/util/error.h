// Errors. Two kinds, kept apart on purpose:
//  - UserError: something the user can fix (bad file, bad config, bad flag). Carries a one-line
//    message that names the file and position, and a hint. The CLI prints it and exits 2.
//  - Invariant failures (NOSYNC_CHECK): a bug in nosync. They print both sides and throw
//    InternalError, which the CLI reports loudly and exits 70.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace nosync {

constexpr int kExitUserError = 2;
constexpr int kExitInternalError = 70;

class UserError : public std::runtime_error {
 public:
  UserError(std::string message, std::string hint = {})
      : std::runtime_error(std::move(message)), hint_(std::move(hint)) {}
  const std::string& hint() const { return hint_; }

 private:
  std::string hint_;
};

class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Formats "message (hint: ...)" as one line, the way the CLI prints a UserError.
std::string one_line(const UserError& e);

// The first line of an exception's message; for a libtorch error (c10::Error) without its C++
// backtrace. For quoting libtorch inside a UserError.
std::string first_line(const std::exception& e);

[[noreturn]] void check_failed(const char* file, int line, const char* expr, const std::string& detail);

}  // namespace nosync

// Invariant check: NOSYNC_CHECK(a == b, "sizes {} vs {}", a, b).
#define NOSYNC_CHECK(cond, ...)                                                                \
  do {                                                                                        \
    if (!(cond)) ::nosync::check_failed(__FILE__, __LINE__, #cond, ::fmt::format(__VA_ARGS__)); \
  } while (0)
