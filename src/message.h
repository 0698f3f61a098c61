// Message: the heart of the daemon. It owns every client, turns their bytes
// into frames (through the codec), dispatches each frame to its service by
// id, sends replies and pushes to a client by id, and tells services about
// client events. It is the only place that knows where a client lives:
// route() answers "this client of ours" or "the bus link to worker i" from
// the id alone, and every reply, push, kick and existence check goes
// through it.
//
// Output is corked: frames produced for a client during one loop turn are
// appended to its output ring and written with one syscall at the end of the
// turn (end_turn()). EPOLLOUT is registered only while output is pending.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bus.h"
#include "client.h"
#include "gateway.h"
#include "hazel/config.h"
#include "session.h"
#include "upgrade_sink.h"

namespace hazel {

namespace detail {
class ServiceTable;
}  // namespace detail

// Where Message hands the frames it decodes (the daemon's core: it opens
// the session and runs the service).
class RequestSink {
 public:
  virtual void on_request(Service& s, const Request& req,
                          uint32_t wire_session) = 0;
  virtual void on_send(Service& s, const Request& req) = 0;

 protected:
  ~RequestSink() = default;
};

class Message final : public GatewaySink, public UpgradeSink {
 public:
  Message(Loop& loop, const Config& cfg, detail::ServiceTable& services,
          RequestSink& requests, Bus& bus);
  ~Message();
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  // Where a client id lives: `local` is the client when it is ours (null
  // if ours but gone); otherwise `worker` names the worker that holds it.
  struct Route {
    Client* local = nullptr;
    uint16_t worker = 0;
    bool remote = false;
  };
  Route route(ClientId id) const;

  // This worker's index and the first id it hands out (see client_id.h).
  void set_worker(uint16_t self, ClientId first_id) {
    self_ = self;
    next_id_ = first_id;
  }

  // GatewaySink: a new connection becomes a client.
  void on_accept(int fd) override;
  // UpgradeSink: a socket of the WebSocket port, after its 101, becomes a
  // client whose frames travel one per binary message.
  void on_upgrade(int fd, std::string_view leftover) override;
  // A session's answer for a client (see ReplySink).
  bool send_reply(ClientId client, uint16_t service, uint32_t session,
                  Status status, std::string_view body, bool async = false);
  void on_async_request(ClientId client);
  void on_async_send_done(ClientId client);
  // A request of `client` was handed to another worker / its answer came.
  void remote_wait(ClientId client);
  void remote_answered(ClientId client);

  bool push(ClientId to, uint16_t service, uint16_t op, std::string_view body);
  // Encodes one PUSH once and queues the bytes to every client listed;
  // clients of other workers get one bus frame per worker.
  size_t push_many(const ClientId* to, size_t n, uint16_t service, uint16_t op,
                   std::string_view head, std::string_view tail);
  bool kick(ClientId client, std::string_view reason);
  // Sends GOODBYE `code` with `reason` to a client of ours and closes it
  // (what is queued before it still goes out); false if it is not ours.
  bool close_with(ClientId client, Goodbye code, std::string_view reason);
  bool exists(ClientId client) const { return route(client).local != nullptr; }
  // Queues one whole encoded frame, from the bus, to each listed client of
  // ours (u64 big-endian ids); the others are gone and skipped.
  size_t deliver(const uint8_t* ids, size_t n, std::string_view frame);

  // GOODBYE SHUTDOWN to every client; each gets `flush_ms` to drain.
  void shutdown_all(uint32_t flush_ms);
  // No client is open or still flushing.
  bool idle() const { return clients_.empty() && closing_ == 0; }

  // Loop hooks.
  void on_client_io(Client& c, uint32_t events);
  void end_turn();

  uint32_t max_frame() const { return cfg_.max_frame; }
  size_t clients() const { return clients_.size(); }
  size_t clients_ws() const { return clients_ws_; }
  uint64_t clients_total() const { return clients_total_; }
  uint64_t frames_in() const { return frames_in_; }
  uint64_t frames_out() const { return frames_out_; }
  uint64_t sends_dropped() const { return sends_dropped_; }
  // Bytes held now for unfinished frames / queued and not yet written.
  size_t input_bytes() const { return mem_.input; }
  size_t output_bytes() const { return mem_.output; }
  // Clients closed for a memory budget or the body timeout.
  uint64_t clients_limited() const { return clients_limited_; }
  size_t clients_paused() const { return paused_; }

 private:
  void accept_client(int fd, bool ws, std::string_view leftover);
  ssize_t read_some(Client& c, const struct iovec* iov, int cnt);
  void read_input(Client& c);
  void read_ws(Client& c);
  void ws_feed(Client& c, uint8_t* p, size_t n);
  void ws_message(Client& c, std::string_view message);
  void ws_fail(Client& c, Goodbye code, uint16_t close_code,
               std::string_view why);
  void feed(Client& c, const uint8_t* data, size_t n);
  void hold_input(Client& c, const uint8_t* p, size_t n);
  bool process_input(Client& c);
  bool admit_input(Client& c, size_t total);
  bool admit_output(Client& c, size_t n);
  // Cuts `big` (with `cut`) to bring `total` down for `c`; false if `big`
  // is `c` or cutting freed nothing (then `c` is cut too).
  bool make_room(Client& c, Client& big, const size_t& total,
                 void (Message::*cut)(Client&, std::string_view),
                 std::string_view why);
  void limit(Client& c, std::string_view why);
  void cut_slow(Client& c, std::string_view why);
  void drop_input(Client& c);
  void dispatch(Client& c, const FrameHeader& h, const uint8_t* body);
  void protocol_error(Client& c, const uint8_t* hdr, size_t avail,
                      Goodbye code);
  void queue_frame(Client& c, const FrameHeader& h, std::string_view body);
  bool append_output(Client& c, const FrameHeader* h, std::string_view a,
                     std::string_view b);
  void maybe_pause(Client& c);
  void resume(Client& c);
  uint32_t input_events(const Client& c) const;
  void schedule_flush(Client& c);
  void flush_client(Client& c);
  bool hold_output(Client& c);
  void unhold(Client& c);
  void set_events(Client& c, uint32_t events);

  // Leaves kOpen with an optional GOODBYE, flushes, then closes.
  void begin_close(Client& c, bool goodbye, Goodbye code,
                   std::string_view text, uint32_t linger_ms);
  // Closes at once (reset, slow, linger over): no more output.
  void close_now(Client& c, const char* why);
  void finish_close(Client& c);
  // Reads and drops what a closing client still sends: true once it is done
  // (it closed its side, the connection failed, or it sent too much).
  bool discard_input(Client& c);
  void leave_table(Client& c);
  void on_input_closed(Client& c);
  void drain_events();
  static void on_timer(TimerNode* n);
  // Clients holding buffer memory (input or output arrays).
  void hold(Client& c);
  void unhold_buffers(Client& c);
  void sweep();
  static void on_sweep(TimerNode* n);

  Loop& loop_;
  const Config& cfg_;
  detail::ServiceTable& services_;
  RequestSink& requests_;
  Bus& bus_;
  uint16_t self_;
  std::unordered_map<ClientId, Client*> clients_;
  uint64_t next_id_ = 1;
  // The client whose next frame is already read, while one is dispatched.
  const Client* more_for_ = nullptr;
  Client* current_ = nullptr;  // open client whose frame is in dispatch()
  Client* flush_head_ = nullptr;
  Client* dead_head_ = nullptr;
  Client* held_head_ = nullptr;  // output held back this turn
  uint64_t turn_ = 0;
  size_t closing_ = 0;  // left the table, still flushing
  size_t lingering_ = 0;  // of them, with output the kernel did not take
  std::vector<ClientId> disconnected_;  // DISCONNECT events not yet delivered
  std::unique_ptr<uint8_t[]> rbuf_;     // one read buffer for every client
  std::string fanout_;                  // one encoded PUSH for push_many
  std::vector<std::vector<ClientId>> remote_;  // push_many targets by worker
  size_t pause_output_;                 // pending output that pauses input
  uint64_t clients_total_ = 0;
  uint64_t frames_in_ = 0;
  uint64_t frames_out_ = 0;
  uint64_t sends_dropped_ = 0;
  uint64_t clients_limited_ = 0;
  size_t paused_ = 0;  // open clients whose requests wait for their output
  size_t clients_ws_ = 0;  // open clients of the WebSocket port
  bool full_logged_ = false;
  ClientMemory mem_;
  Client* holders_ = nullptr;  // intrusive list, see hold()
  TimerNode sweep_;
  uint64_t sweep_ms_;
};

}  // namespace hazel
