// The requests a connection has in flight, oldest first.
//
// A ring that doubles when full. Replies nearly always come back in order,
// so the usual match is the oldest entry and is O(1); std::deque would do the
// same but allocates ~0.5 KiB even while empty, which is 5 MB for the idle
// mode's 10,000 connections.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hazel_bench {

// A request on the wire: when it was queued, its session (hazel), and
// whether it belongs to the untimed setup (SET, JOIN, SUBSCRIBE, HELLO):
// 0 for a timed request, else the caller's tag for which setup request.
struct Pending {
  uint64_t sent_ns;
  uint32_t session;
  uint8_t setup;
};

class PendingQueue {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // Entry i, 0 = oldest; i < size().
  const Pending& at(size_t i) const { return slots_[wrap(head_ + i)]; }

  void push(const Pending& p) {
    if (size_ == slots_.size()) grow();
    slots_[wrap(head_ + size_)] = p;
    ++size_;
  }
  // Removes the oldest entry; the queue must not be empty.
  Pending pop() {
    Pending p = slots_[head_];
    head_ = wrap(head_ + 1);
    --size_;
    return p;
  }
  // Removes entry i (0 = oldest), keeping the others in order.
  Pending take(size_t i) {
    Pending p = at(i);
    for (; i > 0; --i) slots_[wrap(head_ + i)] = at(i - 1);
    pop();
    return p;
  }
  // Index of the oldest entry with this session, or size() if none.
  size_t find_session(uint32_t session) const {
    for (size_t i = 0; i < size_; ++i) {
      if (at(i).session == session) return i;
    }
    return size_;
  }

 private:
  size_t wrap(size_t i) const { return i & (slots_.size() - 1); }
  void grow() {
    std::vector<Pending> bigger(std::max<size_t>(4, slots_.size() * 2));
    for (size_t i = 0; i < size_; ++i) bigger[i] = at(i);
    slots_.swap(bigger);
    head_ = 0;
  }

  std::vector<Pending> slots_;  // capacity is always a power of two
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace hazel_bench
