#include "cluster.h"

#include <unistd.h>

#include <charconv>
#include <memory>
#include <cstring>

#include "client_id.h"
#include "hazel/frame.h"
#include "log.h"

namespace hazel {

namespace {
// A bus frame carries up to a client frame plus the bus's own fields.
constexpr size_t kFrameOverhead = 1u << 20;
// How many node numbers a node tries before waiting for the next beat.
constexpr int kClaimTries = 64;

bool to_u32(std::string_view s, uint32_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

Cluster::Cluster(Loop& loop, const Config& cfg, ClusterSink& sink)
    : loop_(loop),
      cfg_(cfg),
      sink_(sink),
      prefix_(cfg.cluster_prefix),
      cmd_(loop, *this, "commands", cfg.cluster_max_output,
           cfg.cluster_timeout_ms, cfg.max_frame + kFrameOverhead),
      sub_(loop, *this, "subscriber", cfg.cluster_max_output,
           cfg.cluster_timeout_ms, cfg.max_frame + kFrameOverhead),
      up_(kMaxWorkers, 0) {
  beat_.fire = &Cluster::on_beat;
  beat_.data = this;
}

Cluster::~Cluster() { stop(); }

bool Cluster::start(std::string* err) {
  if (!parse_redis_url(cfg_.cluster_url, &addr_, err)) return false;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  token_ = std::string(host) + ":" + std::to_string(getpid());
  if (!cmd_.start(addr_, err)) return false;
  if (!sub_.start(addr_, err)) return false;
  // The beat also retries joining while no node number could be had.
  loop_.add_timer(&beat_, cfg_.cluster_heartbeat_ms);
  HZ_INFO("cluster: joining through Redis at %s:%u (prefix %s)", addr_.host.c_str(),
          addr_.port, prefix_.c_str());
  return true;
}

void Cluster::stop() {
  loop_.timers().cancel(&beat_);
  cmd_.stop();
  sub_.stop();
}

bool Cluster::peer_up(uint16_t peer) const {
  return peer < up_.size() && up_[peer] != 0 && connected();
}

void Cluster::set_up(uint16_t node, bool up) {
  if (node >= up_.size() || static_cast<int32_t>(node) == node_) return;
  if ((up_[node] != 0) == up) return;
  up_[node] = up ? 1 : 0;
  if (up) {
    ++peers_up_;
  } else {
    --peers_up_;
  }
  HZ_INFO("cluster: node %u %s", node, up ? "up" : "down");
  sink_.on_node(node, up);
}

void Cluster::all_down() {
  for (uint16_t n = 0; n < up_.size(); ++n)
    if (up_[n]) set_up(n, false);
}

// ---- joining -----------------------------------------------------------------

void Cluster::on_redis_up(Redis& r) {
  if (&r == &sub_) {
    subscribed_ = false;
    subscribing_ = false;
    if (joined()) subscribe();
    return;
  }
  if (!joined()) {
    claim();
  } else {
    heartbeat();  // re-registers at once after Redis was away
  }
}

void Cluster::on_redis_down(Redis& r, std::string_view) {
  if (&r == &sub_) {
    subscribed_ = false;
    subscribing_ = false;
  }
  if (logged_up_) {
    HZ_WARN("cluster: Redis lost: local rooms and TELL go on, traffic for "
            "other nodes is dropped and kv answers UNAVAILABLE until it is back");
    logged_up_ = false;
  }
  // Without Redis no other node can be reached, nor reach us.
  all_down();
}

// A node number is the counter modulo kMaxWorkers, its incarnation the
// quotient, so a number comes back only after every other has been used,
// and with a new incarnation: its ids are new. SET NX makes sure no live
// node holds it.
void Cluster::claim() {
  if (claiming_ || !cmd_.up()) return;
  claiming_ = true;
  struct Try {
    static void next(Cluster* c, int left) {
      bool sent = c->cmd_.command(
          {"INCR", c->key("node_seq")}, [c, left](const resp::Value* v) {
            if (v == nullptr || v->type != resp::Type::kInteger || v->integer <= 0) {
              c->claiming_ = false;
              return;
            }
            auto k = static_cast<uint64_t>(v->integer);
            uint32_t n = static_cast<uint32_t>(k % kMaxWorkers);
            uint32_t inc = static_cast<uint32_t>((k / kMaxWorkers) % (kMaxIncarnation + 1));
            std::string ttl = std::to_string(3 * uint64_t{c->cfg_.cluster_heartbeat_ms});
            c->cmd_.command(
                {"SET", c->node_key(n), c->token_, "NX", "PX", ttl},
                [c, left, n, inc](const resp::Value* s) {
                  if (s == nullptr) {
                    c->claiming_ = false;
                    return;
                  }
                  if (s->is_null()) {
                    if (left > 1) return next(c, left - 1);
                    HZ_WARN("cluster: no free node number found; trying again");
                    c->claiming_ = false;
                    return;
                  }
                  c->claiming_ = false;
                  c->node_ = static_cast<int32_t>(n);
                  c->incarnation_ = inc;
                  HZ_INFO("cluster: this is node %u (incarnation %u)", n, inc);
                  c->heartbeat();
                  if (c->sub_.up()) c->subscribe();
                });
          });
      if (!sent) c->claiming_ = false;
    }
  };
  Try::next(this, kClaimTries);
}

// The services' channels first, then the node's own: when its
// confirmation comes, every one before it is in place too.
void Cluster::subscribe() {
  if (subscribing_ || subscribed_) return;
  for (const auto& [ch, service] : channels_) send_subscribe(ch, nullptr);
  subscribing_ = sub_.command({"SUBSCRIBE", channel(node())},
                              [this](const resp::Value* v) {
                                subscribing_ = false;
                                if (v == nullptr || v->is_error()) return;
                                subscribed_ = true;
                                maybe_joined();
                              });
}

bool Cluster::send_subscribe(const std::string& ch, UniqueFunction<void(bool)> done) {
  return sub_.command({"SUBSCRIBE", ch}, [d = std::move(done)](const resp::Value* v) mutable {
    if (d) d(v != nullptr && !v->is_error());
  });
}

void Cluster::listen(uint16_t service, std::string_view ch,
                     UniqueFunction<void(bool)> done) {
  auto it = channels_.emplace(std::string(ch), service).first;
  it->second = service;
  // Before the node is joined, subscribe() will take it with the rest.
  if (!joined() || !sub_.up() || sub_.full()) {
    if (done) done(false);
    return;
  }
  send_subscribe(it->first, std::move(done));
}

void Cluster::unlisten(std::string_view ch) {
  lookup_.assign(ch);
  auto it = channels_.find(lookup_);
  if (it == channels_.end()) return;
  channels_.erase(it);
  if (sub_.up()) sub_.command({"UNSUBSCRIBE", lookup_}, nullptr);
}

void Cluster::unlisten_service(uint16_t service) {
  std::vector<std::string> mine;
  for (const auto& [ch, s] : channels_)
    if (s == service) mine.push_back(ch);
  for (const std::string& ch : mine) unlisten(ch);
}

void Cluster::maybe_joined() {
  if (!connected()) return;
  bool back = !logged_up_;
  if (back) {
    if (announced_) HZ_INFO("cluster: Redis back: registered and subscribed again");
    logged_up_ = true;
  }
  if (!announced_) {
    announced_ = true;
    sink_.on_cluster_joined();
  }
  if (back) sink_.on_cluster_up();
}

// ---- heartbeat ---------------------------------------------------------------

void Cluster::on_beat(TimerNode* n) { static_cast<Cluster*>(n->data)->heartbeat(); }

void Cluster::heartbeat() {
  loop_.timers().cancel(&beat_);
  loop_.add_timer(&beat_, cfg_.cluster_heartbeat_ms);
  if (!joined()) {
    if (cmd_.up()) claim();
    return;
  }
  if (!cmd_.up()) return;
  std::string ttl = std::to_string(3 * uint64_t{cfg_.cluster_heartbeat_ms});
  std::string self = std::to_string(node());
  // Renewed only if it is still ours: SET NX retakes a key that expired
  // (or a Redis that restarted empty lost); one that exists is checked and
  // extended. A key another node holds now is never overwritten: this node
  // stops instead, so that client ids stay unique and the taker goes on.
  cmd_.command({"SET", node_key(node()), token_, "NX", "PX", ttl},
               [this](const resp::Value* v) {
                 retaken_ = v != nullptr && !v->is_null() && !v->is_error();
               });
  cmd_.command({"GET", node_key(node())}, [this, ttl](const resp::Value* v) {
    if (v == nullptr || v->is_null() || v->is_error()) return;
    if (v->str == token_) {
      if (!retaken_) cmd_.command({"PEXPIRE", node_key(node()), ttl}, nullptr);
      return;
    }
    HZ_ERROR("cluster: node number %u is held by %.*s: stopping so that "
             "client ids stay unique",
             node(), static_cast<int>(v->str.size()), v->str.data());
    sink_.on_cluster_conflict();
  });
  cmd_.command({"SADD", key("nodes"), self}, nullptr);
  // The subscriber says nothing of itself: a PING with a deadline shows
  // that it still hears Redis.
  if (subscribed_) sub_.command({"PING"}, nullptr);
  maybe_joined();
  if (polling_) return;
  polling_ = cmd_.command({"SMEMBERS", key("nodes")}, [this](const resp::Value* v) {
    polling_ = false;
    if (v == nullptr || v->type != resp::Type::kArray) return;
    std::vector<uint32_t> members;
    for (const resp::Value& m : v->items) {
      uint32_t n = 0;
      if (m.type == resp::Type::kBulk && to_u32(m.str, &n) && n < kMaxWorkers &&
          static_cast<int32_t>(n) != node_)
        members.push_back(n);
    }
    poll(std::move(members));
  });
}

// Which of the nodes listed are up: their heartbeat key exists and their
// channel has a subscriber.
void Cluster::poll(std::vector<uint32_t> members) {
  if (members.empty()) {
    all_down();
    return;
  }
  std::vector<std::string> args;
  args.reserve(members.size() + 2);
  args.push_back("MGET");
  for (uint32_t n : members) args.push_back(node_key(n));
  std::vector<std::string_view> views(args.begin(), args.end());
  auto keys = std::make_shared<std::vector<uint8_t>>();
  bool ok = cmd_.command(views.data(), views.size(),
                         [keys, count = members.size()](const resp::Value* v) {
                           if (v == nullptr || v->type != resp::Type::kArray ||
                               v->items.size() != count)
                             return;
                           for (const resp::Value& i : v->items)
                             keys->push_back(i.is_null() ? 0 : 1);
                         });
  if (!ok) return;
  args.assign({"PUBSUB", "NUMSUB"});
  for (uint32_t n : members) args.push_back(channel(n));
  views.assign(args.begin(), args.end());
  cmd_.command(views.data(), views.size(),
               [this, keys, members](const resp::Value* v) {
                 if (v == nullptr || v->type != resp::Type::kArray ||
                     v->items.size() != 2 * members.size() ||
                     keys->size() != members.size())
                   return;
                 std::vector<bool> live(kMaxWorkers, false);
                 for (size_t i = 0; i < members.size(); ++i) {
                   const resp::Value& subs = v->items[2 * i + 1];
                   bool up = (*keys)[i] != 0 && subs.type == resp::Type::kInteger &&
                             subs.integer > 0;
                   live[members[i]] = up;
                   // A node whose key is gone is dead for good: tidy the set.
                   if ((*keys)[i] == 0)
                     cmd_.command({"SREM", key("nodes"), std::to_string(members[i])},
                                  nullptr);
                 }
                 for (uint16_t n = 0; n < kMaxWorkers; ++n)
                   if (static_cast<int32_t>(n) != node_) set_up(n, live[n]);
               });
}

// ---- frames ------------------------------------------------------------------

void Cluster::put_payload(std::string_view a, std::string_view b,
                          std::string_view c, std::string_view d) {
  payload_.resize(2);
  put_u16(reinterpret_cast<uint8_t*>(payload_.data()), node());
  payload_.append(a);
  payload_.append(b);
  payload_.append(c);
  payload_.append(d);
}

bool Cluster::send_frame(uint16_t peer, std::string_view header,
                         std::string_view a, std::string_view b,
                         std::string_view c) {
  if (!connected() || !peer_up(peer)) {
    ++stats_.dropped;
    return false;
  }
  put_payload(header, a, b, c);
  std::string ch = channel(peer);
  bool ok = cmd_.command({"PUBLISH", ch, payload_}, [this, peer](const resp::Value* v) {
    // Nobody received it: the node is gone (its subscription went with
    // its connection) sooner than its heartbeat key says.
    if (v != nullptr && v->type == resp::Type::kInteger && v->integer == 0)
      set_up(peer, false);
  });
  if (!ok) {
    ++stats_.dropped;
    return false;
  }
  ++stats_.frames_out;
  return true;
}

bool Cluster::publish(std::string_view ch, std::string_view a, std::string_view b) {
  if (!connected()) {
    ++stats_.dropped;
    return false;
  }
  put_payload(a, b, {}, {});
  if (!cmd_.command({"PUBLISH", ch, payload_}, nullptr)) {
    ++stats_.dropped;
    return false;
  }
  ++stats_.frames_out;
  return true;
}

void Cluster::on_redis_message(Redis&, std::string_view ch,
                               std::string_view payload) {
  if (!joined() || payload.size() < 2) return ignored(ch);
  auto* p = reinterpret_cast<const uint8_t*>(payload.data());
  uint16_t from = get_u16(p);
  if (from >= kMaxWorkers) return ignored(ch);
  if (ch != channel(node())) {
    lookup_.assign(ch);
    auto it = channels_.find(lookup_);
    // A message still on its way when the channel was let go.
    if (it == channels_.end()) return;
    // This node's own messages come back to it: it has delivered them.
    if (from == node()) return;
    ++stats_.frames_in;
    sink_.on_cluster_message(it->second, ch, from, payload.substr(2));
    return;
  }
  if (payload.size() < 2 + kHeaderSize) return ignored(ch);
  if (from == node()) return;
  ++stats_.frames_in;
  // It speaks, so it is there (its heartbeat may not have been seen yet).
  set_up(from, true);
  sink_.on_cluster_frame(from, p + 2, payload.size() - 2);
}

void Cluster::ignored(std::string_view ch) {
  ++stats_.ignored;
  if (stats_.ignored > 1) return;
  HZ_WARN("cluster: a message on %.*s that is not from a hazel node; ignored "
          "(this and any more like it; logged once)",
          static_cast<int>(ch.size()), ch.data());
}

void Cluster::end_turn() {
  cmd_.end_turn();
  sub_.end_turn();
}

}  // namespace hazel
