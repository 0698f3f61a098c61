#include "loop.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log.h"

namespace hazel {

namespace {
constexpr int kMaxEventsPerTurn = 1024;
constexpr int kMaxWaitMs = 1000;
}  // namespace

// The loop's own fds (wake-up eventfd, signalfd) go through the same handler
// table as everything else.
class Loop::WakeHandler final : public IoHandler {
 public:
  explicit WakeHandler(Loop* loop) : loop_(loop) {}
  void on_io(uint32_t) override {
    uint64_t v;
    while (read(loop_->wakefd_, &v, sizeof v) < 0 && errno == EINTR) {
    }
    // The asks count is read before the milliseconds: every ask counted is
    // applied in this turn (a later one may be applied early, never late).
    uint64_t asks = loop_->clock_asks_.load();
    if (asks != loop_->clock_asks_done_.load()) {
      loop_->advance_clock(loop_->clock_asked_ms_.exchange(0));
      loop_->clock_asks_seen_ = asks;
    }
    if (loop_->woken_.exchange(false) && loop_->wake_fn_)
      loop_->wake_fn_(loop_->wake_arg_);
  }

 private:
  Loop* loop_;
};

class Loop::SignalHandler final : public IoHandler {
 public:
  explicit SignalHandler(Loop* loop) : loop_(loop) {}
  void on_io(uint32_t) override {
    struct signalfd_siginfo si;
    ssize_t n;
    while ((n = read(loop_->sigfd_, &si, sizeof si)) == sizeof si) {
      if (loop_->signal_fn_)
        loop_->signal_fn_(loop_->signal_arg_, static_cast<int>(si.ssi_signo));
    }
  }

 private:
  Loop* loop_;
};

Loop::Loop() : events_(kMaxEventsPerTurn) {
  start_ns_ = 0;
  start_ns_ = read_clock();
}

Loop::~Loop() {
  if (sigfd_ >= 0) close(sigfd_);
  if (wakefd_ >= 0) close(wakefd_);
  if (epfd_ >= 0) close(epfd_);
  delete static_cast<WakeHandler*>(wake_handler_);
  delete static_cast<SignalHandler*>(signal_handler_);
}

uint64_t Loop::read_clock() const {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000u +
                static_cast<uint64_t>(ts.tv_nsec);
  return ns - start_ns_;
}

bool Loop::init(std::string* err) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) {
    *err = std::string("epoll_create1: ") + strerror(errno);
    return false;
  }
  wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakefd_ < 0) {
    *err = std::string("eventfd: ") + strerror(errno);
    return false;
  }
  wake_handler_ = new WakeHandler(this);
  if (!add(wakefd_, EPOLLIN, wake_handler_)) {
    *err = std::string("epoll_ctl(eventfd): ") + strerror(errno);
    return false;
  }
  turn_ns_ = read_clock();
  now_ms_ = turn_ns_ / 1000000u;
  return true;
}

void Loop::close_after_fork() {
  for (int* fd : {&sigfd_, &wakefd_, &epfd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

bool Loop::watch_signals(const int* signals, size_t n, std::string* err) {
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < n; ++i) sigaddset(&set, signals[i]);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    *err = "pthread_sigmask: failed";
    return false;
  }
  sigfd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sigfd_ < 0) {
    *err = std::string("signalfd: ") + strerror(errno);
    return false;
  }
  signal_handler_ = new SignalHandler(this);
  if (!add(sigfd_, EPOLLIN, signal_handler_)) {
    *err = std::string("epoll_ctl(signalfd): ") + strerror(errno);
    return false;
  }
  return true;
}

bool Loop::add(int fd, uint32_t events, IoHandler* h) {
  struct epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  size_t idx = static_cast<size_t>(fd);
  if (idx >= handlers_.size()) handlers_.resize(idx * 2 + 64, nullptr);
  handlers_[idx] = h;
  return true;
}

bool Loop::modify(int fd, uint32_t events) {
  struct epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  return epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void Loop::remove(int fd) {
  // The caller closes fd after the turn, so the number cannot be reused (and
  // get a new handler) while this turn's events are still being dispatched.
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  size_t idx = static_cast<size_t>(fd);
  if (idx < handlers_.size()) handlers_[idx] = nullptr;
}

void Loop::wake() {
  woken_ = true;
  uint64_t one = 1;
  // Async-signal-safe: only write(2). EAGAIN means a wake-up is pending.
  ssize_t rc = write(wakefd_, &one, sizeof one);
  (void)rc;
}

int Loop::wait_timeout() {
  // A manual clock does not move while we sleep: only a wake-up matters.
  uint64_t ticks = manual_clock_ ? static_cast<uint64_t>(kMaxWaitMs)
                                 : timers_.next_timeout();
  int ms = ticks > static_cast<uint64_t>(kMaxWaitMs) ? kMaxWaitMs
                                                      : static_cast<int>(ticks);
  if (max_wait_once_ >= 0 && max_wait_once_ < ms) ms = max_wait_once_;
  max_wait_once_ = -1;
  return ms;
}

void Loop::run() {
  stopping_ = false;
  while (!stopping_) run_once(-1);
}

int Loop::run_once(int max_wait_ms) {
  int timeout = wait_timeout();
  if (max_wait_ms >= 0 && max_wait_ms < timeout) timeout = max_wait_ms;
  int n = epoll_wait(epfd_, events_.data(), kMaxEventsPerTurn, timeout);
  if (n < 0) {
    if (errno != EINTR) HZ_ERROR("epoll_wait: %s", strerror(errno));
    n = 0;
  }
  if (!manual_clock_) {
    turn_ns_ = read_clock();
    now_ms_ = turn_ns_ / 1000000u;
  }
  for (int i = 0; i < n; ++i) {
    size_t fd = static_cast<size_t>(events_[static_cast<size_t>(i)].data.fd);
    // nullptr: removed by an earlier handler in this same turn.
    IoHandler* h = fd < handlers_.size() ? handlers_[fd] : nullptr;
    if (h) h->on_io(events_[static_cast<size_t>(i)].events);
  }
  timers_.advance(now_ms_);
  if (end_fn_) end_fn_(end_arg_);
  if (clock_asks_seen_ != 0) {
    clock_asks_done_.store(clock_asks_seen_);
    clock_asks_done_.notify_all();
    clock_asks_seen_ = 0;
  }
  return n;
}

void Loop::advance_clock_from_outside(uint64_t ms) {
  clock_asked_ms_.fetch_add(ms);
  uint64_t ask = clock_asks_.fetch_add(1) + 1;
  uint64_t one = 1;
  ssize_t rc = write(wakefd_, &one, sizeof one);
  (void)rc;
  for (uint64_t done = clock_asks_done_.load(); done < ask;
       done = clock_asks_done_.load())
    clock_asks_done_.wait(done);
}

}  // namespace hazel
