#include "http_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "log.h"

namespace hazel {

namespace {
// After the answer: how long, and how many bytes, a client may still send
// before the socket is closed anyway.
constexpr uint32_t kLingerMs = 2000;
constexpr size_t kMaxLingerBytes = 64 * 1024;
}  // namespace

class HttpServer::Conn final : public IoHandler {
 public:
  enum class State : uint8_t { kReading, kWaiting, kWriting, kLingering, kClosed };

  Conn(HttpServer& s, int sock, uint64_t conn_id)
      : server(s), fd(sock), id(conn_id), buf(new char[http::kMaxHead]) {
    timer.fire = &HttpServer::on_deadline;
    timer.data = this;
  }
  void on_io(uint32_t events) override { server.on_conn_io(*this, events); }

  HttpServer& server;
  int fd;
  uint64_t id;
  State state = State::kReading;
  std::unique_ptr<char[]> buf;  // the request head and what came after it
  size_t len = 0;
  http::RequestParser parser;
  std::string out;
  size_t out_done = 0;
  UpgradeSink* sink = nullptr;  // set when `out` is a 101
  size_t lingered = 0;
  TimerNode timer;
  Conn* next_dead = nullptr;
};

HttpServer::HttpServer(Loop& loop, HttpHandler& handler, uint32_t timeout_ms)
    : loop_(loop), handler_(handler), gateway_(loop, *this), timeout_ms_(timeout_ms) {}

HttpServer::~HttpServer() {
  close_all();
  end_turn();
}

void HttpServer::on_accept(int fd) {
  if (conns_.size() >= kMaxConnections) {
    std::string busy = http::response(503, "text/plain", "too many connections\n");
    ssize_t rc = send(fd, busy.data(), busy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)rc;
    close(fd);
    return;
  }
  auto* c = new Conn(*this, fd, next_id_++);
  if (!loop_.add(fd, EPOLLIN, c)) {
    HZ_WARN("epoll_ctl(http connection): %s", strerror(errno));
    close(fd);
    delete c;
    return;
  }
  conns_.emplace(c->id, c);
  loop_.add_timer(&c->timer, timeout_ms_);
}

void HttpServer::on_conn_io(Conn& c, uint32_t events) {
  switch (c.state) {
    case Conn::State::kReading:
      read_head(c);
      return;
    case Conn::State::kWaiting:
      // Nothing is registered but errors and hangups, which epoll always
      // reports: the client left before its answer.
      if (events & (EPOLLERR | EPOLLHUP)) close_conn(c);
      return;
    case Conn::State::kWriting:
      write_out(c);
      return;
    case Conn::State::kLingering:
      linger(c);
      return;
    case Conn::State::kClosed:
      return;
  }
}

void HttpServer::read_head(Conn& c) {
  bool eof = false;
  while (c.len < http::kMaxHead) {
    ssize_t n = read(c.fd, c.buf.get() + c.len, http::kMaxHead - c.len);
    if (n > 0) {
      c.len += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    close_conn(c);  // reset
    return;
  }
  http::Parse r = c.parser.parse(std::string_view(c.buf.get(), c.len));
  if (r == http::Parse::kError) {
    fail(c, c.parser.error_status(), c.parser.error());
    return;
  }
  if (r == http::Parse::kNeedMore) {
    if (eof) close_conn(c);  // gone before a whole head: nobody to answer
    return;
  }
  // A whole head. Read nothing more: what follows belongs to whoever the
  // connection is handed to, or to nobody.
  c.state = Conn::State::kWaiting;
  loop_.modify(c.fd, 0);
  loop_.timers().cancel(&c.timer);
  loop_.add_timer(&c.timer, timeout_ms_);
  ++requests_;
  handler_.on_request(*this, c.id, c.parser.request());
}

void HttpServer::fail(Conn& c, int status, std::string_view why) {
  std::string body = std::to_string(status) + " " + http::reason_phrase(status);
  if (!why.empty()) {
    body += ": ";
    body += why;
  }
  body += "\n";
  respond(c.id, http::response(status, "text/plain; charset=utf-8", body));
}

bool HttpServer::respond(uint64_t conn, std::string bytes) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return false;
  Conn& c = *it->second;
  if (c.state != Conn::State::kReading && c.state != Conn::State::kWaiting)
    return false;  // answered already
  c.out = std::move(bytes);
  c.out_done = 0;
  c.state = Conn::State::kWriting;
  loop_.timers().cancel(&c.timer);
  loop_.add_timer(&c.timer, timeout_ms_);
  write_out(c);
  return true;
}

bool HttpServer::upgrade(uint64_t conn, std::string head, UpgradeSink& sink) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return false;
  it->second->sink = &sink;
  return respond(conn, std::move(head));
}

void HttpServer::write_out(Conn& c) {
  while (c.out_done < c.out.size()) {
    ssize_t n = send(c.fd, c.out.data() + c.out_done, c.out.size() - c.out_done,
                     MSG_NOSIGNAL);
    if (n > 0) {
      c.out_done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      loop_.modify(c.fd, EPOLLOUT);
      return;
    }
    close_conn(c);
    return;
  }
  if (c.sink) {
    // The handshake is done: the socket now belongs to the sink.
    UpgradeSink* sink = c.sink;
    int fd = c.fd;
    size_t head = c.parser.head_size();
    loop_.remove(fd);
    loop_.timers().cancel(&c.timer);
    c.fd = -1;
    close_conn(c);  // frees the buffer at the end of the turn, not now
    sink->on_upgrade(fd, std::string_view(c.buf.get() + head, c.len - head));
    return;
  }
  // No more output: FIN, then read what the client still sends until it
  // closes too, so our close does not turn into a reset.
  shutdown(c.fd, SHUT_WR);
  c.state = Conn::State::kLingering;
  loop_.modify(c.fd, EPOLLIN);
  loop_.timers().cancel(&c.timer);
  loop_.add_timer(&c.timer, kLingerMs);
}

void HttpServer::linger(Conn& c) {
  char sink[4096];
  for (;;) {
    ssize_t n = read(c.fd, sink, sizeof sink);
    if (n > 0) {
      c.lingered += static_cast<size_t>(n);
      if (c.lingered > kMaxLingerBytes) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    break;  // EOF or error
  }
  close_conn(c);
}

void HttpServer::on_deadline(TimerNode* n) {
  auto* c = static_cast<Conn*>(n->data);
  HttpServer& s = c->server;
  switch (c->state) {
    case Conn::State::kReading: {
      // Best effort: one try, then close whatever happens.
      std::string late = http::response(408, "text/plain",
                                        "408 Request Timeout: no whole request head in time\n");
      ssize_t rc = send(c->fd, late.data(), late.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      (void)rc;
      s.close_conn(*c);
      return;
    }
    case Conn::State::kWaiting:
      HZ_WARN("http: no answer within %u ms; answering 503", s.timeout_ms_);
      s.respond(c->id, http::response(503, "text/plain", "503 Service Unavailable: no answer in time\n"));
      return;
    case Conn::State::kWriting:
    case Conn::State::kLingering:
    case Conn::State::kClosed:
      s.close_conn(*c);
      return;
  }
}

void HttpServer::close_conn(Conn& c) {
  if (c.state == Conn::State::kClosed) return;
  c.state = Conn::State::kClosed;
  loop_.timers().cancel(&c.timer);
  if (c.fd >= 0) loop_.remove(c.fd);
  conns_.erase(c.id);
  c.next_dead = dead_;
  dead_ = &c;
}

void HttpServer::close_all() {
  while (!conns_.empty()) close_conn(*conns_.begin()->second);
}

void HttpServer::end_turn() {
  while (dead_) {
    Conn* c = dead_;
    dead_ = c->next_dead;
    if (c->fd >= 0) close(c->fd);
    delete c;
  }
}

}  // namespace hazel
