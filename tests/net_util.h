// Helpers for the integration tests: sys op numbers, raw frames, checks of a
// REPLY / PUSH / GOODBYE, INFO parsing, polling with a deadline, a
// non-blocking raw socket for misbehaving clients, and fd limits.
#pragma once

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "hazel/builtins.h"
#include "hazel/client.h"
#include "hazel/frame.h"

namespace hazel::test {

// Short names for sys (0) and echo (1) and the sys ops (hazel/builtins.h).
constexpr uint16_t kSys = sys::kId;
constexpr uint16_t kEcho = echo::kId;

using sys::kHello;
using sys::kInfo;
using sys::kPing;
using sys::kResolve;
using sys::kServices;
using sys::kTell;

using Ms = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

inline int64_t elapsed_ms(SteadyClock::time_point since) {
  return std::chrono::duration_cast<Ms>(SteadyClock::now() - since).count();
}

// Polls `pred` every 5 ms until it holds or `timeout_ms` passes. The
// default is for a loaded machine: waiting costs only when a test fails.
template <class Pred>
bool eventually(Pred pred, int timeout_ms = 10000) {
  const auto start = SteadyClock::now();
  for (;;) {
    if (pred()) return true;
    if (elapsed_ms(start) >= timeout_ms) return false;
    std::this_thread::sleep_for(Ms(5));
  }
}

// A 16-byte header with every field given as is (for malformed input).
inline std::string raw_header(uint8_t m0, uint8_t m1, uint8_t version,
                              uint8_t kind, uint16_t service, uint16_t code,
                              uint32_t session, uint32_t length) {
  std::string h(kHeaderSize, '\0');
  auto* p = reinterpret_cast<uint8_t*>(h.data());
  p[0] = m0;
  p[1] = m1;
  p[2] = version;
  p[3] = kind;
  put_u16(p + 4, service);
  put_u16(p + 6, code);
  put_u32(p + 8, session);
  put_u32(p + 12, length);
  return h;
}

inline std::string request(uint16_t service, uint16_t op, uint32_t session,
                           std::string_view body) {
  return encode_frame(Kind::kRequest, service, op, session, body);
}

inline std::string u64_bytes(uint64_t v) {
  std::string s;
  append_u64(s, v);
  return s;
}

// The hook every test client runs on a REPLY it was not waiting for (set
// in tests/main.cpp): a stray or duplicate answer is a failure.
inline void fail_on_unexpected_reply(const Frame& f) {
  ADD_FAILURE() << "unexpected REPLY: session " << f.header.session
                << ", service " << f.header.service << ", status "
                << f.header.code << ", body '" << f.body.substr(0, 80) << "'";
}

// For a test that provokes REPLYs its client will not wait for (a call
// that gives up before its answer comes): while it lives they are counted
// instead of failing the test.
class AllowUnexpectedReplies {
 public:
  AllowUnexpectedReplies()
      : old_(BlockingClient::set_unexpected_reply_hook(&count_one)) {
    seen().store(0);
  }
  ~AllowUnexpectedReplies() { BlockingClient::set_unexpected_reply_hook(old_); }
  AllowUnexpectedReplies(const AllowUnexpectedReplies&) = delete;
  AllowUnexpectedReplies& operator=(const AllowUnexpectedReplies&) = delete;
  int count() const { return seen().load(); }

 private:
  static std::atomic<int>& seen() {
    static std::atomic<int> n{0};
    return n;
  }
  static void count_one(const Frame&) { seen().fetch_add(1); }
  BlockingClient::UnexpectedReplyHook old_;
};

// Reads one frame of any kind; fails the test (and returns a default frame,
// kind 0) on timeout or close.
inline Frame read_any(BlockingClient& c, int timeout_ms = 3000) {
  Frame f;
  f.header.kind = static_cast<Kind>(0);
  std::string err;
  EXPECT_TRUE(c.read_frame(&f, timeout_ms, &err)) << err;
  return f;
}

// Expects `f` to be a REPLY with status `want`.
inline void expect_status(const Frame& f, Status want) {
  EXPECT_EQ(f.header.kind, Kind::kReply);
  EXPECT_EQ(f.status(), want)
      << "status " << f.header.code << " body '" << f.body << "'";
}

// Expects `f` to be a REPLY to `session` carrying `body`.
inline void expect_reply(const Frame& f, uint32_t session,
                         std::string_view body) {
  EXPECT_EQ(f.header.kind, Kind::kReply);
  EXPECT_EQ(f.header.session, session);
  EXPECT_EQ(f.body, body);
}

// Expects `f` to be a PUSH `service`/`code` (session 0) carrying `body`.
inline void expect_push_frame(const Frame& f, uint16_t service, uint16_t code,
                              std::string_view body) {
  EXPECT_EQ(f.header.kind, Kind::kPush);
  EXPECT_EQ(f.header.service, service);
  EXPECT_EQ(f.header.code, code);
  EXPECT_EQ(f.header.session, 0u);
  EXPECT_EQ(f.body, body);
}

// Expects `f` to be a GOODBYE with code `why`.
inline void expect_goodbye(const Frame& f, Goodbye why) {
  EXPECT_EQ(f.header.kind, Kind::kGoodbye);
  EXPECT_EQ(f.header.code, static_cast<uint16_t>(why))
      << "GOODBYE code " << f.header.code << " body '" << f.body << "'";
}

// Writes bytes as they are; fails the test on error.
inline void write_all(BlockingClient& c, std::string_view bytes) {
  std::string err;
  ASSERT_TRUE(c.write_raw(bytes, &err)) << err;
}

// "<name> <value>\n" lines of sys INFO → map. Malformed lines map to "".
inline std::map<std::string, std::string> parse_info(const std::string& body) {
  std::map<std::string, std::string> m;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string::npos) nl = body.size();
    std::string line = body.substr(pos, nl - pos);
    size_t sp = line.find(' ');
    if (sp == std::string::npos)
      m[line] = "";
    else
      m[line.substr(0, sp)] = line.substr(sp + 1);
    pos = nl + 1;
  }
  return m;
}

// One INFO figure through `c`, or -1 if absent or not a number.
inline int64_t info_value(BlockingClient& c, const std::string& key) {
  Frame f;
  std::string err;
  if (!c.call(kSys, kInfo, "", &f, 3000, &err) || !f.ok()) {
    ADD_FAILURE() << "INFO failed: " << err;
    return -1;
  }
  auto m = parse_info(f.body);
  auto it = m.find(key);
  if (it == m.end() || it->second.empty()) return -1;
  char* end = nullptr;
  long long v = strtoll(it->second.c_str(), &end, 10);
  return *end == '\0' ? v : -1;
}

// The client id HELLO reports, or 0 on failure.
inline uint64_t hello_id(BlockingClient& c) {
  Frame f;
  std::string err;
  if (!c.call(kSys, kHello, "", &f, 3000, &err) || !f.ok()) {
    ADD_FAILURE() << "HELLO failed: " << err;
    return 0;
  }
  size_t at = f.body.find("client=");
  if (at == std::string::npos) return 0;
  return strtoull(f.body.c_str() + at + 7, nullptr, 10);
}

// Everything a raw socket receives until the server closes it, cut into
// frames: what a client that reads late actually gets.
struct RawStream {
  std::vector<Frame> frames;
  size_t trailing = 0;   // bytes after the last whole frame
  bool closed = false;   // EOF or reset seen (not a timeout)
  bool broken = false;   // bytes that are no server frame
};

inline RawStream read_until_closed(int fd, int timeout_ms = 10000) {
  RawStream out;
  std::string in;
  const auto start = SteadyClock::now();
  char buf[65536];
  while (elapsed_ms(start) < timeout_ms) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      in.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0 || errno == ECONNRESET) {
      out.closed = true;
      break;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 50);
  }
  size_t off = 0;
  for (;;) {
    const auto* data = reinterpret_cast<const uint8_t*>(in.data()) + off;
    Decoded d = decode(data, in.size() - off, 1u << 30, Peer::kClient);
    if (d.status == DecodeStatus::kError) out.broken = true;
    if (d.status != DecodeStatus::kFrame) break;
    Frame f;
    f.header = d.header;
    f.body.assign(in, off + kHeaderSize, d.header.length);
    out.frames.push_back(std::move(f));
    off += kHeaderSize + d.header.length;
  }
  out.trailing = in.size() - off;
  return out;
}

// Reads `fd` until the server closes it and checks that the stream ends in
// exactly one GOODBYE, its last frame, with nothing after it. Returns that
// GOODBYE (kind 0 if there was none).
inline Frame last_frame_before_close(int fd, int timeout_ms = 10000) {
  RawStream s = read_until_closed(fd, timeout_ms);
  Frame none;
  none.header.kind = static_cast<Kind>(0);
  EXPECT_TRUE(s.closed) << "the server did not close the connection";
  EXPECT_FALSE(s.broken) << "bytes that are no frame";
  EXPECT_EQ(s.trailing, 0u) << "a partial frame before the close";
  if (s.frames.empty()) {
    ADD_FAILURE() << "no frame at all before the close";
    return none;
  }
  for (size_t i = 0; i + 1 < s.frames.size(); ++i)
    EXPECT_NE(s.frames[i].header.kind, Kind::kGoodbye)
        << "a GOODBYE that is not the last frame (" << i + 1 << " of "
        << s.frames.size() << ")";
  const Frame& last = s.frames.back();
  EXPECT_EQ(last.header.kind, Kind::kGoodbye)
      << "the last frame is kind " << static_cast<int>(last.header.kind);
  return last.header.kind == Kind::kGoodbye ? last : none;
}

// True if a PING round trip works.
inline bool ping_ok(BlockingClient& c, int timeout_ms = 3000) {
  Frame f;
  std::string err;
  return c.call(kSys, kPing, "p", &f, timeout_ms, &err) && f.ok() &&
         f.body == "p";
}

// Closes with RST instead of FIN.
inline void close_with_rst(BlockingClient& c) {
  linger lg{1, 0};
  ASSERT_EQ(setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0)
      << strerror(errno);
  c.close();
}

// Raises the soft RLIMIT_NOFILE to at least `want` (up to the hard limit).
// Returns the soft limit in force afterwards.
inline rlim_t raise_nofile(rlim_t want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want
                      ? want
                      : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

// A non-blocking TCP socket under the test's full control (a client that
// never reads, a tiny receive buffer).
class RawSocket {
 public:
  RawSocket() = default;
  ~RawSocket() { close(); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  // Connects to 127.0.0.1:port; `rcvbuf` > 0 sets SO_RCVBUF first.
  bool connect_v4(uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    if (rcvbuf > 0)
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      return false;
    int fl = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &fl, sizeof fl);
    return true;
  }

  // One non-blocking send. Returns bytes written, 0 if it would block, -1 on
  // error (errno kept).
  ssize_t try_send(std::string_view bytes) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(),
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
      return 0;
    return n;
  }

  int fd() const { return fd_; }
  // True if the server has sent something (or closed) by now.
  bool readable() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Turns `jam` (connected with a tiny receive buffer) into a client with
// megabytes of output queued that it never reads: it sends 64 KiB echo
// requests until the server has handled `handled` frames (INFO frames_in,
// asked through `probe`), past what the kernel's socket buffers absorb.
inline bool jam_output(RawSocket& jam, BlockingClient& probe, int64_t handled = 100,
                       int timeout_ms = 10000) {
  const std::string req = encode_frame(Kind::kRequest, echo::kId, echo::kEcho, 1,
                                       std::string(64 * 1024, 'j'));
  size_t off = 0;
  const auto start = SteadyClock::now();
  while (elapsed_ms(start) < timeout_ms) {
    for (int i = 0; i < 64; ++i) {
      ssize_t n = jam.try_send(std::string_view(req).substr(off));
      if (n < 0) return false;
      if (n == 0) break;
      off = (off + static_cast<size_t>(n)) % req.size();
    }
    if (info_value(probe, "frames_in") >= handled) return true;
    std::this_thread::sleep_for(Ms(5));
  }
  return false;
}

}  // namespace hazel::test
