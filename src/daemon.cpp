#include "hazel/daemon.h"

#include <cstring>
#include <utility>

#include "core.h"
#include "log.h"
#include "services/builtin.h"

namespace hazel {

const char* version() { return "0.1.0"; }

namespace detail {

void log_service_exception(const char* where, const char* what) {
  HZ_ERROR("%s threw: %s (answered INTERNAL where a reply was due)", where,
           what);
}

Core::Core(Config config)
    : cfg(std::move(config)),
      message(loop, cfg, services, *this),
      sessions(loop.timers(), loop.clock(), message, cfg.max_sessions),
      gateway(loop, message),
      ctx(this, nullptr) {
  if (!loop.init(&init_error_)) return;
  loop.set_end_of_turn(&Core::on_end_of_turn, this);
  loop.set_on_wake(&Core::on_stop_request, this);
  loop.set_on_signal(&Core::on_stop_request, this);
}

Core::~Core() {
  for (auto& [id, t] : timers_) loop.timers().cancel(&t->node);
  // Unmount in reverse so services see their own on_unmount while the rest
  // of the daemon still stands.
  std::vector<Service*> mounted;
  services.for_each([&](Service& s) { mounted.push_back(&s); });
  for (auto it = mounted.rbegin(); it != mounted.rend(); ++it) unmount(**it);
}

bool Core::mount(Service& s, std::string* err) {
  if (!services.add(s, err)) return false;
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
  if (notify) s.on_unmount();
  s.ctx_ = nullptr;
  s.own_ctx_.reset();
}

void Core::handle_request(Service& s, const Request& req,
                          uint32_t wire_session) {
  auto h = sessions.open_client(Sessions::Kind::kClientRequest, req.client,
                                s.id(), wire_session);
  if (h.slot == Sessions::kNone) {
    message.send_reply(req.client, s.id(), wire_session, Status::kBusy,
                       "too many pending sessions");
    return;
  }
  guarded("on_request", [&] {
    s.on_request(req, Reply(this, h.slot, h.gen, req.client));
  });
  // Still pending: the service kept the handle to answer later. Now it
  // gets a deadline, so the client is answered (TIMEOUT) whatever happens.
  if (sessions.pending(h)) sessions.arm(h, cfg.request_timeout_ms);
}

void Core::handle_send(Service& s, const Request& req) {
  guarded("on_send", [&] { s.on_send(req); });
}

Reply Core::open_discard_reply(const Request& req) {
  auto h = sessions.open_client(Sessions::Kind::kClientSend, req.client,
                                req.service, 0);
  if (h.slot == Sessions::kNone) return Reply();
  sessions.arm(h, cfg.request_timeout_ms);
  return Reply(this, h.slot, h.gen, req.client);
}

void Core::complete(uint32_t slot, uint32_t gen, Status status,
                    std::string_view body) {
  sessions.complete({slot, gen}, status, body);
}

bool Core::reply_pending(uint32_t slot, uint32_t gen) const {
  return sessions.pending({slot, gen});
}

void Core::call(Service* caller, uint16_t service, uint16_t op,
                std::string_view body, uint32_t timeout_ms, CallCallback done) {
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
  sessions.arm(h, timeout_ms ? timeout_ms : cfg.request_timeout_ms);
  Request req;
  req.service = service;
  req.op = op;
  req.body = body;
  guarded("on_request", [&] {
    callee->on_request(req, Reply(this, h.slot, h.gen, 0));
  });
}

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
  s.frames_in = message.frames_in();
  s.frames_out = message.frames_out();
  s.sessions_pending = sessions.armed();
  s.sessions_timed_out = sessions.timed_out();
  s.replies_dropped = sessions.dropped();
  s.sends_dropped = message.sends_dropped() + sessions.send_errors();
  return s;
}

bool Core::start(std::string* err) {
  if (!init_error_.empty()) {
    *err = init_error_;
    return false;
  }
  set_log_level(cfg.log_level);
  if (!gateway.listen(cfg.bind, cfg.port, cfg.reuse_port, err)) return false;
  if (!gateway.start(err)) return false;
  started_ = true;
  started_ms_ = loop.now_ms();
  HZ_INFO("hazel %s listening on %s:%u (worker %u, max_frame %u, idle %u ms)",
          version(), cfg.bind.c_str(), gateway.port(), cfg.worker_index,
          cfg.max_frame, cfg.idle_timeout_ms);
  return true;
}

int Core::run() {
  if (!started_) {
    HZ_ERROR("run() before a successful start()");
    return 1;
  }
  if (cfg.handle_signals) {
    std::string err;
    if (!loop.watch_signals(&err)) {
      HZ_ERROR("%s", err.c_str());
      return 1;
    }
  }
  loop.run();
  HZ_INFO("stopped");
  return 0;
}

void Core::begin_shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  gateway.close_listener();
  message.shutdown_all(cfg.shutdown_flush_ms);
}

void Core::on_end_of_turn(void* arg) {
  auto* core = static_cast<Core*>(arg);
  core->message.end_turn();
  if (core->shutting_down_ && core->message.idle()) core->loop.stop();
}

void Core::on_stop_request(void* arg) {
  static_cast<Core*>(arg)->begin_shutdown();
}

}  // namespace detail

// ---- Daemon ------------------------------------------------------------------

Daemon::Daemon(Config config)
    : core_(std::make_unique<detail::Core>(std::move(config))) {
  if (core_->cfg.builtin_services) {
    core_->builtins.push_back(services::make_sys());
    core_->builtins.push_back(services::make_echo());
    core_->builtins.push_back(services::make_kv());
    core_->builtins.push_back(services::make_room());
    for (auto& s : core_->builtins) core_->mount(*s, nullptr);
  }
}

Daemon::~Daemon() = default;

bool Daemon::mount(Service& service, std::string* err) {
  return core_->mount(service, err);
}
void Daemon::unmount(Service& service) { core_->unmount(service); }
bool Daemon::start(std::string* err) { return core_->start(err); }
uint16_t Daemon::port() const { return core_->gateway.port(); }
int Daemon::run() { return core_->run(); }
void Daemon::stop() { core_->loop.wake(); }
Context& Daemon::context() { return core_->ctx; }
const Config& Daemon::config() const { return core_->cfg; }

// ---- Reply -------------------------------------------------------------------

Reply::Reply(Reply&& o) noexcept
    : core_(std::exchange(o.core_, nullptr)),
      slot_(o.slot_),
      gen_(o.gen_),
      client_(o.client_) {}

Reply& Reply::operator=(Reply&& o) noexcept {
  if (this != &o) {
    if (pending()) send(Status::kInternal, "reply replaced without an answer");
    core_ = std::exchange(o.core_, nullptr);
    slot_ = o.slot_;
    gen_ = o.gen_;
    client_ = o.client_;
  }
  return *this;
}

Reply::~Reply() {
  if (pending())
    send(Status::kInternal, "the service dropped the request unanswered");
}

void Reply::send(Status status, std::string_view body) {
  detail::Core* core = std::exchange(core_, nullptr);
  if (core) core->complete(slot_, gen_, status, body);
}

bool Reply::pending() const {
  return core_ != nullptr && core_->reply_pending(slot_, gen_);
}

// ---- Context -----------------------------------------------------------------

bool Context::push(ClientId to, uint16_t from, uint16_t op,
                   std::string_view body) {
  return core_->message.push(to, from, op, body);
}
size_t Context::push_many(const ClientId* to, size_t n, uint16_t from,
                          uint16_t op, std::string_view body) {
  return core_->message.push_many(to, n, from, op, body, {});
}
size_t Context::push_many(const ClientId* to, size_t n, uint16_t from,
                          uint16_t op, std::string_view head,
                          std::string_view tail) {
  return core_->message.push_many(to, n, from, op, head, tail);
}
bool Context::kick(ClientId client, std::string_view reason) {
  return core_->message.kick(client, reason);
}
bool Context::client_exists(ClientId client) const {
  return core_->message.exists(client);
}
void Context::call(uint16_t service, uint16_t op, std::string_view body,
                   uint32_t timeout_ms, CallCallback done) {
  core_->call(owner_, service, op, body, timeout_ms, std::move(done));
}
TimerId Context::set_timer(uint32_t delay_ms, TimerCallback fn) {
  return core_->set_timer(owner_, delay_ms, std::move(fn));
}
bool Context::cancel_timer(TimerId id) { return core_->cancel_timer(id); }
uint64_t Context::now_ms() const { return core_->loop.now_ms(); }
uint32_t Context::max_frame() const { return core_->cfg.max_frame; }
uint32_t Context::idle_timeout_ms() const { return core_->cfg.idle_timeout_ms; }
uint16_t Context::worker_index() const { return core_->cfg.worker_index; }
uint16_t Context::workers() const { return core_->cfg.workers; }
Stats Context::stats() const { return core_->stats(); }
Service* Context::find_service(std::string_view name) const {
  return core_->services.find(name);
}
Service* Context::find_service(uint16_t id) const {
  return core_->services.find(id);
}
void Context::for_each_service(
    const std::function<void(const Service&)>& fn) const {
  core_->services.for_each([&](Service& s) { fn(s); });
}
void Context::collect_info(InfoSink& sink) const {
  core_->services.for_each([&](Service& s) { s.on_info(sink); });
}

}  // namespace hazel
