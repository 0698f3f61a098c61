// The service API: what an embedder writes to add behaviour to hazel.
//
//   class Greeter : public hazel::Service {
//    public:
//     Greeter() : Service("greeter", 100, hazel::kEventDisconnect) {}
//     void on_request(const hazel::Request& req, hazel::Reply reply) override {
//       reply.ok("hello, " + std::string(req.body));
//     }
//   };
//
// A service sees client ids, never sockets. Everything it does to the world
// goes through its Context (available from on_mount() on): push to a client,
// close a client, call another service, set a timer. All callbacks run on the
// daemon's single loop thread; a service needs no locks.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "hazel/frame.h"

namespace hazel {

using ClientId = uint64_t;

// Client events a service can subscribe to, as bits of its event mask.
// kDisconnect is about clients of this worker; kRemoteDisconnect about
// clients of the other workers (with -w N), for a service that holds ids of
// clients it does not own.
enum class Event : uint8_t { kConnect = 0, kDisconnect = 1, kRemoteDisconnect = 2 };
inline constexpr uint32_t kEventConnect = 1u << static_cast<int>(Event::kConnect);
inline constexpr uint32_t kEventDisconnect = 1u << static_cast<int>(Event::kDisconnect);
inline constexpr uint32_t kEventRemoteDisconnect =
    1u << static_cast<int>(Event::kRemoteDisconnect);

class Context;
class Policy;
class Service;
struct Identity;
namespace detail {
class Core;
class ServiceTable;
class Sessions;
}

// One request as a service sees it. `body` is valid only during the call.
struct Request {
  ClientId client = 0;  // the requesting client; 0 when a service called
  uint16_t service = 0;
  uint16_t op = 0;
  std::string_view body;
  bool one_way = false;  // a SEND: the reply will be discarded
  // Another worker sent it (Context::call_worker); `worker` is its index.
  // Ops meant only for the service's copies on other workers check this,
  // so that no client can invoke them.
  bool from_worker = false;
  uint16_t worker = 0;
  // Who the client authenticated as with sys AUTH (hazel/policy.h); empty
  // when it has not, when the server does not authenticate, and in a
  // request from another worker or another service.
  std::string_view user;
};

// The answer to one request. Move-only; complete it exactly once, now or
// later (an asynchronous reply). A Reply destroyed without an answer replies
// INTERNAL; one completed after the request timed out, or after the client
// went away, is dropped (and counted). Completing twice is a no-op.
class Reply {
 public:
  Reply() = default;
  Reply(Reply&& o) noexcept;
  Reply& operator=(Reply&& o) noexcept;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  ~Reply();

  void ok(std::string_view body = {}) { send(Status::kOk, body); }
  void error(Status status, std::string_view reason = {}) {
    send(status, reason);
  }
  void send(Status status, std::string_view body);

  // True until the reply is completed (or its request timed out).
  bool pending() const;
  ClientId client() const { return client_; }

 private:
  friend class detail::Sessions;
  Reply(detail::Sessions* sessions, uint32_t slot, uint32_t gen,
        ClientId client)
      : sessions_(sessions), slot_(slot), gen_(gen), client_(client) {}

  detail::Sessions* sessions_ = nullptr;
  uint32_t slot_ = 0;
  uint32_t gen_ = 0;
  ClientId client_ = 0;
};

// Receives INFO lines ("name value") from a service.
class InfoSink {
 public:
  virtual void add(std::string_view name, int64_t value) = 0;

 protected:
  ~InfoSink() = default;
};

// A move-only std::function: callbacks may own move-only things, above all a
// Reply that is completed when the callback runs.
template <class Sig>
class UniqueFunction;

template <class R, class... Args>
class UniqueFunction<R(Args...)> {
 public:
  UniqueFunction() = default;
  UniqueFunction(std::nullptr_t) {}
  template <class F, class = std::enable_if_t<
                         !std::is_same_v<std::decay_t<F>, UniqueFunction>>>
  UniqueFunction(F&& f)
      : impl_(std::make_unique<Impl<std::decay_t<F>>>(std::forward<F>(f))) {}
  UniqueFunction& operator=(std::nullptr_t) {
    impl_.reset();
    return *this;
  }

  R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }
  explicit operator bool() const { return impl_ != nullptr; }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual R call(Args... args) = 0;
  };
  template <class F>
  struct Impl final : Base {
    explicit Impl(F&& fn) : f(std::move(fn)) {}
    explicit Impl(const F& fn) : f(fn) {}
    R call(Args... args) override { return f(std::forward<Args>(args)...); }
    F f;
  };
  std::unique_ptr<Base> impl_;
};

using CallCallback = UniqueFunction<void(Status status, std::string_view body)>;

// A Redis reply as a service sees it (Context::redis). Strings are valid
// only during the callback.
struct RedisReply {
  enum class Kind : uint8_t { kNull, kString, kError, kInteger, kArray };
  Kind kind = Kind::kNull;
  std::string_view str;  // kString, kError
  int64_t integer = 0;   // kInteger; kArray: how many elements
  const RedisReply* elements = nullptr;  // kArray: the elements
};
using RedisCallback = UniqueFunction<void(Status status, const RedisReply& reply)>;

// Which of `workers` workers owns `key` when data is sharded by hash (FNV-1a
// of the bytes, modulo the count): what Context::worker_for_key answers.
uint16_t shard_of(std::string_view key, uint16_t workers);
using TimerCallback = UniqueFunction<void()>;
using TimerId = uint64_t;

class Service {
 public:
  // `id` is the wire service id (0..3 are the built-ins sys, echo, kv,
  // room); `events` is a mask of kEvent* bits this service wants.
  Service(std::string name, uint16_t id, uint32_t events = 0);
  virtual ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  const std::string& name() const { return name_; }
  uint16_t id() const { return id_; }
  uint32_t events() const { return events_; }
  bool mounted() const { return ctx_ != nullptr; }

  // Called when mounted on a daemon; the context is valid until unmount.
  virtual void on_mount() {}
  // Called when unmounted, and when the daemon is destroyed. Requests still
  // pending have been answered UNAVAILABLE, and the service's own pending
  // calls and timers dropped; drop any Reply kept for later here: a Reply
  // must not outlive its daemon. A service destroyed while mounted unmounts
  // itself first (without this call: the object is already going away).
  virtual void on_unmount() {}
  // A REQUEST (or a call() from another service). Answer through `reply`.
  virtual void on_request(const Request& req, Reply reply) = 0;
  // A SEND. By default it runs the op exactly as a REQUEST would and
  // discards the result.
  virtual void on_send(const Request& req);
  // A client event whose bit is in events().
  virtual void on_event(Event, ClientId) {}
  // Adds this service's figures to sys INFO (of this worker).
  virtual void on_info(InfoSink&) {}
  // Another worker went away (it died or is being replaced: its clients are
  // gone and calls to it have failed) or came (back).
  virtual void on_worker(uint16_t /*worker*/, bool /*up*/) {}
  // --cluster: a message node `node` published (Context::publish) on a
  // channel this service listens to (Context::listen). `channel` is the
  // name given to listen(), without the cluster's prefix.
  virtual void on_channel(std::string_view /*channel*/, uint16_t /*node*/,
                          std::string_view /*message*/) {}
  // --cluster: this node is registered with the cluster's Redis and its
  // channels are subscribed: when it first joins, and each time Redis is
  // back after it was lost (it may have lost its data): what a service
  // keeps in Redis about this node, it writes again here.
  virtual void on_cluster_up() {}

 protected:
  Context& ctx() { return *ctx_; }

 private:
  friend class detail::Core;
  friend class detail::ServiceTable;
  std::string name_;
  uint16_t id_;
  uint32_t events_;
  // The service's own context while mounted (it knows its owner, so calls
  // and timers the service leaves behind are dropped when it is unmounted).
  std::unique_ptr<Context> own_ctx_;
  Context* ctx_ = nullptr;
  // Intrusive node of the daemon's service list.
  Service* prev_ = nullptr;
  Service* next_ = nullptr;
};

// Figures of the whole daemon, for sys INFO and embedders.
struct Stats {
  uint64_t uptime_s = 0;
  uint64_t clients = 0;
  uint64_t clients_total = 0;
  uint64_t clients_ws = 0;        // of them, on the WebSocket port
  uint64_t frames_in = 0;
  uint64_t frames_out = 0;
  uint64_t sessions_pending = 0;
  uint64_t sessions_timed_out = 0;
  uint64_t replies_dropped = 0;
  uint64_t sends_dropped = 0;
  uint64_t input_bytes = 0;       // held now for frames not complete yet
  uint64_t output_bytes = 0;      // queued now, not yet written
  uint64_t clients_limited = 0;   // closed for a memory budget or timeout
  uint64_t clients_paused = 0;    // requests held back until output drains
  // The bus to the other workers (all 0 for a lone server).
  uint64_t bus_frames_in = 0;
  uint64_t bus_frames_out = 0;
  uint64_t bus_dropped = 0;   // one-way frames not sent: link down or full
  uint64_t bus_refused = 0;   // requests refused: link down or full
  uint64_t bus_links_up = 0;
  // --cluster (all 0 without): nodes up, this one included; frames for
  // other nodes dropped (Redis down or its output full); Redis reachable.
  uint64_t cluster_nodes = 0;
  uint64_t cluster_dropped = 0;
  uint64_t cluster_connected = 0;
  // Policies and rate limits (all 0 when there are none).
  uint64_t denied = 0;        // requests answered DENIED, SENDs dropped by a policy
  uint64_t rate_limited = 0;  // requests answered BUSY, SENDs dropped for the rate
  uint64_t rate_closed = 0;  // clients closed with GOODBYE LIMIT for the rate
  uint64_t auth_ok = 0;       // sys AUTH accepted
  uint64_t auth_refused = 0;  // sys AUTH refused
};

// The daemon as a service sees it. Obtained through Service::ctx() (or
// Daemon::context() for code outside any service).
//
// With several workers (-w N), a client id names its worker, and push,
// push_many and kick reach a client of any worker. For a client of this
// worker they act at once and report whether the client exists; for a
// client of another worker they hand the frame to the bus and report
// whether the bus took it: the other worker delivers it if the client is
// still there. A service that must know (sys TELL answering NOT_FOUND)
// asks the owning worker with call_worker().
class Context {
 public:
  // Pushes a frame (service = `from`, code = `op`) to a client. False if the
  // client does not exist (any more), or its worker cannot be reached.
  bool push(ClientId to, uint16_t from, uint16_t op, std::string_view body);
  // Encodes one PUSH once and queues the same bytes to every listed client
  // (fan-out); clients of other workers get one bus frame per worker.
  // Returns how many clients it was queued to.
  size_t push_many(const ClientId* to, size_t n, uint16_t from, uint16_t op,
                   std::string_view body);
  // Like push_many, with the body given in two parts (header + payload),
  // so a caller does not have to join them.
  size_t push_many(const ClientId* to, size_t n, uint16_t from, uint16_t op,
                   std::string_view body_head, std::string_view body_tail);
  // Sends GOODBYE KICKED with `reason` and closes the client.
  bool kick(ClientId client, std::string_view reason);
  // Whether a client of this worker is connected (false for any id of
  // another worker: ask its worker).
  bool client_exists(ClientId client) const;

  // Calls another service. `done` runs exactly once: OK and the reply body,
  // or TIMEOUT when `timeout_ms` passes first (0 = the daemon's default),
  // or UNAVAILABLE if the callee is not mounted or is unmounted meanwhile,
  // or BUSY if too many sessions are pending. It may run before call()
  // returns when the callee answers at once.
  void call(uint16_t service, uint16_t op, std::string_view body,
            uint32_t timeout_ms, CallCallback done);

  // Runs `fn` once after `delay_ms`; cancel_timer() before that stops it.
  TimerId set_timer(uint32_t delay_ms, TimerCallback fn);
  bool cancel_timer(TimerId id);

  // Milliseconds of the monotonic clock, read once per loop turn.
  uint64_t now_ms() const;
  uint32_t max_frame() const;
  uint32_t idle_timeout_ms() const;
  // Workers: this process's index (0..workers()-1) and how many there are.
  // With --cluster, worker_index() is this node's number, and the peers
  // that worker_of(), worker_up() and call_worker() speak of are nodes.
  uint16_t worker_index() const;
  uint16_t workers() const;
  // How many peer indexes there are: workers(), or with --cluster the
  // node numbers (up to 1024). A service asks every peer p < peers() with
  // worker_up(p) when it gathers from all of them.
  uint16_t peers() const;
  // --cluster: whether this daemon is a node of a cluster, and the key or
  // channel `name` under the cluster's prefix ("<prefix>:<name>").
  bool clustered() const;
  std::string cluster_key(std::string_view name) const;
  // Runs one command on the cluster's Redis. `done` runs exactly once: OK
  // and the reply (an error reply is OK with kind kError), UNAVAILABLE at
  // once when Redis is not reachable (or the connection is lost before
  // the reply, or there is no cluster), BUSY at once when the output to
  // Redis is full. It runs even if the service is unmounted meanwhile:
  // capture what outlives it (a Reply), not the service.
  void redis(std::initializer_list<std::string_view> args, RedisCallback done);
  // --cluster pub/sub between nodes. listen() subscribes this node to the
  // cluster channel `channel` (under the prefix) for this service, whose
  // on_channel() then receives what other nodes publish there. `done` runs
  // once: OK when the subscription is in place (what is published after
  // that reaches this node), UNAVAILABLE when Redis is not reachable now.
  // Either way the channel stays listened to until unlisten() (or unmount)
  // and is subscribed again whenever Redis comes back. Without a cluster,
  // `done` gets UNAVAILABLE. Like redis()'s, `done` runs even if the
  // service is unmounted meanwhile.
  void listen(std::string_view channel, CallCallback done);
  void unlisten(std::string_view channel);
  // One PUBLISH of `head` + `tail` on `channel`, to every other node that
  // listens (never back to this one: a service delivers here itself).
  // False when it could not be sent: no cluster, Redis not reachable, or
  // its output full (counted in INFO cluster_dropped).
  bool publish(std::string_view channel, std::string_view head,
               std::string_view tail = {});
  // The worker a client id belongs to.
  uint16_t worker_of(ClientId client) const;
  bool is_local(ClientId client) const { return worker_of(client) == worker_index(); }
  // The worker that owns `key` when data is sharded over workers by hash
  // (as kv does): the same answer on every worker.
  uint16_t worker_for_key(std::string_view key) const;
  // Whether the bus link to `worker` is up (always true for this worker).
  bool worker_up(uint16_t worker) const;
  // Calls `service` on another worker (on this one, it is call()). The
  // request reaches that worker's service with from_worker set and
  // `on_behalf` as its client. `done` runs exactly once: the answer, TIMEOUT,
  // UNAVAILABLE if the worker is gone or dies meanwhile, BUSY if the bus to
  // it is full.
  void call_worker(uint16_t worker, uint16_t service, uint16_t op,
                   std::string_view body, uint32_t timeout_ms,
                   CallCallback done, ClientId on_behalf = 0);
  // Hands a request on to `service` on another worker: that worker's answer
  // answers `reply` directly (nothing runs here in between; the cheapest
  // way for a service sharded over workers, like kv, to serve a request for
  // data it does not own). The request arrives there with from_worker set
  // and reply.client() as its client. UNAVAILABLE if the worker is gone or
  // dies meanwhile, BUSY if the bus to it is full; the reply's own deadline
  // still applies.
  void forward(uint16_t worker, Reply reply, uint16_t service, uint16_t op,
               std::string_view body);
  Stats stats() const;

  // Policies (hazel/policy.h), asked before each request of a client of
  // this worker reaches its service. One added through a service's context
  // is removed when that service is unmounted.
  void add_policy(Policy& policy);
  void remove_policy(Policy& policy);
  // sys AUTH: asks the policies to authenticate `client` with `token`.
  // Returns the identity now held for the client, or nullptr and `reason`
  // (DENIED's body). A client that authenticated before keeps its earlier
  // identity when a new token is refused, and may not change its user.
  const Identity* authenticate(ClientId client, std::string_view token,
                               std::string* reason);
  // The identity a client of this worker authenticated with, or nullptr.
  const Identity* identity(ClientId client) const;
  // Charges `units` against the rate limit (--rate-limit) of `client`, for
  // work a service does on its behalf beyond the request itself: fan-out,
  // so that one PUBLISH to a room of 10,000 costs more than a PING. Does
  // nothing for a client of another worker or without a rate limit.
  void charge(ClientId client, uint32_t units);
  // Unix time in seconds by the loop's clock (what token expiry uses).
  int64_t unix_now_s() const;

  // Looks a mounted service up by name or id (nullptr if none).
  Service* find_service(std::string_view name) const;
  Service* find_service(uint16_t id) const;
  // Visits mounted services in mount order.
  void for_each_service(const std::function<void(const Service&)>& fn) const;
  // Collects every service's on_info() figures.
  void collect_info(InfoSink& sink) const;

 private:
  friend class detail::Core;
  friend class Service;
  Context(detail::Core* core, Service* owner) : core_(core), owner_(owner) {}
  detail::Core* core_;
  Service* owner_;  // whose calls and timers these are (nullptr: none)
};

}  // namespace hazel
