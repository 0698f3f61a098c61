// RequestDurations: how long clients' REQUESTs take, per service, from the
// start of the loop turn that read one (the loop reads its clock then
// anyway, so the time a request waits behind the rest of that turn's input
// counts, as its client feels it) to the end of the turn that queued its
// REPLY, when that turn's output has been written (an answer given later
// through the session table, from a timer or another worker, included; a
// TIMEOUT counts at its deadline). What /metrics shows as
// hazel_request_duration_seconds.
//
// Fixed buckets, one table for every service and for the exposition, so a
// histogram is an array of counters: observing one request is a few
// compares and two adds, and allocates nothing. Pure: the caller reads the
// clock and says how many nanoseconds passed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>
#include <vector>

namespace hazel::detail {

struct DurationBucket {
  uint64_t le_ns;         // upper bound, inclusive
  std::string_view le;    // the same in seconds, as the `le` label says it
};

// From 100 us (a request answered in its handler on a quiet loop) to 10 s
// (past the default 5 s request timeout); +Inf follows.
inline constexpr DurationBucket kDurationBuckets[] = {
    {100'000, "0.0001"},      {250'000, "0.00025"},      {500'000, "0.0005"},
    {1'000'000, "0.001"},     {2'500'000, "0.0025"},     {5'000'000, "0.005"},
    {10'000'000, "0.01"},     {25'000'000, "0.025"},     {50'000'000, "0.05"},
    {100'000'000, "0.1"},     {250'000'000, "0.25"},     {500'000'000, "0.5"},
    {1'000'000'000, "1"},     {2'500'000'000, "2.5"},    {5'000'000'000, "5"},
    {10'000'000'000, "10"},
};
inline constexpr size_t kDurationBucketCount = std::size(kDurationBuckets);

struct DurationHistogram {
  // Requests per bucket (not cumulative); the last one is +Inf.
  uint64_t counts[kDurationBucketCount + 1] = {};
  uint64_t sum_ns = 0;

  void observe(uint64_t ns) {
    size_t i = 0;
    while (i < kDurationBucketCount && ns > kDurationBuckets[i].le_ns) ++i;
    ++counts[i];
    sum_ns += ns;
  }
  uint64_t count() const {
    uint64_t n = 0;
    for (uint64_t c : counts) n += c;
    return n;
  }
};

// One histogram per mounted service, found by service id with one index.
class RequestDurations {
 public:
  // A service was mounted under `service`: it starts from zero. The only
  // place that allocates.
  void track(uint16_t service) {
    if (service >= slot_of_.size()) slot_of_.resize(size_t{service} + 1, 0);
    if (slot_of_[service] == 0) {
      histograms_.emplace_back();
      slot_of_[service] = static_cast<uint32_t>(histograms_.size());
    } else {
      histograms_[slot_of_[service] - 1] = DurationHistogram();
    }
  }

  void observe(uint16_t service, uint64_t ns) {
    if (service < slot_of_.size() && slot_of_[service] != 0)
      histograms_[slot_of_[service] - 1].observe(ns);
  }

  // nullptr for a service never mounted.
  const DurationHistogram* find(uint16_t service) const {
    if (service >= slot_of_.size() || slot_of_[service] == 0) return nullptr;
    return &histograms_[slot_of_[service] - 1];
  }

 private:
  std::vector<uint32_t> slot_of_;  // service id -> index + 1 (0: none)
  std::vector<DurationHistogram> histograms_;
};

}  // namespace hazel::detail
