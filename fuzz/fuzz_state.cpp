// A checkpoint's state.json from arbitrary text, checked as a resume checks it.
#include <string>

#include "fuzz_support.h"
#include "nosync/train/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return nosync::fuzz::expect_result_or_user_error([&] {
    nosync::train::StateExpectation expect;
    expect.step = 8;
    expect.particle = 1;
    expect.algo = "nosync";
    expect.model = "mlp";
    const auto p = nosync::train::parse_saved_progress(std::string(reinterpret_cast<const char*>(data), size), expect,
                                                       "fuzz");
    // What is accepted is what a resume can use.
    if (p.step != 8 || p.step > p.total_steps || p.loader_position < 0 || !(p.wall_s >= 0) || !(p.train_s >= 0))
      std::abort();
  });
}
