#include "bench/loris.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/clock.h"
#include "bench/exit.h"
#include "hazel/builtins.h"
#include "hazel/frame.h"

namespace hazel_bench {

namespace {

// The body trickles: a hundredth of it every 100 ms per connection, so a
// frame would be whole after 10 s (but for its last byte, never sent).
constexpr uint64_t kTrickleNs = 100'000'000;
constexpr size_t kTrickleParts = 100;

struct Attacker {
  int fd = -1;
  bool connecting = false;
  size_t sent = 0;
  size_t allowed = 0;  // bytes it may have sent by now
  std::string in;  // what the server sent (a GOODBYE, normally)
};

struct Tally {
  uint64_t opened = 0;
  uint64_t closed = 0;         // by the server
  uint64_t goodbye_limit = 0;  // ... with GOODBYE 8 LIMIT first
  uint64_t goodbye_other = 0;
  uint64_t bytes_sent = 0;
};

bool open_one(Attacker& a, const addrinfo& addr, Tally& t) {
  a = Attacker{};
  a.fd = socket(addr.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (a.fd < 0) return false;
  if (connect(a.fd, addr.ai_addr, addr.ai_addrlen) != 0 &&
      errno != EINPROGRESS) {
    close(a.fd);
    a.fd = -1;
    return false;
  }
  a.connecting = true;
  a.allowed = hazel::kHeaderSize;
  ++t.opened;
  return true;
}

void closed_by_server(Attacker& a, Tally& t) {
  ++t.closed;
  if (a.in.size() >= hazel::kHeaderSize &&
      static_cast<uint8_t>(a.in[3]) == static_cast<uint8_t>(hazel::Kind::kGoodbye)) {
    auto code = hazel::get_u16(reinterpret_cast<const uint8_t*>(a.in.data()) + 6);
    if (code == static_cast<uint16_t>(hazel::Goodbye::kLimit)) ++t.goodbye_limit;
    else ++t.goodbye_other;
  }
  close(a.fd);
  a.fd = -1;
}

}  // namespace

int run_loris(const Options& o, const addrinfo& addr,
              const volatile sig_atomic_t& interrupted) {
  if (o.payload < 2) fatal("loris needs -s of at least 2 bytes");
  // The frame announced in full, sent but for its last byte.
  std::string wire = hazel::encode_frame(
      hazel::Kind::kRequest, hazel::echo::kId, hazel::echo::kEcho, 1,
      std::string(o.payload, 'L'));
  wire.pop_back();

  std::vector<Attacker> conns(o.connections);
  std::vector<pollfd> fds(o.connections);
  Tally t;
  const uint64_t end = now_ns() + seconds_to_ns(o.warmup + o.seconds);
  char buf[4096];
  const size_t step = std::max<size_t>(1, o.payload / kTrickleParts);
  uint64_t next_step = now_ns() + kTrickleNs;
  while (now_ns() < end && interrupted == 0) {
    bool stepped = now_ns() >= next_step;
    if (stepped) next_step += kTrickleNs;
    for (size_t i = 0; i < conns.size(); ++i) {
      if (conns[i].fd < 0) open_one(conns[i], addr, t);
      Attacker& a = conns[i];
      if (stepped) a.allowed = std::min(wire.size(), a.allowed + step);
      fds[i].fd = a.fd;
      fds[i].events = POLLIN;
      if (a.connecting || a.sent < a.allowed) fds[i].events |= POLLOUT;
      fds[i].revents = 0;
    }
    if (poll(fds.data(), fds.size(), 50) < 0 && errno != EINTR)
      fatal("poll: %s", std::strerror(errno));
    for (size_t i = 0; i < conns.size(); ++i) {
      Attacker& a = conns[i];
      if (a.fd < 0 || fds[i].revents == 0) continue;
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = read(a.fd, buf, sizeof buf);
        if (n > 0) {
          if (a.in.size() < 64) a.in.append(buf, static_cast<size_t>(n));
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          closed_by_server(a, t);
          continue;
        }
      }
      if (fds[i].revents & POLLOUT) {
        a.connecting = false;
        if (a.sent >= a.allowed) continue;
        ssize_t n = send(a.fd, wire.data() + a.sent, a.allowed - a.sent,
                         MSG_NOSIGNAL);
        if (n > 0) {
          a.sent += static_cast<size_t>(n);
          t.bytes_sent += static_cast<uint64_t>(n);
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          closed_by_server(a, t);
        }
      }
    }
  }
  size_t holding = 0;
  for (Attacker& a : conns) {
    if (a.fd >= 0 && a.sent > hazel::kHeaderSize) ++holding;
    if (a.fd >= 0) close(a.fd);
  }
  if (o.json) {
    std::printf(
        "{\"mode\": \"loris\", \"connections\": %zu, \"announced\": %zu, "
        "\"opened\": %llu, \"closed_by_server\": %llu, \"goodbye_limit\": %llu, "
        "\"goodbye_other\": %llu, \"bytes_sent\": %llu, \"holding_at_end\": %zu}\n",
        o.connections, o.payload, static_cast<unsigned long long>(t.opened),
        static_cast<unsigned long long>(t.closed),
        static_cast<unsigned long long>(t.goodbye_limit),
        static_cast<unsigned long long>(t.goodbye_other),
        static_cast<unsigned long long>(t.bytes_sent), holding);
  } else {
    std::printf("loris        %zu connections announcing %zu bytes\n"
                "opened       %llu\n"
                "closed       %llu by the server (%llu GOODBYE LIMIT, %llu other)\n"
                "sent         %llu bytes\n"
                "holding      %zu frames started at the end\n",
                o.connections, o.payload,
                static_cast<unsigned long long>(t.opened),
                static_cast<unsigned long long>(t.closed),
                static_cast<unsigned long long>(t.goodbye_limit),
                static_cast<unsigned long long>(t.goodbye_other),
                static_cast<unsigned long long>(t.bytes_sent), holding);
  }
  return kExitOk;
}

}  // namespace hazel_bench
