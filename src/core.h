// Core: what a Daemon is made of, wired together. The daemon is the core,
// not the gateway: the loop and its timer wheel at the bottom, the gateway
// that accepts, the bus to the other workers, the message module that owns
// clients and dispatches frames, the service table, and the session table
// that makes sure every request is answered exactly once.
//
// The core is where the parts meet: it is the message module's RequestSink
// (a decoded frame becomes a session and a service call), the sessions'
// ReplySink (an answer goes to a client, or back over the bus), and the
// bus's BusSink (requests, replies and deliveries from other workers).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "admin.h"
#include "bus.h"
#include "client_id.h"
#include "cluster.h"
#include "gate.h"
#include "gateway.h"
#include "hazel/config.h"
#include "hazel/service.h"
#include "loop.h"
#include "message.h"
#include "request_durations.h"
#include "service.h"
#include "session.h"

namespace hazel {
class Daemon;
class WsGateway;
}

namespace hazel::detail {

// What the master hands a worker process: its place, its inherited
// listening socket, its bus links and the control channel.
struct WorkerSetup {
  uint16_t index = 0;
  uint16_t workers = 1;
  uint32_t incarnation = 0;
  int listen_fd = -1;
  int ws_listen_fd = -1;     // with cfg.ws_listen
  int admin_listen_fd = -1;  // with cfg.admin_listen
  int control_fd = -1;
  std::vector<std::pair<uint16_t, int>> links;  // (worker, fd)
};

class Core final : public RequestSink,
                   public ReplySink,
                   public BusSink,
                   public AdminSink,
                   public ClusterSink,
                   public EventWatcher {
 public:
  explicit Core(Config config);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // RequestSink: a client's REQUEST or SEND for a mounted service.
  void on_request(Service& s, const Request& req,
                  uint32_t wire_session) override;
  void on_send(Service& s, const Request& req) override;
  Reply open_discard_reply(const Request& req);

  // EventWatcher: a client of ours is gone, and with it what the gate held.
  void on_client_event(Event ev, ClientId client) override;

  // ReplySink.
  bool send_reply(ClientId client, uint16_t service, uint32_t session,
                  Status status, std::string_view body, bool async) override;
  void on_async_request(ClientId client) override;
  void on_async_send_done(ClientId client) override;
  void on_remote_answered(ClientId client) override;
  void send_peer_reply(uint16_t worker, uint32_t slot, uint32_t gen,
                       Status status, std::string_view body) override;
  void on_request_done(uint16_t service, uint64_t started_ns) override;

  // BusSink.
  void on_bus_request(uint16_t from, uint16_t service, uint16_t op,
                      uint32_t slot, uint32_t gen, ClientId on_behalf,
                      std::string_view body) override;
  void on_bus_reply(uint16_t from, uint32_t slot, uint32_t gen, Status status,
                    std::string_view body) override;
  void on_bus_deliver(uint16_t from, const uint8_t* ids, size_t n,
                      std::string_view frame) override;
  void on_bus_kick(uint16_t from, ClientId client,
                   std::string_view reason) override;
  void on_bus_event(uint16_t from, Event ev, ClientId client) override;
  void on_link(uint16_t worker, bool up) override;

  // ClusterSink.
  void on_cluster_joined() override;
  void on_cluster_conflict() override;
  void on_cluster_frame(uint16_t from, const uint8_t* frame, size_t n) override;
  void on_node(uint16_t node, bool up) override;
  void on_cluster_up() override;
  void on_cluster_message(uint16_t service, std::string_view channel,
                          uint16_t from, std::string_view msg) override;
  // This daemon's index among its peers: its worker index, or with
  // --cluster its node number.
  uint16_t self_peer() const {
    return cluster ? cluster->node() : cfg.worker_index;
  }
  // How many peer indexes there are (workers, or node numbers).
  uint16_t peer_slots() const {
    return cluster ? static_cast<uint16_t>(kMaxWorkers) : cfg.workers;
  }

  // AdminSink.
  void gather_info(InfoDone done) override;
  uint16_t worker_count() const override { return cfg.workers; }
  // This worker's request durations, in metrics::append_durations' text.
  std::string durations_text() const;

  // Context. `as_peer`: the callee sees the request as from another worker
  // (from_worker set) and answers for this worker alone.
  void call(Service* caller, uint16_t service, uint16_t op,
            std::string_view body, uint32_t timeout_ms, CallCallback done,
            bool as_peer = false);
  void call_worker(Service* caller, uint16_t worker, uint16_t service,
                   uint16_t op, std::string_view body, uint32_t timeout_ms,
                   CallCallback done, ClientId on_behalf);
  void forward(Service* caller, uint16_t worker, Reply reply,
               uint16_t service, uint16_t op, std::string_view body);
  TimerId set_timer(Service* owner, uint32_t delay_ms, TimerCallback fn);
  bool cancel_timer(TimerId id);
  Stats stats() const;

  bool mount(Service& s, std::string* err);
  // `notify` = false when the service is being destroyed.
  void unmount(Service& s, bool notify = true);
  // Makes this daemon worker `setup.index` of a master's server (before
  // start()): the listener and the bus links come from the master.
  void adopt(WorkerSetup setup);
  bool start(std::string* err);
  int run();
  void begin_shutdown();

  Config cfg;
  Loop loop;
  ServiceTable services;
  Bus bus;
  Message message;
  Sessions sessions;
  Gateway gateway;
  std::unique_ptr<WsGateway> ws;  // --ws-port
  std::unique_ptr<Admin> admin;   // --admin-port
  std::unique_ptr<Cluster> cluster;  // --cluster
  Gate gate;
  RequestDurations durations;
  Context ctx;
  std::vector<std::unique_ptr<Service>> builtins;
  std::unique_ptr<Policy> token_policy;  // with cfg.auth_secret_file

 private:
  struct ServiceTimer {
    TimerNode node;
    TimerCallback fn;
    TimerId id = 0;
    Core* core = nullptr;
    Service* owner = nullptr;
  };
  static void on_service_timer(TimerNode* n);
  static void on_end_of_turn(void* arg);
  static void on_stop_request(void* arg);
  static void on_signal(void* arg, int signo);
  static void on_accept_deadline(TimerNode* n);
  bool open_http_ports(std::string* err);
  bool start_accepting(std::string* err);
  void start_accepting();
  void dispatch_request(Service& s, const Request& req, uint32_t wire_session);
  void dispatch_send(Service& s, const Request& req);

  // Requests answered this turn, timed at its end (observe_durations()).
  struct Answered {
    uint16_t service;
    uint64_t started_ns;
  };
  void observe_durations();
  std::vector<Answered> answered_;
  std::unordered_map<TimerId, std::unique_ptr<ServiceTimer>> timers_;
  TimerId next_timer_id_ = 1;
  // The discard session a SEND's handler opened, while it runs.
  Sessions::Handle send_session_;
  bool in_send_ = false;
  std::string init_error_;
  WorkerSetup worker_;
  bool is_worker_ = false;
  bool started_ = false;
  bool accepting_ = false;
  bool shutting_down_ = false;
  int exit_status_ = 0;  // what run() returns
  uint64_t started_ms_ = 0;
  TimerNode accept_deadline_;
};

// The core of a daemon, for the parts of hazel that build one (the master).
Core& core_of(Daemon& d);

// Whether `addr` (an IPv4 or IPv6 address) is a loopback address.
bool is_loopback(const std::string& addr);

}  // namespace hazel::detail
