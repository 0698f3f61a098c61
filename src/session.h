// Sessions: every request that is waiting for its answer. A session is opened
// for each client REQUEST and SEND, and for each service-to-service call();
// it is completed exactly once, by its reply, by its deadline on the timer
// wheel (TIMEOUT), or because its callee went away (UNAVAILABLE).
//
// Slots live in fixed-size chunks (stable addresses: their timer nodes are
// linked into the wheel; indexing is a shift and a mask) and are recycled
// through a free list, so opening one
// allocates nothing in the steady state. A handle is (slot, generation); the
// generation moves on every time a slot is freed, so a stale handle (a late
// reply after a timeout) can never complete the slot's next session.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>
#include <string_view>

#include "hazel/service.h"
#include "timer_wheel.h"

namespace hazel {

namespace detail {

// Where a completed session's answer goes.
class ReplySink {
 public:
  // Sends a REPLY to a client; false if the client is gone. `async` is
  // true for a request that was still pending when its handler returned.
  virtual bool send_reply(ClientId client, uint16_t service, uint32_t session,
                          Status status, std::string_view body,
                          bool async) = 0;
  // A client REQUEST or SEND became asynchronous (its answer will come
  // later); for a SEND, on_async_send_done() follows when it is answered.
  virtual void on_async_request(ClientId client) = 0;
  virtual void on_async_send_done(ClientId client) = 0;
  // A client's request that was handed to another worker has its answer
  // (or failed): see Sessions::await_worker.
  virtual void on_remote_answered(ClientId client) = 0;
  // Sends the answer of a request another worker made (over the bus) back
  // to it; `slot`/`gen` are that worker's session handle.
  virtual void send_peer_reply(uint16_t worker, uint32_t slot, uint32_t gen,
                               Status status, std::string_view body) = 0;
  // A client REQUEST opened with `started_ns` has its answer (or TIMEOUT),
  // just sent: the time it took is the sink's to measure.
  virtual void on_request_done(uint16_t /*service*/, uint64_t /*started_ns*/) {}

 protected:
  ~ReplySink() = default;
};

class Sessions {
 public:
  // kPeerRequest: a request another worker sent over the bus, answered
  // back to it.
  enum class Kind : uint8_t { kClientRequest, kClientSend, kCall, kPeerRequest };
  static constexpr uint32_t kNone = UINT32_MAX;
  // The worker of a call() to a service of this process.
  static constexpr uint16_t kLocal = UINT16_MAX;

  struct Handle {
    uint32_t slot = kNone;
    uint32_t gen = 0;
  };

  // `now` is the owner's clock in wheel ticks (the loop's ms, or a test's
  // fake clock); it is read, never advanced, here.
  Sessions(TimerWheel& wheel, const uint64_t& now, ReplySink& sink,
           uint32_t cap);
  ~Sessions();
  Sessions(const Sessions&) = delete;
  Sessions& operator=(const Sessions&) = delete;

  // Opens a session; slot == kNone when the cap is reached. `started_ns`
  // is handed back to on_request_done() when a kClientRequest completes.
  Handle open_client(Kind kind, ClientId client, uint16_t service,
                     uint32_t wire_session, uint64_t started_ns = 0);
  // `worker` is where the callee runs (kLocal: here), so that the calls
  // waiting on a worker fail when it dies.
  Handle open_call(Service* caller, uint16_t callee, CallCallback done,
                   uint16_t worker = kLocal);
  Handle open_peer(uint16_t worker, uint32_t peer_slot, uint32_t peer_gen,
                   uint16_t service);
  // The handle a service answers through.
  Reply reply(Handle h, ClientId client) { return Reply(this, h.slot, h.gen, client); }
  // Takes the session back out of a Reply (which is then empty), for the
  // core to answer it from elsewhere (a forward to another worker).
  Handle take(Reply& r) {
    Handle h{r.slot_, r.gen_};
    if (r.sessions_ != this) return {};
    r.sessions_ = nullptr;
    return h;
  }

  // Starts the deadline of a session still pending after its handler
  // returned (an asynchronous reply) or of a call().
  void arm(Handle h, uint32_t timeout_ms);
  // Completes a session; false (and counted as dropped) if it is stale.
  bool complete(Handle h, Status status, std::string_view body);
  bool pending(Handle h) const;
  // Fails every pending session whose callee is `service` with UNAVAILABLE.
  void fail_callee(uint16_t service);
  // Forgets the calls `caller` made: they complete as dropped, unseen.
  void drop_caller(Service* caller);
  // The session's answer will come from `worker` (its request was sent
  // there): it fails if that worker goes, and only that worker may answer.
  // False if the handle is stale.
  bool await_worker(Handle h, uint16_t worker);
  // The client a session answers (0 for a call between services).
  ClientId client_of(Handle h) const;
  // Completes with an answer that came over the bus from `worker`; a stale
  // handle, or one that does not wait on that worker, is dropped.
  bool complete_from(uint16_t worker, Handle h, Status status,
                     std::string_view body);
  // `worker` is gone: sessions waiting on it fail UNAVAILABLE at once, and
  // requests it made are forgotten (there is no one to answer).
  void fail_worker(uint16_t worker);

  uint64_t armed() const { return armed_; }
  uint64_t live() const { return live_; }
  uint64_t timed_out() const { return timed_out_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t send_errors() const { return send_errors_; }
  uint32_t cap() const { return cap_; }
  // Slots ever allocated: the high-water mark of live sessions. Freed slots
  // are reused, so this does not grow with the number of sessions served.
  size_t slots() const { return count_; }

 private:
  struct Slot {
    uint32_t index = 0;
    uint32_t gen = 1;
    bool live = false;
    bool async = false;  // a client request answered after its handler
    Kind kind = Kind::kClientRequest;
    uint16_t service = 0;
    uint32_t wire_session = 0;  // kPeerRequest: the peer's slot
    uint32_t peer_gen = 0;      // kPeerRequest: the peer's generation
    uint16_t worker = kLocal;   // kPeerRequest: the worker that asked
    uint16_t awaits = kLocal;   // the worker whose answer this waits for
    ClientId client = 0;
    uint64_t started_ns = 0;    // kClientRequest: when it was dispatched
    uint32_t next_free = kNone;
    TimerNode timer;
    CallCallback done;
    Service* caller = nullptr;  // the service that made a call()
    Sessions* owner = nullptr;
  };

  Slot* get(Handle h);
  Slot* take_slot();
  void release(Slot& s);
  void finish(Slot& s, Status status, std::string_view body);
  static void on_deadline(TimerNode* n);

  TimerWheel& wheel_;
  const uint64_t& now_;
  ReplySink& sink_;
  uint32_t cap_;
  static constexpr uint32_t kChunkBits = 10;
  static constexpr uint32_t kChunk = 1u << kChunkBits;
  Slot& slot(uint32_t i) { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }

  std::vector<std::unique_ptr<Slot[]>> chunks_;
  uint32_t count_ = 0;  // slots handed out so far
  uint32_t free_ = kNone;
  uint64_t live_ = 0;
  uint64_t armed_ = 0;
  uint64_t timed_out_ = 0;
  uint64_t dropped_ = 0;
  uint64_t send_errors_ = 0;
};

}  // namespace detail
}  // namespace hazel
