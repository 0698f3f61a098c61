// kv (service 2): one key space shared by every client and service.
//   1 GET   key                                   -> value | NOT_FOUND
//   2 SET   u16 klen, key, u32 ttl_ms, value      -> empty
//   3 DEL   key                                   -> u8 1 deleted / 0 absent
//   4 INCR  u16 klen, key, i64 delta              -> new value, decimal text
//
// Everything reaches the data by message (a client REQUEST or a service's
// call()), never by pointer, so the key space can live on another worker:
// with several workers the keys are sharded by hash (Context::
// worker_for_key), each key has exactly one owner, and a request for a key
// owned elsewhere is forwarded to the owner's kv and answered by it (TTL
// and INCR stay exact). A worker that dies loses its shard.
//
// Expiry is lazy (an expired key is removed when touched) and active: a
// min-heap of (deadline, key) is swept by a timer every kSweepMs, so expired
// keys do not sit in memory. A heap entry whose key was since overwritten or
// deleted is recognised by its deadline and skipped; the heap is rebuilt
// when stale entries outnumber live ones.
//
// With --cluster the keys live in Redis instead (under the cluster's
// prefix), shared by every node and kept across restarts; the memory cap
// is then Redis's (maxmemory), and Redis down answers UNAVAILABLE at once.
//
// Memory: each key costs its key and value bytes plus kv::kKeyOverhead
// (INFO kv_bytes). With --kv-max-bytes, a worker holds at most its share
// (the limit divided by the workers). A SET or INCR that would grow the
// store past it first drops expired keys that are due, then either answers
// BUSY "kv is full" or, with --kv-evict lru, evicts approximately least
// recently used keys (LruSampler, sampled as Redis does) until it fits.
// What never grows the store (GET, DEL, a SET that shrinks a value) always
// works. The LRU clock is the loop's: an entry keeps now_ms() of its last
// GET, SET or INCR, so eviction costs no timer and no list per key.
#include <algorithm>
#include <charconv>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "services/builtin.h"
#include "services/lru_sampler.h"
#include "services/string_map.h"

namespace hazel::services {

namespace {

using namespace kv;

constexpr uint32_t kSweepMs = 100;
// Expirations per sweep: a million keys expiring together must not stall
// the loop in one turn. More due than that: the next sweep comes at once.
constexpr size_t kMaxExpiresPerSweep = 10000;

struct Entry {
  std::string value;
  uint64_t expire_ms = 0;  // 0 = no TTL
  uint64_t used_ms = 0;    // the LRU clock: now_ms() at the last use
};

// What one key costs, as kv_bytes and --kv-max-bytes count it.
size_t cost(size_t key_len, size_t value_len) {
  return key_len + value_len + kKeyOverhead;
}

struct Deadline {
  uint64_t expire_ms;
  std::string key;
  bool operator>(const Deadline& o) const { return expire_ms > o.expire_ms; }
};

// A key-addressed op's parsed body.
struct Keyed {
  std::string_view key;
  std::string_view rest;
};

bool valid_key(std::string_view k) { return !k.empty() && k.size() <= kMaxKey; }

// u16 length-prefixed key followed by the rest of the body.
bool parse_keyed(std::string_view body, Keyed* out) {
  if (body.size() < 2) return false;
  size_t klen = get_u16(reinterpret_cast<const uint8_t*>(body.data()));
  if (body.size() < 2 + klen) return false;
  out->key = body.substr(2, klen);
  out->rest = body.substr(2 + klen);
  return valid_key(out->key);
}

bool parse_i64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (*b == '+') return false;
  auto [p, ec] = std::from_chars(b, e, *out);
  return ec == std::errc() && p == e;
}

class Kv final : public Service {
 public:
  explicit Kv(const Config& cfg)
      : Service("kv", kv::kId), max_bytes_(cfg.kv_max_bytes),
        evict_(cfg.kv_evict) {}

  void on_mount() override {
    // Each worker owns a shard of the keys, so each holds its share.
    if (max_bytes_ != 0)
      limit_ = std::max<uint64_t>(1, max_bytes_ / ctx().workers());
    schedule_sweep();
  }
  void on_unmount() override {
    if (sweep_timer_) ctx().cancel_timer(sweep_timer_);
    sweep_timer_ = 0;
  }

  void on_request(const Request& req, Reply reply) override {
    if (ctx().clustered()) return in_redis(req, std::move(reply));
    if (ctx().workers() > 1 && forward(req, reply)) return;
    switch (req.op) {
      case kGet: get(req.body, reply); return;
      case kSet: set(req.body, reply); return;
      case kDel: del(req.body, reply); return;
      case kIncr: incr(req.body, reply); return;
      default:
        reply.error(Status::kNoOp, "kv has no op " + std::to_string(req.op));
    }
  }

  void on_info(InfoSink& sink) override {
    sink.add("kv_keys", static_cast<int64_t>(map_.size()));
    sink.add("kv_bytes", static_cast<int64_t>(bytes_));
    sink.add("kv_evicted", static_cast<int64_t>(evicted_));
    sink.add("kv_refused", static_cast<int64_t>(refused_));
  }

 private:
  using Map = StringMap<Entry>;

  // Sends a request for a key owned by another worker to it; false if the
  // key is ours (or the body is malformed: answered here, as BAD_REQUEST).
  bool forward(const Request& req, Reply& reply) {
    std::string_view key;
    Keyed k;
    if (req.op == kGet || req.op == kDel) {
      key = req.body;
    } else if ((req.op == kSet || req.op == kIncr) && parse_keyed(req.body, &k)) {
      key = k.key;
    }
    if (!valid_key(key)) return false;
    uint16_t owner = ctx().worker_for_key(key);
    if (owner == ctx().worker_index()) return false;
    if (req.from_worker) {
      reply.error(Status::kUnavailable, "key is not owned by this worker");
      return true;
    }
    ctx().forward(owner, std::move(reply), kv::kId, req.op, req.body);
    return true;
  }

  // The live entry for `key`, removing it first if it has expired.
  Entry* lookup(std::string_view key) {
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    if (it->second.expire_ms != 0 && it->second.expire_ms <= ctx().now_ms()) {
      erase(it);
      return nullptr;
    }
    return &it->second;
  }

  void erase(Map::iterator it) {
    bytes_ -= cost(it->first.size(), it->second.value.size());
    if (it->second.expire_ms != 0) --ttl_keys_;
    map_.erase(it);
  }

  // Whether the store can grow by `grow` bytes for `key` (whose new cost is
  // `need` in all), after dropping expired keys and, with --kv-evict lru,
  // evicting others. Counts a refusal.
  bool fits(std::string_view key, size_t grow, size_t need) {
    if (limit_ == 0 || bytes_ + grow <= limit_) return true;
    sweep();  // keys already expired go first (as many as one sweep takes)
    if (bytes_ + grow <= limit_) return true;
    // A value that cannot fit even alone evicts nothing.
    if (evict_ == KvEvict::kLru && need <= limit_) {
      auto stamp = [](const Entry& e) { return e.used_ms; };
      while (bytes_ + grow > limit_) {
        auto victim = lru_.pick(map_, stamp, key);
        if (victim == map_.end()) break;
        erase(victim);
        ++evicted_;
      }
      if (bytes_ + grow <= limit_) return true;
    }
    ++refused_;
    return false;
  }

  // How much a value of `value_len` bytes for `key` grows the store, given
  // its live entry `e` (nullptr: a new key).
  static size_t growth(std::string_view key, const Entry* e, size_t value_len) {
    if (e == nullptr) return cost(key.size(), value_len);
    return value_len > e->value.size() ? value_len - e->value.size() : 0;
  }

  void store(std::string_view key, std::string_view value, uint32_t ttl_ms) {
    auto it = map_.find(key);
    if (it == map_.end()) {
      it = map_.emplace(std::string(key), Entry{}).first;
      bytes_ += cost(key.size(), 0);
    }
    bytes_ -= it->second.value.size();
    it->second.value.assign(value);
    bytes_ += value.size();
    it->second.used_ms = ctx().now_ms();
    if (it->second.expire_ms != 0) --ttl_keys_;
    it->second.expire_ms = ttl_ms ? ctx().now_ms() + ttl_ms : 0;
    if (ttl_ms) {
      ++ttl_keys_;
      deadlines_.push({it->second.expire_ms, std::string(key)});
      // Stale entries (keys since overwritten or deleted) are bounded by
      // the keys that have a TTL, not by the whole key space.
      if (deadlines_.size() > 2 * ttl_keys_ + 1024) rebuild_deadlines();
    }
  }

  void get(std::string_view body, Reply& reply) {
    if (!valid_key(body)) return bad_key(reply);
    Entry* e = lookup(body);
    if (e == nullptr) return reply.error(Status::kNotFound, "no such key");
    e->used_ms = ctx().now_ms();
    reply.ok(e->value);
  }

  void set(std::string_view body, Reply& reply) {
    Keyed k;
    if (!parse_keyed(body, &k) || k.rest.size() < 4)
      return reply.error(Status::kBadRequest,
                         "SET needs u16 key length, key (1..512), u32 ttl, value");
    uint32_t ttl = get_u32(reinterpret_cast<const uint8_t*>(k.rest.data()));
    std::string_view value = k.rest.substr(4);
    if (!fits(k.key, growth(k.key, lookup(k.key), value.size()),
              cost(k.key.size(), value.size())))
      return kv_full(reply);
    store(k.key, value, ttl);
    reply.ok();
  }

  void del(std::string_view body, Reply& reply) {
    if (!valid_key(body)) return bad_key(reply);
    uint8_t deleted = 0;
    if (lookup(body) != nullptr) {
      erase(map_.find(body));
      deleted = 1;
    }
    reply.ok(std::string_view(reinterpret_cast<const char*>(&deleted), 1));
  }

  void incr(std::string_view body, Reply& reply) {
    Keyed k;
    if (!parse_keyed(body, &k) || k.rest.size() != 8)
      return reply.error(Status::kBadRequest,
                         "INCR needs u16 key length, key (1..512), i64 delta");
    auto delta = static_cast<int64_t>(
        get_u64(reinterpret_cast<const uint8_t*>(k.rest.data())));
    int64_t value = 0;
    Entry* e = lookup(k.key);
    if (e != nullptr && !parse_i64(e->value, &value))
      return reply.error(Status::kBadRequest, "value is not a decimal i64");
    int64_t sum;
    if (__builtin_add_overflow(value, delta, &sum))
      return reply.error(Status::kBadRequest, "INCR overflows i64");
    std::string text = std::to_string(sum);
    // Evicting others leaves `e` valid: it is never the victim, and a
    // rehash moves no entry.
    if (!fits(k.key, growth(k.key, e, text.size()),
              cost(k.key.size(), text.size())))
      return kv_full(reply);
    if (e != nullptr) {
      // The key keeps its TTL.
      bytes_ -= e->value.size();
      e->value = text;
      bytes_ += text.size();
      e->used_ms = ctx().now_ms();
    } else {
      store(k.key, text, 0);
    }
    reply.ok(text);
  }

  // --cluster: the key space is Redis's, under the cluster's prefix, and
  // the same for every node. Redis's answers become hazel's statuses.
  void in_redis(const Request& req, Reply reply) {
    Keyed k;
    std::string key;
    auto answer = [](Reply r, auto&& on_reply) {
      return [r = std::move(r), on_reply](Status st, const RedisReply& v) mutable {
        if (st == Status::kBusy)
          return r.error(st, "the output to Redis is full");
        if (st != Status::kOk) return r.error(st, "Redis is not reachable");
        if (v.kind == RedisReply::Kind::kError) {
          // What Redis refuses here is the value INCR found or made.
          if (v.str.find("not an integer") != std::string_view::npos ||
              v.str.find("overflow") != std::string_view::npos)
            return r.error(Status::kBadRequest, "value is not a decimal i64, "
                                                "or INCR overflows i64");
          return r.error(Status::kInternal, "Redis: " + std::string(v.str));
        }
        on_reply(r, v);
      };
    };
    switch (req.op) {
      case kGet:
        if (!valid_key(req.body)) return bad_key(reply);
        key = ctx().cluster_key("kv:" + std::string(req.body));
        ctx().redis({"GET", key}, answer(std::move(reply), [](Reply& r, const RedisReply& v) {
          if (v.kind != RedisReply::Kind::kString)
            return r.error(Status::kNotFound, "no such key");
          r.ok(v.str);
        }));
        return;
      case kSet: {
        if (!parse_keyed(req.body, &k) || k.rest.size() < 4)
          return reply.error(Status::kBadRequest,
                             "SET needs u16 key length, key (1..512), u32 ttl, value");
        uint32_t ttl = get_u32(reinterpret_cast<const uint8_t*>(k.rest.data()));
        key = ctx().cluster_key("kv:" + std::string(k.key));
        auto done = answer(std::move(reply), [](Reply& r, const RedisReply&) { r.ok(); });
        if (ttl == 0) {
          ctx().redis({"SET", key, k.rest.substr(4)}, std::move(done));
        } else {
          ctx().redis({"SET", key, k.rest.substr(4), "PX", std::to_string(ttl)},
                      std::move(done));
        }
        return;
      }
      case kDel:
        if (!valid_key(req.body)) return bad_key(reply);
        key = ctx().cluster_key("kv:" + std::string(req.body));
        ctx().redis({"DEL", key}, answer(std::move(reply), [](Reply& r, const RedisReply& v) {
          uint8_t deleted = v.integer > 0 ? 1 : 0;
          r.ok(std::string_view(reinterpret_cast<const char*>(&deleted), 1));
        }));
        return;
      case kIncr: {
        if (!parse_keyed(req.body, &k) || k.rest.size() != 8)
          return reply.error(Status::kBadRequest,
                             "INCR needs u16 key length, key (1..512), i64 delta");
        auto delta = static_cast<int64_t>(
            get_u64(reinterpret_cast<const uint8_t*>(k.rest.data())));
        key = ctx().cluster_key("kv:" + std::string(k.key));
        ctx().redis({"INCRBY", key, std::to_string(delta)},
                    answer(std::move(reply), [](Reply& r, const RedisReply& v) {
                      r.ok(std::to_string(v.integer));
                    }));
        return;
      }
      default:
        reply.error(Status::kNoOp, "kv has no op " + std::to_string(req.op));
    }
  }

  void bad_key(Reply& reply) {
    reply.error(Status::kBadRequest, "key must be 1..512 bytes");
  }

  void kv_full(Reply& reply) { reply.error(Status::kBusy, "kv is full"); }

  void schedule_sweep(uint32_t delay_ms = kSweepMs) {
    sweep_timer_ = ctx().set_timer(delay_ms, [this] {
      schedule_sweep(sweep() ? 1 : kSweepMs);
    });
  }

  // Returns true if expired keys are left for the next sweep.
  bool sweep() {
    uint64_t now = ctx().now_ms();
    for (size_t n = 0; n < kMaxExpiresPerSweep; ++n) {
      if (deadlines_.empty() || deadlines_.top().expire_ms > now) return false;
      const Deadline& d = deadlines_.top();
      auto it = map_.find(d.key);
      // Skip entries made stale by a later SET or DEL of the same key.
      if (it != map_.end() && it->second.expire_ms == d.expire_ms) erase(it);
      deadlines_.pop();
    }
    return !deadlines_.empty() && deadlines_.top().expire_ms <= now;
  }

  void rebuild_deadlines() {
    std::vector<Deadline> live;
    for (auto& [key, e] : map_)
      if (e.expire_ms != 0) live.push_back({e.expire_ms, key});
    deadlines_ = decltype(deadlines_)(std::greater<>(), std::move(live));
  }

  const uint64_t max_bytes_;  // --kv-max-bytes, for the whole server
  const KvEvict evict_;
  uint64_t limit_ = 0;        // this worker's share; 0 = no limit
  Map map_;
  LruSampler lru_;
  size_t bytes_ = 0;
  uint64_t evicted_ = 0;
  uint64_t refused_ = 0;
  size_t ttl_keys_ = 0;  // keys with an expiry
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  TimerId sweep_timer_ = 0;
};

}  // namespace

std::unique_ptr<Service> make_kv(const Config& cfg) {
  return std::make_unique<Kv>(cfg);
}

}  // namespace hazel::services
