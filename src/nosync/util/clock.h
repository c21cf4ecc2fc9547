// The one clock every timing in nosync reads: steady, so wall-clock changes never bend a rate.
#pragma once

#include <chrono>

namespace nosync::util {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace nosync::util
