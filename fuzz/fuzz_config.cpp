// Config text: the input as a TOML file, then each of its lines as a --set override.
#include <sstream>
#include <string>

#include "fuzz_support.h"
#include "nosync/app/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nosync::fuzz::expect_result_or_user_error([&] {
    nosync::app::Config c;
    nosync::app::apply_toml(c, text, "fuzz.toml");
    // What loads must print back to TOML that loads again.
    nosync::app::Config again;
    nosync::app::apply_toml(again, nosync::app::to_toml(c), "printed.toml");
    if (nosync::app::to_toml(again) != nosync::app::to_toml(c)) std::abort();
  });
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    nosync::fuzz::expect_result_or_user_error([&] {
      nosync::app::Config c;
      nosync::app::apply_override(c, line);
      nosync::app::check_consistency(c);
    });
  }
  return 0;
}
