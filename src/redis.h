// Redis: one connection to a Redis server, on the daemon's loop. Non-
// blocking connect, RESP2 commands pipelined (written corked at the end of
// the turn, like a client's output), replies matched to their commands in
// order. No thread, no library.
//
//   start() ──connect──► AUTH, SELECT ──► up: commands flow ──► lost
//      ▲                                                          │
//      └──────────── backoff 100 ms, doubling to 5 s ◄────────────┘
//
// Every command has a deadline (`timeout_ms`): a reply that does not come
// in time means the server is stuck or the network is, and the connection
// is dropped; every command waiting on it is failed at once (its callback
// gets nullptr) so nothing waits for ever. The output is bounded like a
// slow client's: a command that would take it past `max_output` is refused.
// Replies are parsed by src/resp with bounded lengths; a malformed reply
// drops the connection (never resynchronised).
//
// A subscriber connection (SUBSCRIBE) hands "message" pushes to its
// observer; the confirmations of SUBSCRIBE answer their commands.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "hazel/service.h"
#include "loop.h"
#include "resp.h"

namespace hazel {

// redis://[user:password@]host:port[/db]
struct RedisAddress {
  std::string host;
  uint16_t port = 6379;
  std::string user;
  std::string password;
  uint32_t db = 0;
};
// False with `err` for anything else (rediss://, a missing host, a bad port).
bool parse_redis_url(std::string_view url, RedisAddress* out, std::string* err);

class Redis final : public IoHandler {
 public:
  // The reply, or nullptr when the command failed without one (connection
  // lost, deadline passed, stopped).
  using Callback = UniqueFunction<void(const resp::Value* reply)>;

  class Observer {
   public:
    // Connected and AUTH/SELECT done / lost (after being up).
    virtual void on_redis_up(Redis& r) = 0;
    virtual void on_redis_down(Redis& r, std::string_view why) = 0;
    // A pub/sub message (subscriber connections).
    virtual void on_redis_message(Redis& r, std::string_view channel,
                                  std::string_view payload) = 0;

   protected:
    ~Observer() = default;
  };

  Redis(Loop& loop, Observer& obs, const char* name, size_t max_output,
        uint32_t timeout_ms, size_t max_bulk);
  ~Redis();
  Redis(const Redis&) = delete;
  Redis& operator=(const Redis&) = delete;

  // Resolves the address once (false with `err` if it does not resolve),
  // then connects, and keeps reconnecting until stop().
  bool start(const RedisAddress& addr, std::string* err);
  void stop();
  bool up() const { return state_ == State::kUp; }

  // Queues one command. False (and `done` is not called) when not up or
  // when full(): the output is at its limit (what one command adds is not
  // judged, like a slow client's output: what piles up is).
  bool command(const std::string_view* args, size_t n, Callback done);
  bool command(std::initializer_list<std::string_view> args, Callback done) {
    return command(args.begin(), args.size(), std::move(done));
  }
  size_t pending_output() const { return out_.size() - out_off_; }
  bool full() const { return pending_output() >= max_output_; }
  size_t pending_replies() const { return waiting_.size(); }

  // Writes what the turn queued.
  void end_turn();
  void on_io(uint32_t events) override;

  uint64_t refused() const { return refused_; }

 private:
  enum class State : uint8_t { kIdle, kConnecting, kHandshake, kUp, kBackoff };
  struct Waiting {
    uint64_t deadline_ms;
    Callback done;
    bool handshake;
  };

  void connect_now();
  void on_connected();
  void queue(const std::string_view* args, size_t n, Callback done,
             bool handshake);
  void read_some();
  void parse();
  bool flush();
  void lost(std::string_view why);
  void arm_deadline();
  static void on_timer(TimerNode* n);
  void set_out(bool on);

  Loop& loop_;
  Observer& obs_;
  const char* name_;
  size_t max_output_;
  uint32_t timeout_ms_;
  resp::Limits limits_;
  RedisAddress addr_;
  struct sockaddr_storage sa_{};
  socklen_t sa_len_ = 0;
  int fd_ = -1;
  State state_ = State::kIdle;
  std::string in_;
  size_t in_off_ = 0;
  std::string out_;
  size_t out_off_ = 0;
  bool want_out_ = false;
  bool flush_pending_ = false;
  std::deque<Waiting> waiting_;
  size_t handshake_left_ = 0;
  TimerNode timer_;  // connect/command deadline, or the backoff
  uint32_t backoff_ms_ = 0;
  bool logged_down_ = false;  // the failure to reach Redis was logged
  std::string refusal_logged_;  // the handshake refusal last logged
  uint64_t refused_ = 0;
};

}  // namespace hazel
