#include "redis.h"

#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "log.h"

namespace hazel {

namespace {
constexpr uint32_t kFirstBackoffMs = 100;
constexpr uint32_t kMaxBackoffMs = 5000;
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxReadsPerTurn = 8;

bool parse_u32(std::string_view s, uint32_t max, uint32_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && *out <= max;
}
}  // namespace

bool parse_redis_url(std::string_view url, RedisAddress* out,
                     std::string* err) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    *err = "must start with redis:// (TLS, rediss://, is not supported)";
    return false;
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisAddress a;
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = cred.find(':');
    if (colon == std::string_view::npos) {
      a.password = std::string(cred);  // redis://password@host, as redis-cli
    } else {
      a.user = std::string(cred.substr(0, colon));
      a.password = std::string(cred.substr(colon + 1));
    }
  }
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !parse_u32(db, 1u << 20, &a.db)) {
      *err = "database must be a number";
      return false;
    }
    rest = rest.substr(0, slash);
  }
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      rest.find(']') != std::string_view::npos && colon < rest.find(']'))
    colon = std::string_view::npos;  // [::1] without a port
  if (colon != std::string_view::npos) {
    uint32_t port = 0;
    if (!parse_u32(rest.substr(colon + 1), 65535, &port) || port == 0) {
      *err = "port must be 1..65535";
      return false;
    }
    a.port = static_cast<uint16_t>(port);
    rest = rest.substr(0, colon);
  }
  if (rest.size() >= 2 && rest.front() == '[' && rest.back() == ']')
    rest = rest.substr(1, rest.size() - 2);
  if (rest.empty()) {
    *err = "no host";
    return false;
  }
  a.host = std::string(rest);
  *out = std::move(a);
  return true;
}

Redis::Redis(Loop& loop, Observer& obs, const char* name, size_t max_output,
             uint32_t timeout_ms, size_t max_bulk)
    : loop_(loop), obs_(obs), name_(name), max_output_(max_output),
      timeout_ms_(timeout_ms) {
  limits_.max_bulk = max_bulk;
  timer_.fire = &Redis::on_timer;
  timer_.data = this;
}

Redis::~Redis() { stop(); }

bool Redis::start(const RedisAddress& addr, std::string* err) {
  addr_ = addr;
  struct addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* res = nullptr;
  std::string port = std::to_string(addr.port);
  int rc = getaddrinfo(addr.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    *err = "redis " + addr.host + ": " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&sa_, res->ai_addr, res->ai_addrlen);
  sa_len_ = res->ai_addrlen;
  freeaddrinfo(res);
  connect_now();
  return true;
}

void Redis::stop() {
  loop_.timers().cancel(&timer_);
  if (fd_ >= 0) {
    loop_.remove(fd_);
    close(fd_);
    fd_ = -1;
  }
  state_ = State::kIdle;
  std::deque<Waiting> failed = std::move(waiting_);
  waiting_.clear();
  for (Waiting& w : failed)
    if (w.done) w.done(nullptr);
}

void Redis::connect_now() {
  fd_ = socket(sa_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return lost(strerror(errno));
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  state_ = State::kConnecting;
  int rc = ::connect(fd_, reinterpret_cast<struct sockaddr*>(&sa_), sa_len_);
  if (rc < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd_);
    fd_ = -1;
    return lost(strerror(e));
  }
  if (!loop_.add(fd_, EPOLLIN | EPOLLOUT, this)) {
    close(fd_);
    fd_ = -1;
    return lost("epoll_ctl failed");
  }
  want_out_ = true;
  loop_.timers().cancel(&timer_);
  loop_.add_timer(&timer_, timeout_ms_);
  if (rc == 0) on_connected();
}

void Redis::on_connected() {
  state_ = State::kHandshake;
  loop_.timers().cancel(&timer_);
  in_.clear();
  in_off_ = 0;
  out_.clear();
  out_off_ = 0;
  handshake_left_ = 0;
  auto check = [this](const char* what) {
    return [this, what](const resp::Value* v) {
      if (v == nullptr) return;
      if (v->is_error()) {
        // Refused: the server is there but will not have us, which needs
        // the operator. Logged once (again only if the reason changes),
        // not at every retry.
        std::string why = std::string(what) + ": " + std::string(v->str);
        if (why != refusal_logged_) {
          HZ_ERROR("redis (%s): %s refused: %.*s (retrying; logged once)", name_,
                   what, static_cast<int>(v->str.size()), v->str.data());
          refusal_logged_ = std::move(why);
        }
        lost("handshake refused");
        return;
      }
      if (--handshake_left_ == 0) {
        state_ = State::kUp;
        backoff_ms_ = 0;
        if (logged_down_)
          HZ_INFO("redis (%s): connected to %s:%u again", name_,
                  addr_.host.c_str(), addr_.port);
        logged_down_ = false;
        refusal_logged_.clear();
        obs_.on_redis_up(*this);
      }
    };
  };
  if (!addr_.password.empty()) {
    ++handshake_left_;
    if (addr_.user.empty()) {
      std::string_view a[] = {"AUTH", addr_.password};
      queue(a, 2, check("AUTH"), true);
    } else {
      std::string_view a[] = {"AUTH", addr_.user, addr_.password};
      queue(a, 3, check("AUTH"), true);
    }
  }
  std::string db = std::to_string(addr_.db);
  ++handshake_left_;
  if (addr_.db != 0) {
    std::string_view a[] = {"SELECT", db};
    queue(a, 2, check("SELECT"), true);
  } else {
    std::string_view a[] = {"PING"};
    queue(a, 1, check("PING"), true);
  }
  flush();
}

bool Redis::command(const std::string_view* args, size_t n, Callback done) {
  if (state_ != State::kUp) return false;
  if (full()) {
    ++refused_;
    return false;
  }
  queue(args, n, std::move(done), false);
  return true;
}

void Redis::queue(const std::string_view* args, size_t n, Callback done,
                  bool handshake) {
  if (out_off_ > 0 && out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  }
  resp::append_command(out_, args, n);
  waiting_.push_back({loop_.now_ms() + timeout_ms_, std::move(done), handshake});
  if (waiting_.size() == 1) arm_deadline();
  if (!flush_pending_) flush_pending_ = true;
}

void Redis::arm_deadline() {
  if (state_ == State::kBackoff || state_ == State::kConnecting) return;
  loop_.timers().cancel(&timer_);
  if (waiting_.empty()) return;
  uint64_t now = loop_.now_ms();
  uint64_t due = waiting_.front().deadline_ms;
  loop_.add_timer(&timer_, due > now ? due - now : 0);
}

void Redis::on_timer(TimerNode* n) {
  auto* r = static_cast<Redis*>(n->data);
  switch (r->state_) {
    case State::kBackoff:
      r->connect_now();
      return;
    case State::kConnecting:
      r->lost("connect timed out");
      return;
    case State::kHandshake:
    case State::kUp:
      if (!r->waiting_.empty() &&
          r->waiting_.front().deadline_ms <= r->loop_.now_ms()) {
        r->lost("no reply within the deadline");
        return;
      }
      r->arm_deadline();
      return;
    case State::kIdle:
      return;
  }
}

void Redis::on_io(uint32_t events) {
  if (state_ == State::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err != 0) return lost(strerror(err));
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
    on_connected();
    return;
  }
  if (fd_ < 0) return;
  if (events & EPOLLOUT) {
    if (!flush()) return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_some();
}

void Redis::read_some() {
  for (int i = 0; i < kMaxReadsPerTurn && fd_ >= 0; ++i) {
    // What a value being assembled may need: its bulk plus a read.
    if (in_.size() - in_off_ > limits_.max_bulk + kReadChunk)
      return lost("reply too large");
    if (in_off_ > 0 && (in_off_ == in_.size() || in_off_ > kReadChunk)) {
      in_.erase(0, in_off_);
      in_off_ = 0;
    }
    size_t old = in_.size();
    in_.resize(old + kReadChunk);
    ssize_t n = ::read(fd_, in_.data() + old, kReadChunk);
    if (n < 0) {
      in_.resize(old);
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return lost(strerror(errno));
    }
    in_.resize(old + static_cast<size_t>(n));
    if (n == 0) return lost("closed by the server");
    parse();
    if (static_cast<size_t>(n) < kReadChunk) return;
  }
}

void Redis::parse() {
  resp::Value v;
  while (fd_ >= 0 && in_off_ < in_.size()) {
    auto* p = reinterpret_cast<const uint8_t*>(in_.data()) + in_off_;
    long len = resp::parse(p, in_.size() - in_off_, limits_, &v);
    if (len == 0) break;
    if (len < 0) {
      HZ_ERROR("redis (%s): malformed reply; dropping the connection", name_);
      return lost("malformed reply");
    }
    in_off_ += static_cast<size_t>(len);
    std::string_view channel, payload;
    if (resp::as_message(v, &channel, &payload)) {
      obs_.on_redis_message(*this, channel, payload);
      continue;
    }
    if (waiting_.empty()) {
      HZ_ERROR("redis (%s): a reply nobody asked for; dropping the connection",
               name_);
      return lost("unexpected reply");
    }
    Callback done = std::move(waiting_.front().done);
    waiting_.pop_front();
    arm_deadline();
    if (done) done(&v);
  }
  if (in_off_ == in_.size()) {
    in_.clear();
    in_off_ = 0;
  }
}

bool Redis::flush() {
  if (state_ != State::kHandshake && state_ != State::kUp) return true;
  while (out_off_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_off_, out_.size() - out_off_,
                       MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        set_out(true);
        return true;
      }
      lost(strerror(errno));
      return false;
    }
    out_off_ += static_cast<size_t>(n);
  }
  out_.clear();
  out_off_ = 0;
  if (out_.capacity() > kReadChunk * 4) out_.shrink_to_fit();
  set_out(false);
  return true;
}

void Redis::set_out(bool on) {
  if (on == want_out_ || fd_ < 0) return;
  want_out_ = on;
  loop_.modify(fd_, EPOLLIN | (on ? uint32_t{EPOLLOUT} : 0u));
}

void Redis::end_turn() {
  if (!flush_pending_) return;
  flush_pending_ = false;
  flush();
}

void Redis::lost(std::string_view why) {
  bool was_up = state_ == State::kUp;
  if (fd_ >= 0) {
    loop_.remove(fd_);
    close(fd_);
    fd_ = -1;
  }
  state_ = State::kBackoff;
  want_out_ = false;
  in_.clear();
  in_off_ = 0;
  out_.clear();
  out_off_ = 0;
  // Logged once per state change: the first failure, not each retry.
  if (!logged_down_) {
    HZ_WARN("redis (%s): %s:%u %s: %.*s; retrying", name_, addr_.host.c_str(),
            addr_.port, was_up ? "lost" : "unreachable",
            static_cast<int>(why.size()), why.data());
    logged_down_ = true;
  }
  std::deque<Waiting> failed = std::move(waiting_);
  waiting_.clear();
  backoff_ms_ = backoff_ms_ == 0 ? kFirstBackoffMs
                                 : std::min(kMaxBackoffMs, backoff_ms_ * 2);
  loop_.timers().cancel(&timer_);
  loop_.add_timer(&timer_, backoff_ms_);
  for (Waiting& w : failed)
    if (w.done) w.done(nullptr);
  if (was_up) obs_.on_redis_down(*this, why);
}

}  // namespace hazel
