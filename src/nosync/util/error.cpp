// Error helpers shared by every component.
#include "nosync/util/error.h"

#include <c10/util/Exception.h>

namespace nosync {

std::string one_line(const UserError& e) {
  if (e.hint().empty()) return e.what();
  return fmt::format("{} (hint: {})", e.what(), e.hint());
}

std::string first_line(const std::exception& e) {
  const auto* c10e = dynamic_cast<const c10::Error*>(&e);
  std::string msg = c10e ? c10e->what_without_backtrace() : e.what();
  const auto nl = msg.find('\n');
  if (nl != std::string::npos) msg.resize(nl);
  return msg;
}

void check_failed(const char* file, int line, const char* expr, const std::string& detail) {
  throw InternalError(fmt::format("internal check failed at {}:{}: {} — {}", file, line, expr, detail));
}

}  // namespace nosync
