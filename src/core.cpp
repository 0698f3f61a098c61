#include "core.h"

#include <arpa/inet.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "client_id.h"
#include "hazel/builtins.h"
#include "hazel/daemon.h"
#include "log.h"
#include "ws_gateway.h"

namespace hazel::detail {

namespace {
// A worker of a fresh server starts accepting once it has a link to every
// other worker, so its first clients find the whole server; a worker that
// is late does not hold the others back longer than this.
constexpr uint32_t kAcceptDeadlineMs = 2000;

// Unix time minus the loop's clock, in ms: the loop's clock then tells unix
// time too, read once per turn like the rest (token expiry needs seconds).
int64_t unix_offset_ms(uint64_t loop_now_ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t unix_ms = int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
  return unix_ms - static_cast<int64_t>(loop_now_ms);
}

}  // namespace

Core::Core(Config config)
    : cfg(std::move(config)),
      bus(loop, *this, cfg.max_frame, cfg.bus_max_output),
      message(loop, cfg, services, *this, bus),
      sessions(loop.timers(), loop.clock(), *this, cfg.max_sessions),
      gateway(loop, message),
      gate(cfg, loop.clock(), unix_offset_ms(loop.now_ms())),
      ctx(this, nullptr) {
  services.set_watcher(this);
  if (!loop.init(&init_error_)) return;
  if (cfg.manual_clock) loop.use_manual_clock();
  loop.set_end_of_turn(&Core::on_end_of_turn, this);
  loop.set_on_wake(&Core::on_stop_request, this);
  loop.set_on_signal(&Core::on_signal, this);
  accept_deadline_.fire = &Core::on_accept_deadline;
  accept_deadline_.data = this;
}

Core::~Core() {
  loop.timers().cancel(&accept_deadline_);
  for (auto& [id, t] : timers_) loop.timers().cancel(&t->node);
  // Unmount in reverse so services see their own on_unmount while the rest
  // of the daemon still stands.
  std::vector<Service*> mounted;
  services.for_each([&](Service& s) { mounted.push_back(&s); });
  for (auto it = mounted.rbegin(); it != mounted.rend(); ++it) unmount(**it);
}

// ---- services ----------------------------------------------------------------

bool Core::mount(Service& s, std::string* err) {
  if (!services.add(s, err)) return false;
  durations.track(s.id());
  s.own_ctx_.reset(new Context(this, &s));
  s.ctx_ = s.own_ctx_.get();
  s.on_mount();
  return true;
}

void Core::unmount(Service& s, bool notify) {
  if (services.find(s.id()) != &s) return;
  services.remove(s);
  sessions.fail_callee(s.id());
  // What the service started must not call back into it once it is gone.
  sessions.drop_caller(&s);
  std::vector<TimerId> mine;
  for (auto& [id, t] : timers_)
    if (t->owner == &s) mine.push_back(id);
  for (TimerId id : mine) cancel_timer(id);
  gate.remove_owned_by(&s);
  if (cluster) cluster->unlisten_service(s.id());
  if (notify) s.on_unmount();
  s.ctx_ = nullptr;
  s.own_ctx_.reset();
}

// ---- requests from clients ---------------------------------------------------

// Every client REQUEST and SEND passes the gate (rate limit, policies)
// first, when there is anything to pass: the request the service sees
// carries the client's user name.
void Core::on_request(Service& s, const Request& req, uint32_t wire_session) {
  if (!gate.active()) return dispatch_request(s, req, wire_session);
  Request r = req;
  std::string_view why;
  switch (gate.check(&r, &why)) {
    case Gate::Outcome::kPass:
      return dispatch_request(s, r, wire_session);
    case Gate::Outcome::kDenied:
      message.send_reply(req.client, s.id(), wire_session, Status::kDenied, why);
      return;
    case Gate::Outcome::kBusy:
      message.send_reply(req.client, s.id(), wire_session, Status::kBusy, why);
      return;
    case Gate::Outcome::kClose:
      // Its answer first, then the GOODBYE: the client learns why.
      message.send_reply(req.client, s.id(), wire_session, Status::kBusy, why);
      message.close_with(req.client, Goodbye::kLimit, "over the rate limit for too long");
      return;
  }
}

void Core::on_send(Service& s, const Request& req) {
  if (!gate.active()) return dispatch_send(s, req);
  Request r = req;
  std::string_view why;
  switch (gate.check(&r, &why)) {
    case Gate::Outcome::kPass:
      return dispatch_send(s, r);
    case Gate::Outcome::kDenied:
    case Gate::Outcome::kBusy:
      return;  // dropped; the gate counted it
    case Gate::Outcome::kClose:
      message.close_with(req.client, Goodbye::kLimit, "over the rate limit for too long");
      return;
  }
}

void Core::dispatch_request(Service& s, const Request& req,
                            uint32_t wire_session) {
  auto h = sessions.open_client(Sessions::Kind::kClientRequest, req.client,
                                s.id(), wire_session, loop.turn_ns());
  if (h.slot == Sessions::kNone) {
    message.send_reply(req.client, s.id(), wire_session, Status::kBusy,
                       "too many pending sessions");
    return;
  }
  guarded("on_request", [&] { s.on_request(req, sessions.reply(h, req.client)); });
  // Still pending: the service kept the handle to answer later. Now it
  // gets a deadline, so the client is answered (TIMEOUT) whatever happens.
  if (sessions.pending(h)) sessions.arm(h, cfg.request_timeout_ms);
}

void Core::dispatch_send(Service& s, const Request& req) {
  in_send_ = true;
  send_session_ = {};
  guarded("on_send", [&] { s.on_send(req); });
  in_send_ = false;
  // Answered later: a deadline, and it counts against the client's cap
  // like a REQUEST answered later.
  if (sessions.pending(send_session_))
    sessions.arm(send_session_, cfg.request_timeout_ms);
}

void Core::on_client_event(Event ev, ClientId client) {
  if (ev == Event::kDisconnect) gate.forget(client);
}

Reply Core::open_discard_reply(const Request& req) {
  auto h = sessions.open_client(Sessions::Kind::kClientSend, req.client,
                                req.service, 0);
  if (h.slot == Sessions::kNone) return Reply();
  if (in_send_ && send_session_.slot == Sessions::kNone) {
    send_session_ = h;
  } else {
    sessions.arm(h, cfg.request_timeout_ms);
  }
  return sessions.reply(h, req.client);
}

// ---- answers -----------------------------------------------------------------

bool Core::send_reply(ClientId client, uint16_t service, uint32_t session,
                      Status status, std::string_view body, bool async) {
  return message.send_reply(client, service, session, status, body, async);
}

void Core::on_async_request(ClientId client) { message.on_async_request(client); }

void Core::on_async_send_done(ClientId client) {
  message.on_async_send_done(client);
}

void Core::on_remote_answered(ClientId client) {
  message.remote_answered(client);
}

// From the start of the turn that read the request (free: the loop read the
// clock then), so the time it waited behind the rest of that turn's input
// counts, to now: one clock read per answer.
// Timed at the end of the turn, once output is written: one clock read for
// every request the turn answered (a clock read per request cost 3-4% of
// the CPU at 1 KiB echo on a VM), and the reply leaves then anyway.
void Core::on_request_done(uint16_t service, uint64_t started_ns) {
  answered_.push_back({service, started_ns});
}

void Core::observe_durations() {
  if (answered_.empty()) return;
  uint64_t now = loop.read_ns();
  for (const Answered& a : answered_)
    durations.observe(a.service, now > a.started_ns ? now - a.started_ns : 0);
  answered_.clear();
}

void Core::send_peer_reply(uint16_t worker, uint32_t slot, uint32_t gen,
                           Status status, std::string_view body) {
  if (body.size() > cfg.max_frame) {
    status = Status::kTooLarge;
    body = "result exceeds max_frame";
  }
  bus.reply(worker, slot, gen, status, body);
}

// ---- calls between services --------------------------------------------------

void Core::call(Service* caller, uint16_t service, uint16_t op,
                std::string_view body, uint32_t timeout_ms, CallCallback done,
                bool as_peer) {
  if (sessions.live() >= sessions.cap()) {
    if (done) done(Status::kBusy, "too many pending sessions");
    return;
  }
  auto h = sessions.open_call(caller, service, std::move(done));
  Service* callee = services.find(service);
  if (callee == nullptr) {
    sessions.complete(h, Status::kUnavailable,
                      "no service " + std::to_string(service));
    return;
  }
  Request req;
  req.service = service;
  req.op = op;
  req.body = body;
  req.from_worker = as_peer;
  req.worker = self_peer();
  guarded("on_request", [&] { callee->on_request(req, sessions.reply(h, 0)); });
  // As for a client's request: a deadline only if it was not answered at
  // once (nor counted in sessions_pending).
  if (sessions.pending(h))
    sessions.arm(h, timeout_ms ? timeout_ms : cfg.request_timeout_ms);
}

void Core::call_worker(Service* caller, uint16_t worker, uint16_t service,
                       uint16_t op, std::string_view body, uint32_t timeout_ms,
                       CallCallback done, ClientId on_behalf) {
  if (worker == self_peer()) {
    call(caller, service, op, body, timeout_ms, std::move(done));
    return;
  }
  if (!bus.up(worker)) {
    if (cluster) cluster->count_dropped();
    if (done)
      done(Status::kUnavailable, "worker " + std::to_string(worker) +
                                     " is not reachable");
    return;
  }
  if (sessions.live() >= sessions.cap()) {
    if (done) done(Status::kBusy, "too many pending sessions");
    return;
  }
  auto h = sessions.open_call(caller, service, std::move(done), worker);
  sessions.arm(h, timeout_ms ? timeout_ms : cfg.request_timeout_ms);
  if (!bus.request(worker, service, op, h.slot, h.gen, on_behalf, body))
    sessions.complete(h, Status::kBusy,
                      "the bus to worker " + std::to_string(worker) + " is full");
}

void Core::forward(Service* caller, uint16_t worker, Reply reply,
                   uint16_t service, uint16_t op, std::string_view body) {
  if (!reply.pending()) return;
  if (worker == self_peer()) {
    call(caller, service, op, body, 0,
         [r = std::move(reply)](Status st, std::string_view b) mutable {
           r.send(st, b);
         });
    return;
  }
  if (!bus.up(worker)) {
    if (cluster) cluster->count_dropped();
    return reply.error(Status::kUnavailable,
                       "worker " + std::to_string(worker) + " is not reachable");
  }
  ClientId client = reply.client();
  Sessions::Handle h = sessions.take(reply);
  sessions.await_worker(h, worker);
  if (ClientId c = sessions.client_of(h)) message.remote_wait(c);
  if (!bus.request(worker, service, op, h.slot, h.gen, client, body))
    sessions.complete(h, Status::kBusy,
                      "the bus to worker " + std::to_string(worker) + " is full");
}

// ---- the bus -----------------------------------------------------------------

void Core::on_bus_request(uint16_t from, uint16_t service, uint16_t op,
                          uint32_t slot, uint32_t gen, ClientId on_behalf,
                          std::string_view body) {
  // Another worker's admin port gathering figures: the durations are the
  // core's, not a service's.
  if (service == sys::kId && op == sys::kInfo && body == metrics::kDurationsQuery) {
    bus.reply(from, slot, gen, Status::kOk, durations_text());
    return;
  }
  Service* s = services.find(service);
  if (s == nullptr) {
    bus.reply(from, slot, gen, Status::kUnavailable,
              "no service " + std::to_string(service) + " on worker " +
                  std::to_string(cfg.worker_index));
    return;
  }
  auto h = sessions.open_peer(from, slot, gen, service);
  if (h.slot == Sessions::kNone) {
    bus.reply(from, slot, gen, Status::kBusy, "too many pending sessions");
    return;
  }
  Request req;
  req.client = on_behalf;
  req.service = service;
  req.op = op;
  req.body = body;
  req.from_worker = true;
  req.worker = from;
  guarded("on_request", [&] { s->on_request(req, sessions.reply(h, on_behalf)); });
  if (sessions.pending(h)) sessions.arm(h, cfg.request_timeout_ms);
}

void Core::on_bus_reply(uint16_t from, uint32_t slot, uint32_t gen,
                        Status status, std::string_view body) {
  // A late answer (the call timed out) finds a stale handle and is dropped.
  sessions.complete_from(from, {slot, gen}, status, body);
}

void Core::on_bus_deliver(uint16_t, const uint8_t* ids, size_t n,
                          std::string_view frame) {
  message.deliver(ids, n, frame);
}

void Core::on_bus_kick(uint16_t, ClientId client, std::string_view reason) {
  message.kick(client, reason);
}

void Core::on_bus_event(uint16_t, Event ev, ClientId client) {
  if (ev == Event::kRemoteDisconnect) services.notify(ev, client);
}

void Core::on_link(uint16_t worker, bool up) {
  if (!up) sessions.fail_worker(worker);
  services.for_each([&](Service& s) {
    guarded("on_worker", [&] { s.on_worker(worker, up); });
  });
  if (up && !accepting_ && started_ && !cluster &&
      bus.links_up() + 1 >= cfg.workers)
    start_accepting();
}

// ---- the cluster -------------------------------------------------------------

void Core::on_cluster_joined() {
  // The node number takes the worker's place in client ids: from now on
  // route(id) names the node of any client.
  uint32_t mask = 0;
  services.for_each([&](Service& s) { mask |= s.events(); });
  bus.configure(cluster->node(), static_cast<uint16_t>(kMaxWorkers),
                mask & kEventRemoteDisconnect);
  message.set_worker(cluster->node(),
                     first_client_id(cluster->node(), cluster->incarnation()));
  if (!shutting_down_) start_accepting();
}

void Core::on_cluster_conflict() {
  // Not a clean stop: a supervisor (or the master) starts it again, and
  // then it takes a free number.
  exit_status_ = 1;
  begin_shutdown();
}

void Core::on_cluster_frame(uint16_t from, const uint8_t* frame, size_t n) {
  bus.on_remote_frame(from, frame, n);
}

void Core::on_node(uint16_t node, bool up) { on_link(node, up); }

void Core::on_cluster_up() {
  services.for_each([&](Service& s) {
    guarded("on_cluster_up", [&] { s.on_cluster_up(); });
  });
}

void Core::on_cluster_message(uint16_t service, std::string_view channel,
                              uint16_t from, std::string_view msg) {
  Service* s = services.find(service);
  size_t skip = cfg.cluster_prefix.size() + 1;  // "<prefix>:"
  if (s == nullptr || channel.size() < skip) return;
  channel.remove_prefix(skip);
  guarded("on_channel", [&] { s->on_channel(channel, from, msg); });
}

// ---- the admin port ----------------------------------------------------------

void Core::gather_info(InfoDone done) {
  struct Gather {
    InfoDone done;
    std::vector<metrics::WorkerInfo> infos;
    std::vector<metrics::WorkerDurations> durations;
    size_t waiting = 0;
  };
  auto g = std::make_shared<Gather>();
  g->done = std::move(done);
  g->durations.push_back({cfg.worker_index, durations_text()});
  std::vector<uint16_t> others;
  // With --cluster each node's admin port speaks for its node alone.
  for (uint16_t w = 0; w < cfg.workers && !cluster; ++w)
    if (w != cfg.worker_index && bus.up(w)) others.push_back(w);
  g->waiting = 2 * others.size() + 1;
  auto finish = [](Gather& st) {
    if (--st.waiting == 0) st.done(st.infos, st.durations);
  };
  auto answer = [g, finish](uint16_t w) {
    return [g, w, finish](Status st, std::string_view body) {
      g->infos.push_back({w, st == Status::kOk, std::string(body)});
      finish(*g);
    };
  };
  // Each worker's own figures: this one's as another worker would ask.
  for (uint16_t w : others) {
    call_worker(nullptr, w, sys::kId, sys::kInfo, {}, 0, answer(w), 0);
    call_worker(nullptr, w, sys::kId, sys::kInfo, metrics::kDurationsQuery, 0,
                [g, w, finish](Status st, std::string_view body) {
                  if (st == Status::kOk) g->durations.push_back({w, std::string(body)});
                  finish(*g);
                },
                0);
  }
  call(nullptr, sys::kId, sys::kInfo, {}, 0, answer(cfg.worker_index), true);
}

std::string Core::durations_text() const {
  std::string out;
  services.for_each([&](const Service& s) {
    if (const DurationHistogram* h = durations.find(s.id()))
      metrics::append_durations(out, s.name(), *h);
  });
  return out;
}

// ---- timers ------------------------------------------------------------------

void Core::on_service_timer(TimerNode* n) {
  auto* t = static_cast<ServiceTimer*>(n->data);
  Core* core = t->core;
  TimerCallback fn = std::move(t->fn);
  core->timers_.erase(t->id);  // frees t
  if (fn) guarded("timer", [&] { fn(); });
}

TimerId Core::set_timer(Service* owner, uint32_t delay_ms, TimerCallback fn) {
  auto t = std::make_unique<ServiceTimer>();
  t->id = next_timer_id_++;
  t->fn = std::move(fn);
  t->core = this;
  t->owner = owner;
  t->node.fire = &Core::on_service_timer;
  t->node.data = t.get();
  loop.add_timer(&t->node, delay_ms);
  TimerId id = t->id;
  timers_.emplace(id, std::move(t));
  return id;
}

bool Core::cancel_timer(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return false;
  loop.timers().cancel(&it->second->node);
  // Destroy the callback outside the map: what it owns may call back in.
  std::unique_ptr<ServiceTimer> t = std::move(it->second);
  timers_.erase(it);
  t.reset();
  return true;
}

Stats Core::stats() const {
  Stats s;
  s.uptime_s = (loop.now_ms() - started_ms_) / 1000;
  s.clients = message.clients();
  s.clients_total = message.clients_total();
  s.clients_ws = message.clients_ws();
  s.frames_in = message.frames_in();
  s.frames_out = message.frames_out();
  s.sessions_pending = sessions.armed();
  s.sessions_timed_out = sessions.timed_out();
  s.replies_dropped = sessions.dropped();
  s.sends_dropped = message.sends_dropped() + sessions.send_errors();
  s.input_bytes = message.input_bytes();
  s.output_bytes = message.output_bytes();
  s.clients_limited = message.clients_limited();
  s.clients_paused = message.clients_paused();
  const BusStats& b = bus.stats();
  s.bus_frames_in = b.frames_in;
  s.bus_frames_out = b.frames_out;
  s.bus_dropped = b.dropped;
  s.bus_refused = b.refused;
  s.bus_links_up = bus.links_up();
  if (cluster) {
    s.cluster_nodes = cluster->nodes();
    s.cluster_dropped = cluster->stats().dropped;
    s.cluster_connected = cluster->connected() ? 1 : 0;
  }
  s.denied = gate.denied();
  s.rate_limited = gate.rate_limited();
  s.rate_closed = gate.rate_closed();
  s.auth_ok = gate.auth_ok();
  s.auth_refused = gate.auth_refused();
  // A SEND the gate stopped is a dropped SEND like any other.
  s.sends_dropped += gate.sends_stopped();
  return s;
}

// ---- life --------------------------------------------------------------------

void Core::adopt(WorkerSetup setup) {
  worker_ = std::move(setup);
  is_worker_ = true;
  cfg.worker_index = worker_.index;
  cfg.workers = worker_.workers;
  cfg.reuse_port = true;
}

bool Core::start(std::string* err) {
  if (!init_error_.empty()) {
    *err = init_error_;
    return false;
  }
  set_log_level(cfg.log_level);
  message.set_worker(cfg.worker_index,
                     first_client_id(cfg.worker_index, worker_.incarnation));
  if (!cfg.cluster_url.empty()) {
    cluster = std::make_unique<Cluster>(loop, cfg, *this);
    bus.set_remote(cluster.get());
  }
  if (is_worker_) {
    if (!gateway.adopt(worker_.listen_fd, err)) return false;
  } else if (!gateway.listen(cfg.bind, cfg.port, cfg.reuse_port, err)) {
    return false;
  }
  if (!open_http_ports(err)) return false;
  // Tell the other workers which events about their clients we want.
  uint32_t mask = 0;
  services.for_each([&](Service& s) { mask |= s.events(); });
  if (!cluster)
    bus.configure(cfg.worker_index, cfg.workers, mask & kEventRemoteDisconnect);
  if (is_worker_) {
    if (worker_.control_fd >= 0) bus.set_control(worker_.control_fd);
    for (auto& [w, fd] : worker_.links) bus.attach(w, fd);
    worker_.links.clear();
  }
  started_ = true;
  started_ms_ = loop.now_ms();
  // Like Redis's protected mode, minus the refusing: say it once per server
  // (a lone daemon, or the first incarnation of worker 0).
  bool first = !is_worker_ || (cfg.worker_index == 0 && worker_.incarnation == 0);
  if (first && !gate.has_policies() && !is_loopback(cfg.bind))
    HZ_WARN("listening on %s without authentication: any client may write any "
            "key, join any room and TELL anyone (see --auth-secret-file)",
            cfg.bind.c_str());
  // A node serves once it has its number (on_cluster_joined).
  if (cluster) return cluster->start(err);
  if (cfg.workers <= 1 || bus.links_up() + 1 >= cfg.workers)
    return start_accepting(err);
  loop.add_timer(&accept_deadline_, kAcceptDeadlineMs);
  return true;
}

// The WebSocket and admin ports, when asked for: their own listeners (a
// worker's come from its master), on the loop like the main one.
bool Core::open_http_ports(std::string* err) {
  if (cfg.ws_listen) {
    // An upgraded socket becomes a client of the message module.
    ws = std::make_unique<WsGateway>(loop, cfg, &message);
    if (is_worker_ ? !ws->http().adopt(worker_.ws_listen_fd, err)
                   : !ws->http().listen(cfg.bind, cfg.ws_port, cfg.reuse_port, err))
      return false;
  }
  if (cfg.admin_listen) {
    admin = std::make_unique<Admin>(loop, cfg, *this);
    if (is_worker_ ? !admin->http().adopt(worker_.admin_listen_fd, err)
                   : !admin->http().listen(cfg.admin_bind, cfg.admin_port,
                                           cfg.reuse_port, err))
      return false;
  }
  return true;
}

bool Core::start_accepting(std::string* err) {
  if (accepting_) return true;
  loop.timers().cancel(&accept_deadline_);
  if (!gateway.start(err)) return false;
  if (ws && !ws->http().start(err)) return false;
  if (admin && !admin->http().start(err)) return false;
  accepting_ = true;
  std::string of = cfg.workers > 1 ? " of " + std::to_string(cfg.workers) : "";
  HZ_INFO("hazel %s listening on %s:%u (worker %u%s, max_frame %u, idle %u ms)",
          version(), cfg.bind.c_str(), gateway.port(), cfg.worker_index,
          of.c_str(), cfg.max_frame, cfg.idle_timeout_ms);
  if (ws)
    HZ_INFO("WebSocket port %s:%u: chat page at /, JavaScript client at "
            "/hazel.js, WebSocket at /ws",
            cfg.bind.c_str(), ws->http().port());
  if (admin)
    HZ_INFO("admin port %s:%u: /metrics, /healthz", cfg.admin_bind.c_str(),
            admin->http().port());
  bus.ready();
  return true;
}

void Core::start_accepting() {
  std::string err;
  if (!start_accepting(&err)) HZ_ERROR("%s", err.c_str());
}

void Core::on_accept_deadline(TimerNode* n) {
  auto* core = static_cast<Core*>(n->data);
  HZ_WARN("%u of %u bus links up after %u ms; serving without the rest",
          core->bus.links_up(), core->cfg.workers - 1, kAcceptDeadlineMs);
  core->start_accepting();
}

int Core::run() {
  if (!started_) {
    HZ_ERROR("run() before a successful start()");
    return 1;
  }
  if (cfg.handle_signals) {
    const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    std::string err;
    if (!loop.watch_signals(sigs, 3, &err)) {
      HZ_ERROR("%s", err.c_str());
      return 1;
    }
  }
  loop.run();
  bus.close_all();
  if (cluster) cluster->stop();
  HZ_INFO("stopped");
  return exit_status_;
}

void Core::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  loop.timers().cancel(&accept_deadline_);
  gateway.close_listener();
  if (ws) {
    ws->http().close_listener();
    ws->http().close_all();
  }
  // The admin port stays until the process exits, telling load balancers.
  if (admin) admin->set_draining();
  message.shutdown_all(cfg.shutdown_flush_ms);
}

void Core::on_end_of_turn(void* arg) {
  auto* core = static_cast<Core*>(arg);
  core->message.end_turn();
  core->observe_durations();
  core->bus.end_turn();
  if (core->cluster) core->cluster->end_turn();
  if (core->ws) core->ws->http().end_turn();
  if (core->admin) core->admin->http().end_turn();
  if (core->shutting_down_ && core->message.idle()) core->loop.stop();
}

void Core::on_stop_request(void* arg) {
  static_cast<Core*>(arg)->begin_shutdown();
}

bool is_loopback(const std::string& addr) {
  uint8_t a[16];
  if (inet_pton(AF_INET, addr.c_str(), a) == 1) return a[0] == 127;
  if (inet_pton(AF_INET6, addr.c_str(), a) != 1) return false;
  static const uint8_t kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(a, kLoop6, 16) == 0) return true;
  return memcmp(a, kMapped, 12) == 0 && a[12] == 127;  // ::ffff:127.x.y.z
}

void Core::on_signal(void* arg, int signo) {
  if (signo == SIGHUP) {
    // A reload means replacing workers, which is the master's (-w) job: a
    // lone server keeps serving instead of dying of the default action.
    HZ_INFO("received %s: nothing to reload without workers (-w)",
            strsignal(signo));
    return;
  }
  HZ_INFO("received %s, shutting down", strsignal(signo));
  static_cast<Core*>(arg)->begin_shutdown();
}

}  // namespace hazel::detail
