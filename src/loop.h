// Loop: the reactor. One epoll instance, an fd-indexed table of handlers (no
// map lookup per event), a monotonic clock read once per turn, a timer wheel
// driven by that clock, and an end-of-turn hook where corked output is
// written and closed clients are freed.
//
// Level-triggered on purpose: a handler may stop reading after a fair share
// of bytes and the kernel reports the fd again next turn, so one busy client
// cannot starve the rest, and no handler has to drain to EAGAIN to stay
// correct. EPOLLOUT is only registered while output is pending, so the level
// trigger costs nothing for idle writers.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "timer_wheel.h"

namespace hazel {

class IoHandler {
 public:
  virtual void on_io(uint32_t events) = 0;

 protected:
  ~IoHandler() = default;
};

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Creates the epoll and wake-up fds. `err` gets context on failure.
  bool init(std::string* err);

  bool add(int fd, uint32_t events, IoHandler* h);
  bool modify(int fd, uint32_t events);
  // Unregisters `fd`; events already collected this turn are not delivered.
  void remove(int fd);

  // Blocks the listed signals for this thread and reports them through the
  // loop (signalfd) to the on_signal hook, so a signal never interrupts a
  // handler half way.
  bool watch_signals(const int* signals, size_t n, std::string* err);

  // Runs turns until stop(). Each turn: wait, dispatch I/O, fire timers, run
  // the end-of-turn hook.
  void run();
  // One turn, waiting at most `max_wait_ms` for I/O (0: only what is ready;
  // -1: until the next timer, as run() does). Returns the number of I/O
  // events dispatched. For callers that drive the loop themselves (fuzz
  // targets, tests) and need to know when it has gone quiet.
  int run_once(int max_wait_ms);
  void stop() { stopping_ = true; }
  // Thread- and signal-safe request: the on_wake hook runs inside the loop.
  void wake();

  using Hook = void (*)(void* arg);
  using SignalHook = void (*)(void* arg, int signo);
  void set_end_of_turn(Hook fn, void* arg) { end_fn_ = fn; end_arg_ = arg; }
  void set_on_wake(Hook fn, void* arg) { wake_fn_ = fn; wake_arg_ = arg; }
  void set_on_signal(SignalHook fn, void* arg) {
    signal_fn_ = fn;
    signal_arg_ = arg;
  }
  // In a child after fork(): closes the loop's own descriptors without
  // touching the epoll set the parent still uses.
  void close_after_fork();

  // The next wait for events lasts at most `ms` (a part that holds output
  // back for a moment must not be left waiting for the next timer).
  void limit_next_wait(int ms) {
    if (max_wait_once_ < 0 || ms < max_wait_once_) max_wait_once_ = ms;
  }

  // Milliseconds since the loop was created, read once per turn.
  uint64_t now_ms() const { return now_ms_; }
  // The same reading in nanoseconds: when this turn began.
  uint64_t turn_ns() const { return turn_ns_; }
  // Nanoseconds since the loop was created, read now (a clock read; with
  // the manual clock, turn_ns()).
  uint64_t read_ns() const { return manual_clock_ ? turn_ns_ : read_clock(); }
  // A clock only the caller moves: from here on the loop no longer reads
  // the monotonic clock, and time passes by advance_clock() alone, so a run
  // does the same thing however loaded the machine is (fuzzing, tests).
  void use_manual_clock() {
    manual_clock_ = true;
    turn_ns_ = now_ms_ * 1000000u;
  }
  // Due timers fire in the next turn.
  void advance_clock(uint64_t ms) {
    now_ms_ += ms;
    turn_ns_ = now_ms_ * 1000000u;
  }
  // From another thread, with a manual clock: moves it by `ms` inside the
  // loop and returns once the turn that did so is over (its timers fired,
  // its output written), so a test knows what the server has done.
  void advance_clock_from_outside(uint64_t ms);
  const uint64_t& clock() const { return now_ms_; }
  TimerWheel& timers() { return timers_; }
  void add_timer(TimerNode* n, uint64_t delay_ms) {
    timers_.add(n, now_ms_ + delay_ms);
  }

 private:
  class WakeHandler;
  class SignalHandler;
  uint64_t read_clock() const;
  int wait_timeout();

  int epfd_ = -1;
  int wakefd_ = -1;
  int sigfd_ = -1;
  std::vector<IoHandler*> handlers_;  // indexed by fd
  std::vector<struct epoll_event> events_;
  TimerWheel timers_;
  uint64_t start_ns_ = 0;
  uint64_t now_ms_ = 0;
  uint64_t turn_ns_ = 0;
  bool stopping_ = false;
  bool manual_clock_ = false;
  int max_wait_once_ = -1;
  std::atomic<bool> woken_{false};
  // advance_clock_from_outside(): milliseconds asked for and not yet
  // applied; how many asks were made, and how many turns have finished
  // all the asks made before them.
  std::atomic<uint64_t> clock_asked_ms_{0};
  std::atomic<uint64_t> clock_asks_{0};
  std::atomic<uint64_t> clock_asks_done_{0};
  uint64_t clock_asks_seen_ = 0;  // in the turn now running
  Hook end_fn_ = nullptr;
  void* end_arg_ = nullptr;
  Hook wake_fn_ = nullptr;
  void* wake_arg_ = nullptr;
  SignalHook signal_fn_ = nullptr;
  void* signal_arg_ = nullptr;
  IoHandler* wake_handler_ = nullptr;
  IoHandler* signal_handler_ = nullptr;
};

}  // namespace hazel
