// Quoting for /bin/sh command lines.
#include "nosync/util/shell.h"

namespace nosync::util {

std::string shell_quote(const std::string& s) {
  // Inside single quotes nothing is special but the quote itself: close, escape it, reopen.
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace nosync::util
