// HttpServer: one HTTP/1.1 port on the loop (the WebSocket port, the admin
// port). It accepts through a Gateway, reads one request head per
// connection without ever blocking, lets its handler answer, writes the
// answer and closes. Each connection answers one request (Connection:
// close), which keeps it simple: no keep-alive, no request bodies.
//
//   accept ─► reading head ──(head parsed)──► handler ──► writing ─► lingering ─► closed
//                 │ bad head: 400/431/505/501       ▲ answer now or later     (shutdown(WR),
//                 │ deadline: 408                   └ upgrade: write the 101,  read and discard
//                 └───────────────────────────────────  hand the fd on         until EOF, 2 s)
//
// One deadline on the timer wheel per connection bounds each phase: the
// head must arrive within `timeout_ms` (slow clients cannot hold a
// connection open a byte at a time), the handler must answer within it,
// and writing plus lingering get it again. A lingering close reads what
// the client still sends after the answer so that closing does not reset
// the connection and destroy the answer in flight.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "gateway.h"
#include "http.h"
#include "loop.h"
#include "upgrade_sink.h"

namespace hazel {

class HttpServer;

class HttpHandler {
 public:
  // A whole request head arrived on connection `conn`. Answer it with
  // server.respond() or server.upgrade(), at once or later (a connection
  // not answered within the server's timeout gets 503 and is closed; a
  // late answer then finds it gone).
  virtual void on_request(HttpServer& server, uint64_t conn,
                          const http::Request& req) = 0;

 protected:
  ~HttpHandler() = default;
};

class HttpServer final : public GatewaySink {
 public:
  // Over this many connections at once (heads being read, answers being
  // written), a new one gets 503 and is closed at once.
  static constexpr size_t kMaxConnections = 4096;

  HttpServer(Loop& loop, HttpHandler& handler, uint32_t timeout_ms);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // As Gateway::listen / adopt / start.
  bool listen(const std::string& addr, uint16_t port, bool reuse_port,
              std::string* err) {
    return gateway_.listen(addr, port, reuse_port, err);
  }
  bool adopt(int fd, std::string* err) { return gateway_.adopt(fd, err); }
  bool start(std::string* err) { return gateway_.start(err); }
  void close_listener() { gateway_.close_listener(); }
  uint16_t port() const { return gateway_.port(); }
  // Closes every connection (shutdown): no answer is written any more.
  void close_all();
  // Frees the connections closed during this loop turn (their fds are
  // closed only now, so a number is not reused while this turn's events
  // are still being dispatched).
  void end_turn();

  // Answers connection `conn` with `bytes` (a whole response; see
  // http::response), then closes it. False if it is gone.
  bool respond(uint64_t conn, std::string bytes);
  // Writes `head` (a 101 Switching Protocols), then hands the socket and
  // what was read after the request head to `sink`. False if it is gone.
  bool upgrade(uint64_t conn, std::string head, UpgradeSink& sink);

  // GatewaySink.
  void on_accept(int fd) override;

  size_t connections() const { return conns_.size(); }
  uint64_t requests() const { return requests_; }

 private:
  class Conn;
  void on_conn_io(Conn& c, uint32_t events);
  void read_head(Conn& c);
  void write_out(Conn& c);
  void linger(Conn& c);
  void fail(Conn& c, int status, std::string_view why);
  void close_conn(Conn& c);
  static void on_deadline(TimerNode* n);

  Loop& loop_;
  HttpHandler& handler_;
  Gateway gateway_;
  uint32_t timeout_ms_;
  std::unordered_map<uint64_t, Conn*> conns_;
  Conn* dead_ = nullptr;  // closed this turn, freed by end_turn()
  uint64_t next_id_ = 1;
  uint64_t requests_ = 0;
};

}  // namespace hazel
