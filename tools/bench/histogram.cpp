#include "bench/histogram.h"

#include <cmath>

namespace hazel_bench {

uint64_t Histogram::percentile(double pct) const {
  if (total_ == 0) return 0;
  auto want = static_cast<uint64_t>(
      std::ceil(static_cast<double>(total_) * pct / 100.0));
  want = std::clamp<uint64_t>(want, 1, total_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= want) return std::min(highest_of(i), max_);
  }
  return max_;
}

uint64_t Histogram::highest_of(size_t i) {
  if (i < kSub) return i;
  uint64_t shift = (i - kSub) / kSub;
  uint64_t sub = (i - kSub) % kSub;
  return ((kSub + sub + 1) << shift) - 1;
}

}  // namespace hazel_bench
