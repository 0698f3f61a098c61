// Latency histogram: log-linear in the manner of HdrHistogram. Values below
// 64 get a bucket each; every power of two above is split into 64 equal
// buckets:
//
//   index  0..63     value 0..63, exact
//   index  64..127   [64, 128)   in steps of 1
//   index 128..191   [128, 256)  in steps of 2
//   ...              [2^k, 2^(k+1)) in steps of 2^(k-6)
//
// so a recorded value is known to within 1/64 (1.6 %) and the whole u64 range
// fits in 3,776 counters. Recording is a bit_width and a shift; percentiles
// walk the counters once. Samples are never stored or sorted.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace hazel_bench {

class Histogram {
 public:
  void record(uint64_t v) {
    ++counts_[index_of(v)];
    ++total_;
    max_ = std::max(max_, v);
  }
  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }

  // Smallest bucket bound below which `pct` percent of samples lie, reported
  // as the bucket's highest value (clamped to the true max); 0 when empty.
  uint64_t percentile(double pct) const;

 private:
  static constexpr unsigned kSubBits = 6;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;  // 64
  static constexpr size_t kBuckets = kSub + (64 - kSubBits) * kSub;

  // Inline: it runs once per reply.
  static size_t index_of(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    unsigned shift = static_cast<unsigned>(std::bit_width(v)) - 1 - kSubBits;
    return static_cast<size_t>(kSub + shift * kSub + ((v >> shift) - kSub));
  }
  static uint64_t highest_of(size_t i);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

}  // namespace hazel_bench
