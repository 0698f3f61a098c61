#include "bench/driver.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "bench/clock.h"
#include "bench/exit.h"

namespace hazel_bench {

namespace {

constexpr size_t kReadBufferSize = 256 * 1024;
constexpr int kMaxEvents = 512;
// Opening thousands of sockets at once overflows the server's accept queue,
// and every dropped handshake costs a one-second retransmit. A connection
// counts as opening until its setup is answered, which proves the server has
// accepted it.
constexpr size_t kMaxOpening = 256;

}  // namespace

Driver::Driver(const addrinfo& addr, std::string server_name,
               size_t connections, DriverSink& sink)
    : addr_(addr),
      server_name_(std::move(server_name)),
      sink_(sink),
      socks_(connections),
      rbuf_(kReadBufferSize) {}

Driver::~Driver() {
  for (Socket& s : socks_) {
    if (s.fd >= 0) close(s.fd);
  }
  if (epfd_ >= 0) close(epfd_);
}

void Driver::run(const volatile sig_atomic_t& interrupted) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) fatal("epoll_create1: %s", std::strerror(errno));
  std::array<epoll_event, kMaxEvents> events{};
  while (!stop_ && !interrupted) {
    while (next_connect_ < socks_.size() && opening_ < kMaxOpening && !stop_) {
      start_connect(next_connect_++);
    }
    int n = epoll_wait(epfd_, events.data(), kMaxEvents, timeout_ms(now_ns()));
    if (n < 0) {
      if (errno == EINTR) continue;
      fatal("epoll_wait: %s", std::strerror(errno));
    }
    for (int i = 0; i < n && !stop_; ++i) {
      const epoll_event& ev = events[static_cast<size_t>(i)];
      on_event(static_cast<size_t>(ev.data.u64), ev.events);
    }
    sink_.on_wakeup(now_ns());
  }
}

int Driver::timeout_ms(uint64_t now) const {
  uint64_t next = sink_.next_wakeup_ns();
  if (next <= now) return 0;
  uint64_t ms = (next - now + 999'999) / 1'000'000;
  return static_cast<int>(std::min<uint64_t>(ms, 1000));
}

void Driver::start_connect(size_t i) {
  Socket& s = socks_[i];
  s.fd = socket(addr_.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.fd < 0) {
    fatal(
        "socket: %s%s", std::strerror(errno),
        errno == EMFILE ? " (raise ulimit -n above the connection count)" : "");
  }
  // Requests are small and latency is the point: no Nagle delay.
  int one = 1;
  if (setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
    fatal("setsockopt TCP_NODELAY: %s", std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.u64 = i;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, s.fd, &ev) < 0) {
    fatal("epoll_ctl: %s", std::strerror(errno));
  }
  s.want_out = true;
  ++opening_;
  if (connect(s.fd, addr_.ai_addr, addr_.ai_addrlen) < 0 &&
      errno != EINPROGRESS) {
    fatal("connect %s: %s", server_name_.c_str(), std::strerror(errno));
  }
  // Connected or in progress: either way EPOLLOUT reports the outcome.
}

void Driver::on_event(size_t i, uint32_t events) {
  Socket& s = socks_[i];
  if (!s.connected) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err != 0) {
      fatal("connect %s: %s", server_name_.c_str(), std::strerror(err));
    }
    s.connected = true;
    want_output(i, false);
    sink_.on_connected(i);
    if (!stop_) flush(i);
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(i);
  if ((events & EPOLLOUT) && !stop_) flush(i);
}

void Driver::want_output(size_t i, bool on) {
  Socket& s = socks_[i];
  if (s.want_out == on) return;
  epoll_event ev{};
  ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  ev.data.u64 = i;
  if (epoll_ctl(epfd_, EPOLL_CTL_MOD, s.fd, &ev) < 0) {
    fatal("epoll_ctl: %s", std::strerror(errno));
  }
  s.want_out = on;
}

// Writes what is queued; what the socket does not take waits for EPOLLOUT.
// Requests queued while handling one read go out in this one call.
void Driver::flush(size_t i) {
  Socket& s = socks_[i];
  while (s.out_off < s.out.size()) {
    ssize_t w = send(s.fd, s.out.data() + s.out_off, s.out.size() - s.out_off,
                     MSG_NOSIGNAL);
    if (w >= 0) {
      s.out_off += static_cast<size_t>(w);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      want_output(i, true);
      return;
    }
    std::string what = std::string("write: ") + std::strerror(errno);
    sink_.on_broken(i, what.c_str());
    return;
  }
  s.out.clear();
  s.out_off = 0;
  want_output(i, false);
}

// One read per wakeup keeps the connections fair. Messages are parsed straight
// from the shared buffer; only a trailing partial one is copied aside.
void Driver::on_readable(size_t i) {
  Socket& s = socks_[i];
  ssize_t r = recv(s.fd, rbuf_.data(), rbuf_.size(), 0);
  if (r == 0) {
    sink_.on_broken(i, "the server closed the connection");
    return;
  }
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    std::string what = std::string("read: ") + std::strerror(errno);
    sink_.on_broken(i, what.c_str());
    return;
  }
  auto n = static_cast<size_t>(r);
  if (s.in.empty()) {
    size_t used = sink_.on_input(i, rbuf_.data(), n);
    if (used < n)
      s.in.assign(reinterpret_cast<char*>(rbuf_.data() + used), n - used);
  } else {
    s.in.append(reinterpret_cast<char*>(rbuf_.data()), n);
    size_t used = sink_.on_input(
        i, reinterpret_cast<const uint8_t*>(s.in.data()), s.in.size());
    s.in.erase(0, used);
  }
  if (!stop_) flush(i);
}

}  // namespace hazel_bench
