#include "in_process.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core.h"
#include "log.h"

namespace hazel::fuzz {

namespace {
// Small enough that a few frames fill a socket, so the server sees partial
// writes and a backed-up client; the kernel doubles it and rounds it up.
constexpr int kSocketBuffer = 4096;
// Turns of settle() before the loop counts as never going quiet. A busy
// run needs a few hundred.
constexpr int kMaxTurns = 200000;
}  // namespace

InProcessServer::InProcessServer(Config cfg) {
  cfg.handle_signals = false;
  cfg.builtin_services = true;
  // start() is never called (nothing listens), and it is what applies
  // the log level.
  set_log_level(cfg.log_level);
  daemon_ = std::make_unique<Daemon>(std::move(cfg));
  loop().use_manual_clock();
}

InProcessServer::~InProcessServer() {
  // Every client closes; the daemon then goes with whatever it still holds
  // (a client lingering, a session pending), as at the end of a run.
  for (size_t i = 0; i < clients_.size(); ++i) close(i);
  settle();
  std::vector<int> server_fds;
  for (End& p : clients_) server_fds.push_back(p.server_fd);
  daemon_.reset();
  // Nothing has opened a descriptor since: a number still open is one the
  // daemon leaked.
  for (int fd : server_fds) {
    FUZZ_CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF,
               "fd %d of a client is still open after the daemon is gone", fd);
  }
}

Loop& InProcessServer::loop() { return detail::core_of(*daemon_).loop; }

size_t InProcessServer::connect() {
  int sv[2];
  int rc = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
  FUZZ_CHECK(rc == 0, "socketpair: %s", strerror(errno));
  for (int fd : sv) {
    int size = kSocketBuffer;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  End p;
  p.fd = sv[0];
  p.server_fd = sv[1];
  clients_.push_back(std::move(p));
  detail::core_of(*daemon_).message.on_accept(sv[1]);
  return clients_.size() - 1;
}

void InProcessServer::send(size_t i, std::string_view bytes) {
  clients_[i].tx.append(bytes);
}

void InProcessServer::shut_write(size_t i) { clients_[i].shut_pending = true; }

void InProcessServer::close(size_t i) {
  End& p = clients_[i];
  if (p.fd < 0) return;
  ::close(p.fd);
  p.fd = -1;
  p.tx.clear();
  p.tx_off = 0;
  p.shut_pending = false;
}

void InProcessServer::set_reading(size_t i, bool on) { clients_[i].reading = on; }

void InProcessServer::set_read_limit(size_t i, size_t bytes) {
  clients_[i].read_limit = bytes;
}

void InProcessServer::set_write_limit(size_t i, size_t bytes) {
  clients_[i].write_limit = bytes;
}

size_t InProcessServer::write_some(End& p) {
  size_t moved = 0;
  while (p.fd >= 0 && p.tx_off < p.tx.size()) {
    size_t want = p.tx.size() - p.tx_off;
    if (p.write_limit > 0) {
      if (moved >= p.write_limit) break;
      want = std::min(want, p.write_limit - moved);
    }
    ssize_t n = ::send(p.fd, p.tx.data() + p.tx_off, want,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // The server closed: what is left can never arrive.
      p.tx.clear();
      p.tx_off = 0;
      break;
    }
    p.tx_off += static_cast<size_t>(n);
    moved += static_cast<size_t>(n);
  }
  if (p.tx_off == p.tx.size()) {
    p.tx.clear();
    p.tx_off = 0;
    if (p.shut_pending && p.fd >= 0) {
      shutdown(p.fd, SHUT_WR);
      p.shut_pending = false;
      ++moved;  // the server has an event to see
    }
  }
  return moved;
}

size_t InProcessServer::read_some(End& p) {
  size_t moved = 0;
  char buf[16384];
  while (p.fd >= 0 && p.reading && !p.eof) {
    size_t want = sizeof buf;
    if (p.read_limit > 0) {
      if (moved >= p.read_limit) break;
      want = std::min(want, p.read_limit - moved);
    }
    ssize_t n = ::recv(p.fd, buf, want, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      p.eof = true;  // reset
      break;
    }
    if (n == 0) {
      p.eof = true;
      break;
    }
    p.rx.append(buf, static_cast<size_t>(n));
    moved += static_cast<size_t>(n);
  }
  return moved;
}

void InProcessServer::settle() {
  int quiet = 0;
  for (int turn = 0; quiet < 2; ++turn) {
    FUZZ_CHECK(turn < kMaxTurns, "the loop did not go quiet in %d turns",
               kMaxTurns);
    size_t moved = 0;
    for (End& p : clients_) moved += write_some(p);
    int events = loop().run_once(0);
    for (End& p : clients_) moved += read_some(p);
    quiet = (moved == 0 && events == 0) ? quiet + 1 : 0;
  }
}

void InProcessServer::advance(uint64_t ms) {
  loop().advance_clock(ms);
  settle();
}

bool take_frame(std::string& rx, uint32_t max_frame, FrameHeader* h,
                std::string* body) {
  auto* p = reinterpret_cast<const uint8_t*>(rx.data());
  Decoded d = decode(p, rx.size(), max_frame, Peer::kClient);
  FUZZ_CHECK(d.status != DecodeStatus::kError,
             "the server sent a frame a client cannot decode (GOODBYE %s)",
             goodbye_name(d.error));
  if (d.status != DecodeStatus::kFrame) return false;
  *h = d.header;
  body->assign(rx, kHeaderSize, d.header.length);
  rx.erase(0, kHeaderSize + d.header.length);
  return true;
}

}  // namespace hazel::fuzz
