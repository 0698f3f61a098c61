// The one clock hazel-bench measures with: CLOCK_MONOTONIC in nanoseconds.
#pragma once

#include <time.h>

#include <cstdint>

namespace hazel_bench {

inline constexpr uint64_t kNsPerSec = 1'000'000'000;

inline uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kNsPerSec +
         static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t seconds_to_ns(double s) {
  return static_cast<uint64_t>(s * static_cast<double>(kNsPerSec));
}

}  // namespace hazel_bench
