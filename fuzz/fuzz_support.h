// What every fuzz target promises: on any input the code under test returns normally or throws
// nosync::UserError (a clear message for the user). Any other exception, a crash, a leak or
// undefined behaviour is a bug that libFuzzer reports with the input that caused it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "nosync/util/error.h"

namespace nosync::fuzz {

template <typename Fn>
int expect_result_or_user_error(Fn&& fn) {
  try {
    fn();
  } catch (const UserError& e) {
    if (one_line(e).empty()) {
      std::fprintf(stderr, "UserError with an empty message\n");
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "not a UserError: %s\n", e.what());
    std::abort();
  }
  return 0;
}

}  // namespace nosync::fuzz
