#include "gateway.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log.h"

namespace hazel {

namespace {
constexpr int kBacklog = 4096;
// Bounded so the listener cannot starve established clients in one turn.
constexpr int kMaxAcceptsPerTurn = 256;
constexpr uint64_t kEmfileLogMs = 10000;
constexpr uint64_t kEmfileBackoffMs = 100;

int open_spare() { return open("/dev/null", O_RDONLY | O_CLOEXEC); }
}  // namespace

Gateway::~Gateway() {
  close_listener();
  if (spare_fd_ >= 0) close(spare_fd_);
}

int listen_socket(const std::string& addr, uint16_t port, bool reuse_port,
                  uint16_t* bound_port, std::string* err) {
  struct sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<struct sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<struct sockaddr_in6*>(&ss);
  int family;
  if (inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
    family = AF_INET;
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
    family = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    *err = "bind " + addr + ": not an IPv4 or IPv6 address";
    return -1;
  }
  std::string where = (family == AF_INET6 ? "[" + addr + "]" : addr) + ":" +
                      std::to_string(port);
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = "socket " + where + ": " + strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Workers of one server share the port; the kernel spreads connections.
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&ss), len) != 0) {
    *err = "bind " + where + ": " + strerror(errno);
    close(fd);
    return -1;
  }
  if (::listen(fd, kBacklog) != 0) {
    *err = "listen " + where + ": " + strerror(errno);
    close(fd);
    return -1;
  }
  len = sizeof ss;
  getsockname(fd, reinterpret_cast<struct sockaddr*>(&ss), &len);
  if (bound_port)
    *bound_port = ntohs(family == AF_INET ? v4->sin_port : v6->sin6_port);
  return fd;
}

bool Gateway::listen(const std::string& addr, uint16_t port, bool reuse_port,
                     std::string* err) {
  fd_ = listen_socket(addr, port, reuse_port, &port_, err);
  if (fd_ < 0) return false;
  spare_fd_ = open_spare();
  return true;
}

bool Gateway::adopt(int fd, std::string* err) {
  struct sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&ss), &len) != 0) {
    *err = std::string("getsockname(listener): ") + strerror(errno);
    return false;
  }
  fd_ = fd;
  port_ = ntohs(ss.ss_family == AF_INET6
                    ? reinterpret_cast<struct sockaddr_in6*>(&ss)->sin6_port
                    : reinterpret_cast<struct sockaddr_in*>(&ss)->sin_port);
  spare_fd_ = open_spare();
  return true;
}

bool Gateway::start(std::string* err) {
  if (!loop_.add(fd_, EPOLLIN, this)) {
    *err = std::string("epoll_ctl(listener): ") + strerror(errno);
    return false;
  }
  return true;
}

void Gateway::close_listener() {
  loop_.timers().cancel(&resume_);
  if (fd_ < 0) return;
  loop_.remove(fd_);
  close(fd_);
  fd_ = -1;
}

void Gateway::on_emfile() {
  // Out of descriptors: the pending connection would wake us forever. Give
  // up the spare, accept and close at once, then take the spare back.
  // Logged once, then at most every kEmfileLogMs with a count: a flood of
  // refused connections must not become a flood of log lines.
  int err = errno;
  uint64_t now = loop_.now_ms();
  if (!emfile_seen_ || now - emfile_logged_ms_ >= kEmfileLogMs) {
    if (emfile_seen_)
      HZ_WARN("accept: %s, %llu connections shed since the last warning",
              strerror(err), static_cast<unsigned long long>(emfile_shed_));
    else
      HZ_WARN("accept: %s, closing spare fd to shed connections",
              strerror(err));
    emfile_seen_ = true;
    emfile_logged_ms_ = now;
    emfile_shed_ = 0;
  }
  if (spare_fd_ < 0) spare_fd_ = open_spare();
  if (spare_fd_ >= 0) {
    close(spare_fd_);
    int fd = accept(fd_, nullptr, nullptr);
    if (fd >= 0) {
      close(fd);
      ++emfile_shed_;
    }
    spare_fd_ = open_spare();
    return;
  }
  // No spare to give up (the whole system is out of files): stop listening
  // for a moment rather than spin on a listener that stays readable.
  loop_.modify(fd_, 0);
  resume_.fire = &Gateway::on_resume;
  resume_.data = this;
  loop_.add_timer(&resume_, kEmfileBackoffMs);
}

void Gateway::on_resume(TimerNode* n) {
  auto* g = static_cast<Gateway*>(n->data);
  if (g->fd_ >= 0) g->loop_.modify(g->fd_, EPOLLIN);
}

void Gateway::on_io(uint32_t) {
  for (int i = 0; i < kMaxAcceptsPerTurn && fd_ >= 0; ++i) {
    int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EMFILE || errno == ENFILE) {
        on_emfile();
        return;
      }
      HZ_WARN("accept: %s", strerror(errno));
      return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sink_.on_accept(fd);
  }
}

}  // namespace hazel
