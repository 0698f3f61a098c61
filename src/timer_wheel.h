// TimerWheel: a hierarchical timing wheel with cascading levels. Pure: it
// never reads a clock; the owner calls advance(now) with its own tick count
// (the loop uses 1 tick = 1 ms of CLOCK_MONOTONIC), so tests drive it with
// a fake `now`.
//
//   near_[256]          expire within the current 256-tick block
//   level_[0][64]       same 2^14-tick block          (bits  8..13 pick slot)
//   level_[1][64]       same 2^20-tick block          (bits 14..19)
//   level_[2][64]       same 2^26-tick block          (bits 20..25)
//   level_[3][64]       same 2^32-tick block          (bits 26..31)
//
// When the low bits of `current_` roll over, the matching slot of the next
// level is re-added ("cascaded") one level down. add() and cancel() are O(1):
// nodes are intrusive (the owner embeds a TimerNode; nothing is allocated)
// and every slot is a circular doubly linked list with a sentinel.
// Delays are clamped to 2^31 ticks (about 24 days at 1 ms).
#pragma once

#include <cstddef>
#include <cstdint>

namespace hazel {

struct TimerNode {
  TimerNode* prev = nullptr;  // nullptr while not armed
  TimerNode* next = nullptr;
  uint64_t expire = 0;
  void (*fire)(TimerNode*) = nullptr;  // called once when the tick passes
  void* data = nullptr;                // for the owner's use in fire()

  bool armed() const { return prev != nullptr; }
};

class TimerWheel {
 public:
  static constexpr uint64_t kMaxDelay = uint64_t{1} << 31;

  explicit TimerWheel(uint64_t now = 0);
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms `n` to fire at tick `expire` (re-arms if already armed). An expire
  // at or before the current tick fires on the next advance().
  void add(TimerNode* n, uint64_t expire);
  // Disarms `n`; a no-op if it is not armed.
  void cancel(TimerNode* n);

  // Moves time forward to `now`, firing every timer whose tick has passed, in
  // tick order. Callbacks may add and cancel timers (their own included); a
  // timer a callback re-arms for the tick being fired fires in that tick, or
  // at most one tick late when re-armed again from there (no busy loop).
  // Returns the number fired.
  size_t advance(uint64_t now);

  uint64_t current() const { return current_; }
  size_t size() const { return size_; }
  // Ticks until the next timer may fire: exact when it sits in the near
  // wheel, otherwise the distance to the next cascade. UINT64_MAX if empty.
  uint64_t next_timeout() const;

 private:
  static constexpr int kNearBits = 8;
  static constexpr int kLevelBits = 6;
  static constexpr int kLevels = 4;
  static constexpr size_t kNear = size_t{1} << kNearBits;
  static constexpr size_t kLevelSlots = size_t{1} << kLevelBits;
  static constexpr uint64_t kNearMask = kNear - 1;
  static constexpr uint64_t kLevelMask = kLevelSlots - 1;

  void place(TimerNode* n);
  void cascade(int level, size_t slot);
  void fire_list(TimerNode* head, size_t* fired);

  TimerNode near_[kNear];
  uint64_t near_bits_[kNear / 64] = {};  // bit i: near_[i] is not empty
  TimerNode level_[kLevels][kLevelSlots];
  TimerNode due_;  // added with an expire already reached
  uint64_t current_;
  size_t size_ = 0;
};

}  // namespace hazel
