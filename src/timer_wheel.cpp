#include "timer_wheel.h"

#include <cstdint>

namespace hazel {

namespace {

void list_init(TimerNode* head) { head->prev = head->next = head; }
bool list_empty(const TimerNode* head) { return head->next == head; }

void list_push(TimerNode* head, TimerNode* n) {
  n->prev = head->prev;
  n->next = head;
  head->prev->next = n;
  head->prev = n;
}

void list_unlink(TimerNode* n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = nullptr;  // poison: armed() is false from now on
}

// Moves every node of `head` onto `into` (emptying `head`).
void list_splice(TimerNode* head, TimerNode* into) {
  list_init(into);
  if (list_empty(head)) return;
  into->next = head->next;
  into->prev = head->prev;
  into->next->prev = into;
  into->prev->next = into;
  list_init(head);
}

}  // namespace

TimerWheel::TimerWheel(uint64_t now) : current_(now) {
  for (auto& h : near_) list_init(&h);
  for (auto& lvl : level_)
    for (auto& h : lvl) list_init(&h);
  list_init(&due_);
}

TimerWheel::~TimerWheel() {
  // Leave owners' nodes disarmed so their destructors see a sane state.
  auto drain = [](TimerNode* head) {
    while (!list_empty(head)) list_unlink(head->next);
  };
  for (auto& h : near_) drain(&h);
  for (auto& lvl : level_)
    for (auto& h : lvl) drain(&h);
  drain(&due_);
}

void TimerWheel::place(TimerNode* n) {
  uint64_t t = n->expire;
  if (t <= current_) {
    list_push(&due_, n);
    return;
  }
  if ((t | kNearMask) == (current_ | kNearMask)) {
    size_t slot = static_cast<size_t>(t & kNearMask);
    list_push(&near_[slot], n);
    near_bits_[slot >> 6] |= uint64_t{1} << (slot & 63);
    return;
  }
  uint64_t mask = uint64_t{1} << (kNearBits + kLevelBits);
  int level = 0;
  for (; level < kLevels - 1; ++level) {
    if ((t | (mask - 1)) == (current_ | (mask - 1))) break;
    mask <<= kLevelBits;
  }
  size_t slot = (t >> (kNearBits + level * kLevelBits)) & kLevelMask;
  list_push(&level_[level][slot], n);
}

void TimerWheel::add(TimerNode* n, uint64_t expire) {
  if (n->armed()) cancel(n);
  if (expire > current_ + kMaxDelay) expire = current_ + kMaxDelay;
  n->expire = expire;
  place(n);
  ++size_;
}

void TimerWheel::cancel(TimerNode* n) {
  if (!n->armed()) return;
  list_unlink(n);
  --size_;
  // The node may have sat in a level list instead; either way a near slot
  // found empty has its bit cleared, which keeps the map exact.
  size_t slot = static_cast<size_t>(n->expire & kNearMask);
  if (list_empty(&near_[slot]))
    near_bits_[slot >> 6] &= ~(uint64_t{1} << (slot & 63));
}

void TimerWheel::cascade(int level, size_t slot) {
  TimerNode moving;
  list_splice(&level_[level][slot], &moving);
  while (!list_empty(&moving)) {
    TimerNode* n = moving.next;
    list_unlink(n);
    place(n);
  }
}

void TimerWheel::fire_list(TimerNode* head, size_t* fired) {
  // Detach first: a callback may re-arm its node into this very slot.
  TimerNode firing;
  list_splice(head, &firing);
  while (!list_empty(&firing)) {
    TimerNode* n = firing.next;
    list_unlink(n);
    --size_;
    ++*fired;
    n->fire(n);
  }
}

size_t TimerWheel::advance(uint64_t now) {
  size_t fired = 0;
  fire_list(&due_, &fired);
  while (current_ < now) {
    uint64_t ct = ++current_;
    // Cascade: when the near bits roll over, pull down the slot of the first
    // level whose index is non-zero (lower levels are empty at that point).
    uint64_t mask = kNear;
    uint64_t time = ct >> kNearBits;
    int level = 0;
    while ((ct & (mask - 1)) == 0 && level < kLevels) {
      size_t idx = static_cast<size_t>(time & kLevelMask);
      if (idx != 0 || level == kLevels - 1) {
        cascade(level, idx);
        break;
      }
      mask <<= kLevelBits;
      time >>= kLevelBits;
      ++level;
    }
    size_t slot = static_cast<size_t>(ct & kNearMask);
    near_bits_[slot >> 6] &= ~(uint64_t{1} << (slot & 63));
    fire_list(&near_[slot], &fired);  // re-adds set the bit again
    // Timers that callbacks added for this tick fire in this tick too, in one
    // pass: what that pass adds for the current tick fires one tick later,
    // so a timer re-arming itself with no delay cannot spin.
    fire_list(&due_, &fired);
  }
  return fired;
}

uint64_t TimerWheel::next_timeout() const {
  if (size_ == 0) return UINT64_MAX;
  if (!list_empty(&due_)) return 0;
  // First occupied near slot after the current one, from the bit map.
  size_t pos = static_cast<size_t>(current_ & kNearMask);
  for (size_t i = pos + 1; i < kNear;) {
    uint64_t word = near_bits_[i >> 6] >> (i & 63);
    if (word != 0) return i + static_cast<size_t>(__builtin_ctzll(word)) - pos;
    i = (i | 63) + 1;
  }
  return kNear - pos;  // the next cascade may bring timers down
}

}  // namespace hazel
