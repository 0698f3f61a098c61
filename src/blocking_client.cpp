// BlockingClient: one TCP connection, blocking calls with timeouts. The
// socket stays non-blocking after connect and every wait goes through poll(),
// so no call can hang past its timeout on a server that stopped talking.
#include "hazel/client.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hazel {

namespace {

using Clock = std::chrono::steady_clock;

// The client does not know the server's --max-frame, and a frame's memory is
// only spent as its bytes actually arrive, so accept anything sane.
constexpr uint32_t kClientMaxFrame = 1u << 30;
// send() and write_raw() have no timeout parameter; a server that stops
// reading must still not block a tool forever.
constexpr int kWriteTimeoutMs = 10000;
constexpr size_t kReadChunk = 64 * 1024;

void set_err(std::string* err, std::string msg) {
  if (err != nullptr) *err = std::move(msg);
}

std::string errno_text(const char* what, int e) {
  return std::string(what) + ": " + std::strerror(e);
}

// A negative timeout means "wait forever"; the deadline is then unused.
struct Deadline {
  explicit Deadline(int timeout_ms)
      : forever(timeout_ms < 0),
        at(Clock::now() + std::chrono::milliseconds(forever ? 0 : timeout_ms)) {}
  int remaining_ms() const {
    if (forever) return -1;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        at - Clock::now());
    if (left.count() <= 0) return 0;
    return static_cast<int>(left.count());
  }
  bool forever;
  Clock::time_point at;
};

// poll() for one fd, retrying on EINTR with the time that is left.
// Returns 1 ready, 0 timed out, -1 error (errno set).
int wait_fd(int fd, short events, const Deadline& dl) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, dl.remaining_ms());
    if (n >= 0) return n;
    if (errno != EINTR) return -1;
  }
}

enum class ReadResult { kData, kTimeout, kEof, kReset, kError };

// Appends whatever the socket has (waiting up to the deadline) to `in`.
ReadResult read_some(int fd, std::string& in, const Deadline& dl,
                     int* saved_errno) {
  char buf[kReadChunk];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      in.append(buf, static_cast<size_t>(n));
      return ReadResult::kData;
    }
    if (n == 0) return ReadResult::kEof;
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) return ReadResult::kReset;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      *saved_errno = errno;
      return ReadResult::kError;
    }
    const int w = wait_fd(fd, POLLIN, dl);
    if (w == 0) return ReadResult::kTimeout;
    if (w < 0) {
      *saved_errno = errno;
      return ReadResult::kError;
    }
  }
}

bool write_all(int fd, std::string_view bytes, const Deadline& dl,
               std::string* err) {
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off,
                             MSG_NOSIGNAL);
    if (n >= 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      set_err(err, errno_text("send", errno));
      return false;
    }
    const int w = wait_fd(fd, POLLOUT, dl);
    if (w == 0) {
      set_err(err, "send: timed out (server is not reading)");
      return false;
    }
    if (w < 0) {
      set_err(err, errno_text("poll", errno));
      return false;
    }
  }
  return true;
}

// Reads more bytes into `in`, turning every way it can fail into a message.
// `timeout_ms` is the caller's original timeout, for the message only.
bool fill_in(int fd, std::string& in, const Deadline& dl, int timeout_ms,
             const char* waiting_for, std::string* err) {
  int e = 0;
  switch (read_some(fd, in, dl, &e)) {
    case ReadResult::kData:
      return true;
    case ReadResult::kTimeout:
      set_err(err, "timed out after " + std::to_string(timeout_ms) +
                       " ms waiting for " + waiting_for);
      return false;
    case ReadResult::kEof:
      set_err(err, "connection closed by server");
      return false;
    case ReadResult::kReset:
      set_err(err, "connection reset by server");
      return false;
    case ReadResult::kError:
      break;
  }
  set_err(err, errno_text("recv", e));
  return false;
}

std::string host_port(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Connects one resolved address before the deadline. Returns the fd or -1
// with errno-style text in *why.
int connect_one(const addrinfo* ai, const Deadline& dl, std::string* why) {
  const int fd = ::socket(ai->ai_family,
                          ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          ai->ai_protocol);
  if (fd < 0) {
    *why = std::strerror(errno);
    return -1;
  }
  int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
  // A non-blocking connect interrupted by a signal keeps going in the
  // background, exactly like EINPROGRESS.
  if (rc < 0 && errno != EINPROGRESS && errno != EINTR) {
    *why = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (rc < 0) {
    const int w = wait_fd(fd, POLLOUT, dl);
    if (w <= 0) {
      *why = w == 0 ? "timed out" : std::strerror(errno);
      ::close(fd);
      return -1;
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0) {
      so_error = errno;
    }
    if (so_error != 0) {
      *why = std::strerror(so_error);
      ::close(fd);
      return -1;
    }
  }
  // Requests are small and latency matters more than packet count.
  const int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
    *why = errno_text("setsockopt TCP_NODELAY", errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

std::atomic<BlockingClient::UnexpectedReplyHook> g_unexpected_reply_hook{nullptr};

std::string goodbye_text(const Frame& f) {
  std::string s = "server said goodbye: ";
  s += goodbye_name(static_cast<Goodbye>(f.header.code));
  if (!f.body.empty()) s += " (" + f.body + ")";
  return s;
}

}  // namespace

BlockingClient::~BlockingClient() { close(); }

bool BlockingClient::connect(const std::string& host, uint16_t port,
                             std::string* err, int timeout_ms) {
  close();
  goodbye_ = Frame{};
  const std::string where = host_port(host, port);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  const int gai = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (gai != 0) {
    const char* why = gai == EAI_SYSTEM ? std::strerror(errno)
                                        : ::gai_strerror(gai);
    set_err(err, "resolve " + where + ": " + why);
    return false;
  }

  // Try every address (e.g. ::1 then 127.0.0.1 for "localhost"); report the
  // last failure if none answers.
  const Deadline dl(timeout_ms);
  std::string why = "no address";
  for (const addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd_ = connect_one(ai, dl, &why);
    if (fd_ >= 0) break;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) {
    set_err(err, "connect " + where + ": " + why);
    return false;
  }
  return true;
}

BlockingClient::UnexpectedReplyHook BlockingClient::set_unexpected_reply_hook(
    UnexpectedReplyHook h) {
  return g_unexpected_reply_hook.exchange(h);
}

std::deque<Frame> BlockingClient::take_unexpected_replies() {
  std::deque<Frame> out;
  out.swap(replies_);
  return out;
}

void BlockingClient::keep(Frame&& f) {
  switch (f.header.kind) {
    case Kind::kPush:
      pushes_.push_back(std::move(f));
      return;
    case Kind::kReply:
      if (UnexpectedReplyHook h = g_unexpected_reply_hook.load()) h(f);
      replies_.push_back(std::move(f));
      return;
    default:
      return;  // a GOODBYE is kept in goodbye_ by take_frame()
  }
}

void BlockingClient::close() {
  if (fd_ >= 0) {
    // Linux frees the descriptor even when close() reports EINTR, so a
    // retry could close someone else's fd: never retry.
    ::close(fd_);
    fd_ = -1;
  }
  in_.clear();
  pushes_.clear();
  replies_.clear();
}

bool BlockingClient::fill(int timeout_ms, std::string* err) {
  if (fd_ < 0) {
    set_err(err, "not connected");
    return false;
  }
  return fill_in(fd_, in_, Deadline(timeout_ms), timeout_ms, "data", err);
}

// Moves one complete frame out of in_. false with *err untouched means "need
// more bytes"; false with *err set means the stream is broken.
bool BlockingClient::take_frame(Frame* out, std::string* err) {
  const auto* data = reinterpret_cast<const uint8_t*>(in_.data());
  const Decoded d = decode(data, in_.size(), kClientMaxFrame, Peer::kClient);
  if (d.status == DecodeStatus::kNeedMore) return false;
  if (d.status == DecodeStatus::kError) {
    set_err(err, std::string("bad frame from server: ") +
                     goodbye_name(d.error));
    return false;
  }
  out->header = d.header;
  out->body.assign(in_, kHeaderSize, d.header.length);
  in_.erase(0, kHeaderSize + d.header.length);
  if (out->header.kind == Kind::kGoodbye) goodbye_ = *out;
  return true;
}

bool BlockingClient::read_frame(Frame* out, int timeout_ms, std::string* err) {
  for (std::deque<Frame>* q : {&pushes_, &replies_}) {
    if (!q->empty()) {
      *out = std::move(q->front());
      q->pop_front();
      return true;
    }
  }
  const Deadline dl(timeout_ms);
  for (;;) {
    std::string broken;
    if (take_frame(out, &broken)) return true;
    if (!broken.empty()) {
      set_err(err, broken);
      return false;
    }
    if (fd_ < 0) {
      set_err(err, "not connected");
      return false;
    }
    if (!fill_in(fd_, in_, dl, timeout_ms, "a frame", err)) return false;
  }
}

bool BlockingClient::next_push(Frame* out, int timeout_ms, std::string* err) {
  if (!pushes_.empty()) {
    *out = std::move(pushes_.front());
    pushes_.pop_front();
    return true;
  }
  if (fd_ < 0) {
    set_err(err, "not connected");
    return false;
  }
  const Deadline dl(timeout_ms);
  for (;;) {
    std::string broken;
    if (take_frame(out, &broken)) {
      // A REPLY here answers no call() in progress: keep it.
      if (out->header.kind != Kind::kReply) return true;
      keep(std::move(*out));
      continue;
    }
    if (!broken.empty()) {
      set_err(err, broken);
      return false;
    }
    if (!fill_in(fd_, in_, dl, timeout_ms, "a push", err)) return false;
  }
}

bool BlockingClient::call(uint16_t service, uint16_t op, std::string_view body,
                          Frame* reply, int timeout_ms, std::string* err) {
  if (fd_ < 0) {
    set_err(err, "not connected");
    return false;
  }
  if (body.size() > UINT32_MAX) {
    set_err(err, "request body too large");
    return false;
  }
  const uint32_t session = next_session_++;
  const Deadline dl(timeout_ms);
  const std::string req =
      encode_frame(Kind::kRequest, service, op, session, body);
  if (!write_all(fd_, req, dl, err)) {
    // The server may have said why it hung up before the write failed.
    std::string ignored;
    for (;;) {
      Frame f;
      if (take_frame(&f, &ignored)) {
        keep(std::move(f));
      } else if (!fill(0, &ignored)) {
        break;
      }
    }
    if (got_goodbye()) set_err(err, goodbye_text(goodbye_));
    return false;
  }

  for (;;) {
    Frame f;
    std::string broken;
    if (take_frame(&f, &broken)) {
      switch (f.header.kind) {
        case Kind::kReply:
          if (f.header.session == session) {
            *reply = std::move(f);
            return true;
          }
          keep(std::move(f));  // e.g. late answer to a call that timed out
          break;
        case Kind::kPush:
          keep(std::move(f));
          break;
        case Kind::kGoodbye:
          set_err(err, goodbye_text(f));
          return false;
        default:
          break;  // decode() lets no other kind through
      }
      continue;
    }
    if (!broken.empty()) {
      set_err(err, broken);
      return false;
    }
    if (!fill_in(fd_, in_, dl, timeout_ms, "the reply", err)) return false;
  }
}

bool BlockingClient::send(uint16_t service, uint16_t op, std::string_view body,
                          std::string* err) {
  if (body.size() > UINT32_MAX) {
    set_err(err, "send body too large");
    return false;
  }
  return write_raw(encode_frame(Kind::kSend, service, op, 0, body), err);
}

bool BlockingClient::write_raw(std::string_view bytes, std::string* err) {
  if (fd_ < 0) {
    set_err(err, "not connected");
    return false;
  }
  return write_all(fd_, bytes, Deadline(kWriteTimeoutMs), err);
}

bool BlockingClient::wait_closed(int timeout_ms) {
  if (fd_ < 0) return false;
  const Deadline dl(timeout_ms);
  for (;;) {
    // Keep what arrives: the GOODBYE that precedes the close matters to the
    // caller, and pushes may still be read afterwards.
    Frame f;
    std::string broken;
    while (take_frame(&f, &broken)) {
      keep(std::move(f));
      f = Frame{};
    }
    if (!broken.empty()) in_.clear();  // unparseable; only the close matters
    int e = 0;
    switch (read_some(fd_, in_, dl, &e)) {
      case ReadResult::kData:
        continue;
      case ReadResult::kEof:
      case ReadResult::kReset:
        return true;
      case ReadResult::kTimeout:
      case ReadResult::kError:
        return false;
    }
  }
}

}  // namespace hazel
