// Context: the daemon as a service sees it. Every call forwards to the core;
// the context only adds who is asking (its owner), so that what a service
// leaves behind is dropped when it is unmounted.
#include <vector>

#include "client_id.h"
#include "core.h"
#include "hazel/service.h"

namespace hazel {

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
void Context::call_worker(uint16_t worker, uint16_t service, uint16_t op,
                          std::string_view body, uint32_t timeout_ms,
                          CallCallback done, ClientId on_behalf) {
  core_->call_worker(owner_, worker, service, op, body, timeout_ms,
                     std::move(done), on_behalf);
}
void Context::forward(uint16_t worker, Reply reply, uint16_t service,
                      uint16_t op, std::string_view body) {
  core_->forward(owner_, worker, std::move(reply), service, op, body);
}
TimerId Context::set_timer(uint32_t delay_ms, TimerCallback fn) {
  return core_->set_timer(owner_, delay_ms, std::move(fn));
}
bool Context::cancel_timer(TimerId id) { return core_->cancel_timer(id); }
uint64_t Context::now_ms() const { return core_->loop.now_ms(); }
uint32_t Context::max_frame() const { return core_->cfg.max_frame; }
uint32_t Context::idle_timeout_ms() const { return core_->cfg.idle_timeout_ms; }
uint16_t Context::worker_index() const { return core_->self_peer(); }
uint16_t Context::workers() const { return core_->cfg.workers; }
uint16_t Context::peers() const { return core_->peer_slots(); }
bool Context::clustered() const { return core_->cluster != nullptr; }
std::string Context::cluster_key(std::string_view name) const {
  return core_->cfg.cluster_prefix + ":" + std::string(name);
}

namespace {
// A reply as services see it; the elements of arrays (at any depth) are
// kept in `store` for the callback's duration (a vector's buffer stays put
// when the vector itself is moved, so `elements` stays valid).
RedisReply convert(const resp::Value& v, std::vector<std::vector<RedisReply>>& store) {
  RedisReply out;
  switch (v.type) {
    case resp::Type::kNull: break;
    case resp::Type::kSimple:
    case resp::Type::kBulk:
      out.kind = RedisReply::Kind::kString;
      out.str = v.str;
      break;
    case resp::Type::kError:
      out.kind = RedisReply::Kind::kError;
      out.str = v.str;
      break;
    case resp::Type::kInteger:
      out.kind = RedisReply::Kind::kInteger;
      out.integer = v.integer;
      break;
    case resp::Type::kArray: {
      out.kind = RedisReply::Kind::kArray;
      out.integer = static_cast<int64_t>(v.items.size());
      std::vector<RedisReply> items;
      items.reserve(v.items.size());
      for (const resp::Value& i : v.items) items.push_back(convert(i, store));
      out.elements = items.data();
      store.push_back(std::move(items));
      break;
    }
  }
  return out;
}
}  // namespace

void Context::redis(std::initializer_list<std::string_view> args,
                    RedisCallback done) {
  RedisReply none;
  Cluster* c = core_->cluster.get();
  if (c == nullptr || !c->connected())
    return done(Status::kUnavailable, none);
  Redis& r = c->commands();
  if (r.full()) return done(Status::kBusy, none);
  r.command(args, [d = std::move(done)](const resp::Value* v) mutable {
    if (v == nullptr) return d(Status::kUnavailable, RedisReply{});
    std::vector<std::vector<RedisReply>> store;  // allocates for arrays only
    d(Status::kOk, convert(*v, store));
  });
}

void Context::listen(std::string_view channel, CallCallback done) {
  Cluster* c = core_->cluster.get();
  if (c == nullptr || owner_ == nullptr) return done(Status::kUnavailable, {});
  c->listen(owner_->id(), cluster_key(channel),
            [d = std::move(done)](bool ok) mutable {
              d(ok ? Status::kOk : Status::kUnavailable, {});
            });
}

void Context::unlisten(std::string_view channel) {
  if (Cluster* c = core_->cluster.get()) c->unlisten(cluster_key(channel));
}

bool Context::publish(std::string_view channel, std::string_view head,
                      std::string_view tail) {
  Cluster* c = core_->cluster.get();
  return c != nullptr && c->publish(cluster_key(channel), head, tail);
}

uint16_t Context::worker_of(ClientId client) const { return worker_of_id(client); }

uint16_t shard_of(std::string_view key, uint16_t workers) {
  if (workers <= 1) return 0;
  // FNV-1a: the same on every worker, and cheap for short keys.
  uint64_t h = 1469598103934665603ull;
  for (char ch : key) {
    h ^= static_cast<unsigned char>(ch);
    h *= 1099511628211ull;
  }
  return static_cast<uint16_t>(h % workers);
}

uint16_t Context::worker_for_key(std::string_view key) const {
  return shard_of(key, core_->cfg.workers);
}

bool Context::worker_up(uint16_t worker) const { return core_->bus.up(worker); }
Stats Context::stats() const { return core_->stats(); }
void Context::add_policy(Policy& policy) { core_->gate.add_policy(policy, owner_); }
void Context::remove_policy(Policy& policy) { core_->gate.remove_policy(policy); }
const Identity* Context::authenticate(ClientId client, std::string_view token,
                                      std::string* reason) {
  // Only a client of this worker: what the gate keeps for it goes with its
  // DISCONNECT, which only its own worker sees.
  if (!core_->message.exists(client)) {
    *reason = "no client " + std::to_string(client) + " on this worker";
    return nullptr;
  }
  return core_->gate.authenticate(client, token, reason);
}
const Identity* Context::identity(ClientId client) const {
  return core_->gate.identity(client);
}
void Context::charge(ClientId client, uint32_t units) {
  core_->gate.charge(client, units);
}
int64_t Context::unix_now_s() const { return core_->gate.unix_now_s(); }
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
  core_->services.for_each([&](Service& s) {
    detail::guarded("on_info", [&] { s.on_info(sink); });
  });
}

}  // namespace hazel
