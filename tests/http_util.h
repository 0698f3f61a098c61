// Helpers for the tests of hazel's HTTP ports over real sockets: a raw
// client connection with deadlines, a parsed response, request builders.
#pragma once

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

namespace hazel::test {

struct HttpReply {
  int status = 0;            // 0: no (parsable) status line arrived
  std::map<std::string, std::string> fields;  // names lowercased
  std::string body;          // everything after the head
  bool closed = false;       // the server closed the connection
};

// One client connection to 127.0.0.1:port.
class HttpConn {
 public:
  explicit HttpConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ADD_FAILURE() << "connect 127.0.0.1:" << port << ": " << strerror(errno);
      close();
      return;
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~HttpConn() { close(); }
  HttpConn(const HttpConn&) = delete;
  HttpConn& operator=(const HttpConn&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads what arrives within `timeout_ms` into in(); stops early once
  // `enough` says so or the server closes. False on a reset.
  template <class Enough>
  bool read_until(Enough enough, int timeout_ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!enough(in_) && !eof_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      end - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return true;
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      char buf[65536];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        reset_ = true;
        return false;
      }
      if (n == 0) eof_ = true;
      in_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  // Everything until the server closes.
  bool read_to_eof(int timeout_ms = 5000) {
    return read_until([](const std::string&) { return false; }, timeout_ms);
  }
  // Until a whole response head is in.
  bool read_head(int timeout_ms = 5000) {
    return read_until(
        [](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; },
        timeout_ms);
  }

  std::string& in() { return in_; }
  bool eof() const { return eof_; }
  bool reset() const { return reset_; }

  // The response in in() so far.
  HttpReply reply() const {
    HttpReply r;
    r.closed = eof_ || reset_;
    size_t end = in_.find("\r\n\r\n");
    if (end == std::string::npos || in_.compare(0, 9, "HTTP/1.1 ") != 0) return r;
    r.status = atoi(in_.c_str() + 9);
    size_t pos = in_.find("\r\n") + 2;
    while (pos < end) {
      size_t eol = in_.find("\r\n", pos);
      std::string line = in_.substr(pos, eol - pos);
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      r.fields[name] = line.substr(v);
      pos = eol + 2;
    }
    r.body = in_.substr(end + 4);
    return r;
  }

 private:
  int fd_ = -1;
  std::string in_;
  bool eof_ = false;
  bool reset_ = false;
};

// Sends `request` on a new connection and reads the whole response.
inline HttpReply http_exchange(uint16_t port, std::string_view request,
                               int timeout_ms = 5000) {
  HttpConn c(port);
  if (!c.ok()) return {};
  EXPECT_TRUE(c.send_all(request));
  EXPECT_TRUE(c.read_to_eof(timeout_ms)) << "connection reset";
  return c.reply();
}

inline std::string http_get(std::string_view path, std::string_view fields = {},
                            std::string_view method = "GET") {
  return std::string(method) + " " + std::string(path) +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + std::string(fields) + "\r\n";
}

// The key of RFC 6455's example; its accept is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
inline constexpr std::string_view kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";

// A WebSocket opening handshake for /ws with `key`.
inline std::string ws_upgrade(std::string_view key = kRfcKey,
                              std::string_view fields = {}) {
  return http_get("/ws",
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: " + std::string(key) +
                      "\r\nSec-WebSocket-Version: 13\r\n" + std::string(fields));
}

}  // namespace hazel::test
