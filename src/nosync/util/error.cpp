// Error helpers shared by every component.
#include "nosync/util/error.h"

namespace nosync {

std::string one_line(const UserError& e) {
  if (e.hint().empty()) return e.what();
  return fmt::format("{} (hint: {})", e.what(), e.hint());
}

void check_failed(const char* file, int line, const char* expr, const std::string& detail) {
  throw InternalError(fmt::format("internal check failed at {}:{}: {} — {}", file, line, expr, detail));
}

}  // namespace nosync
