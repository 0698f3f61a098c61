// RateBucket: one client's token bucket, refilled from the loop clock when
// it is used, so a rate limit costs no timer per client. Pure: no clock of
// its own, every call is told `now`.
//
// The bucket holds thousandths of a request: a second refills `rate`
// requests (rate * 1000 in these units per second, i.e. `rate` per ms), up to
// `burst`. A request takes one when there is one. A charge for fan-out
// (RateLimit::charge) may take the bucket below zero, down to rate_close_ms
// of refill: a client that publishes to a huge room waits before it is
// served again.
//
// Refused without a pause: refusals no more than pause_ms apart form one
// run; a run that lasts close_ms says the client keeps going past its limit,
// and it is closed (GOODBYE LIMIT) rather than answered BUSY forever.
#pragma once

#include <algorithm>
#include <cstdint>

namespace hazel {

struct RateBucket {
  int64_t milli = 0;          // requests x 1000; negative: in debt
  uint64_t last_ms = 0;       // when it was last refilled
  uint64_t run_start_ms = 0;  // first refusal of the current run
  uint64_t last_refused_ms = 0;
  bool refusing = false;      // a run of refusals is under way
};

class RateLimit {
 public:
  enum class Take : uint8_t { kOk, kRefused, kClose };

  RateLimit(uint32_t rate, uint32_t burst, uint32_t close_ms, uint32_t pause_ms)
      : rate_(rate),
        cap_(int64_t{burst ? burst : rate} * 1000),
        floor_(-int64_t{rate} * close_ms),
        close_ms_(close_ms),
        pause_ms_(pause_ms) {}

  bool enabled() const { return rate_ > 0; }

  // A fresh client starts with a full bucket.
  void start(RateBucket& b, uint64_t now) const {
    b = RateBucket{};
    b.milli = cap_;
    b.last_ms = now;
  }

  Take take(RateBucket& b, uint64_t now) const {
    refill(b, now);
    if (b.milli >= 1000) {
      b.milli -= 1000;
      return Take::kOk;
    }
    if (!b.refusing || now - b.last_refused_ms > pause_ms_) {
      b.refusing = true;
      b.run_start_ms = now;
    }
    b.last_refused_ms = now;
    return now - b.run_start_ms >= close_ms_ ? Take::kClose : Take::kRefused;
  }

  void charge(RateBucket& b, uint64_t now, uint32_t units) const {
    refill(b, now);
    b.milli = std::max(b.milli - int64_t{units} * 1000, floor_);
  }

 private:
  void refill(RateBucket& b, uint64_t now) const {
    if (rate_ == 0 || now <= b.last_ms) return;
    // Cap the elapsed time first: the product cannot overflow.
    uint64_t full_ms = static_cast<uint64_t>(cap_ - floor_) / rate_ + 1;
    uint64_t elapsed = std::min(now - b.last_ms, full_ms);
    b.milli = std::min(b.milli + static_cast<int64_t>(elapsed * rate_), cap_);
    b.last_ms = now;
  }

  uint64_t rate_;
  int64_t cap_;
  int64_t floor_;
  uint64_t close_ms_;
  uint64_t pause_ms_;
};

}  // namespace hazel
