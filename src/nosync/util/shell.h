// Quoting for command lines handed to /bin/sh (std::system, and commands printed for users).
#pragma once

#include <string>

namespace nosync::util {

// `s` as one single-quoted shell word: safe for any bytes, including spaces and quotes.
std::string shell_quote(const std::string& s);

}  // namespace nosync::util
