// kv and room request bodies, through the whole server in process
// (fuzz/lib/in_process.h), checked against a model of both services.
//
// The input is a program for three client slots. Each step picks an action
// and a slot: a kv op (GET, SET, DEL, INCR) or a room op (JOIN, LEAVE,
// PUBLISH, MEMBERS) built from the next bytes (keys and room names mostly
// from a small set, so that ops meet the same data; values, TTLs and deltas
// chosen to hit the edges), a raw request to kv or room with any op code
// and any body, sys INFO, a burst (the same request written up to 256 times
// at once, so output piles up and input pauses), a SEND instead of a
// REQUEST, the clock moved forward (TTLs expire, the sweep runs, idle
// clients are closed), a slot that stops reading (a slow room member), a
// slot that disconnects or shuts its side (then reconnects), or the daemon
// stopping.
//
// The model is written from docs/PROTOCOL.md, not from the services: every
// REPLY must have the status and body it predicts (GET values, TTL expiry
// by the manual clock, INCR arithmetic and its errors, JOIN counts, MEMBERS
// ids, PUBLISH delivery counts, BAD_REQUEST for each malformed body, NO_OP),
// every member must get each PUBLISH as a PUSH with the exact body, INFO's
// room figures must match, and a client may only be cut off for a reason it
// gave: GOODBYE SLOW when pushes to it piled up, IDLE when it was silent for
// the idle timeout, SHUTDOWN (to every client, last) when the daemon stops.
#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "hazel/builtins.h"
#include "hazel/frame.h"
#include "lib/bytes.h"
#include "lib/in_process.h"
#include "lib/kv_room_program.h"

namespace {

using namespace hazel;
using fuzz::take_frame;
using fuzz::u16s;
using fuzz::u32s;
using fuzz::u64s;
using namespace fuzz::kv_room;

constexpr uint32_t kMaxFrame = 2048;
// Room for two whole frames past the pause point: a client that reads is
// never cut off for the answers to its own requests.
constexpr size_t kMaxOutput = 16384;
constexpr uint32_t kIdleMs = 5000;
constexpr size_t kSlots = 3;
constexpr size_t kMaxSteps = 64;

Config fuzz_config() {
  Config cfg;
  cfg.max_frame = kMaxFrame;
  cfg.max_output = kMaxOutput;
  cfg.idle_timeout_ms = kIdleMs;
  cfg.log_level = LogLevel::kError;
  return cfg;
}

// The fuzzer's bytes, read front to back; past the end every read is 0.
class Source {
 public:
  Source(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool empty() const { return n_ == 0; }
  uint8_t u8() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  // Each byte read in its own statement: the order is the input's.
  uint16_t u16() {
    uint16_t hi = u8();
    return static_cast<uint16_t>(hi << 8 | u8());
  }
  uint32_t u32() {
    uint32_t hi = u16();
    return hi << 16 | u16();
  }
  uint64_t u64() {
    uint64_t hi = u32();
    return hi << 32 | u32();
  }
  std::string bytes(size_t n) {
    size_t take = std::min(n, n_);
    std::string s(reinterpret_cast<const char*>(p_), take);
    p_ += take;
    n_ -= take;
    s.resize(n, 'v');
    return s;
  }

 private:
  const uint8_t* p_;
  size_t n_;
};

// ---- the steps' material ---------------------------------------------------

// The selectors of fuzz/lib/kv_room_program.h.
std::string pick_key(Source& src) {
  uint8_t k = src.u8();
  if (k < kPickSized) return "k" + std::to_string(k % 6);
  if (k < kPickEmpty) {
    static const size_t sizes[] = {1, 2, 255, 256, 511, 512, 513, 1000};
    return std::string(sizes[k % 8], static_cast<char>('a' + k % 3));
  }
  if (k == kPickEmpty) return {};
  return src.bytes(src.u8());
}

std::string pick_room(Source& src) {
  uint8_t k = src.u8();
  if (k < kPickSized) return "r" + std::to_string(k % 4);
  if (k < kPickEmpty) {
    static const size_t sizes[] = {1, 254, 255, 256};
    return std::string(sizes[k % 4], 'n');
  }
  if (k == kPickEmpty) return {};
  return src.bytes(src.u8());
}

std::string pick_value(Source& src) {
  uint8_t v = src.u8();
  if (v < kValueDecimal) return src.bytes(v % 32);
  if (v < kValueLong) return std::to_string(static_cast<int64_t>(src.u64()));
  return std::string((size_t{v} - kValueLong + 1) * 120, 'x');  // to ~2 KiB
}

uint32_t pick_ttl(Source& src) {
  uint8_t t = src.u8();
  if (t < 0x80) return 0;
  if (t < 0xF0) return uint32_t{t} - 0x7F;  // 1..113 ms
  if (t < 0xFF) return uint32_t{t - 0xEFu} * 1000;
  return src.u32();
}

int64_t pick_delta(Source& src) {
  uint8_t d = src.u8();
  if (d < 0x80) return int64_t{d} - 0x40;
  static const int64_t edges[] = {INT64_MAX, INT64_MIN, INT64_MAX - 1,
                                  INT64_MIN + 1, 1, -1, 0, 1000000007};
  if (d < 0xFF) return edges[d % 8];
  return static_cast<int64_t>(src.u64());
}

// ---- the model ---------------------------------------------------------------

bool parse_i64(std::string_view s, int64_t* out) {
  // PROTOCOL.md: a decimal i64. An optional '-' and digits, nothing else.
  if (s.empty() || s[0] == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

struct Expect {
  enum class Body { kExact, kAny, kCount, kIds, kInfo };
  Kind kind = Kind::kReply;
  uint16_t service = 0;
  uint16_t code = 0;
  uint32_t session = 0;
  Body how = Body::kExact;
  std::string body;
  size_t burst = 0;  // kCount: which burst's delivery range
};

// A PUBLISH burst: each answer is between `members - cut` and `members`,
// never more than the one before (members cut off as slow do not return).
struct Burst {
  uint32_t members = 0;
  uint32_t cut = 0;
  uint32_t last = UINT32_MAX;  // the answer before
  std::set<size_t> slots;      // the members, by slot
};

struct Slot {
  size_t conn = 0;  // the server's client index
  ClientId id = 0;
  bool live = false;  // connected, as far as the server knows
  bool cut = false;   // the server closed it; its end still to be read
  bool reading = true;
  bool pushed = false;  // got pushes from another slot in this step
  bool goodbye_seen = false;
  uint64_t last_input_ms = 0;
  std::set<Goodbye> may_close;  // reasons the server may have had
  std::deque<Expect> expect;
};

struct KvEntry {
  std::string value;
  uint64_t expire_ms = 0;
};

class Model {
 public:
  Model() : srv_(fuzz_config()) {}

  void run(Source& src) {
    for (size_t i = 0; i < kSlots; ++i) reconnect(i);
    for (size_t step = 0; step < kMaxSteps && !src.empty() && !stopped_; ++step)
      one_step(src);
    for (size_t i = 0; i < kSlots; ++i) unstall(i);
    for (size_t i = 0; i < kSlots; ++i) {
      Slot& s = slots_[i];
      FUZZ_CHECK(s.expect.empty() || s.cut,
                 "slot %zu: %zu frames never came (first: service %u code %u)",
                 i, s.expect.size(), s.expect.front().service,
                 s.expect.front().code);
    }
  }

 private:
  struct Req {
    uint16_t service = 0;
    uint16_t op = 0;
    std::string body;
  };

  uint64_t now() { return srv_.daemon().context().now_ms(); }

  // ---- slots ----

  void reconnect(size_t i) {
    Slot& s = slots_[i];
    if (s.live || s.cut) srv_.close(s.conn);
    s = Slot();
    s.conn = srv_.connect();
    s.live = true;
    s.last_input_ms = now();
    uint32_t session = ++session_;
    srv_.send(s.conn, encode_frame(Kind::kRequest, sys::kId, sys::kHello,
                                   session, {}));
    srv_.settle();
    FrameHeader h;
    std::string body;
    FUZZ_CHECK(take_frame(srv_.received(s.conn), kMaxFrame, &h, &body),
               "no HELLO reply");
    FUZZ_CHECK(h.kind == Kind::kReply && h.session == session && h.code == 0,
               "HELLO answered %s status %u", kind_name(h.kind), h.code);
    size_t at = body.find("client=");
    FUZZ_CHECK(at != std::string::npos, "HELLO without client=");
    s.id = std::stoull(body.substr(at + 7));
  }

  // A slot about to act is connected and reading.
  void ready(size_t i) {
    unstall(i);
    if (!slots_[i].live) reconnect(i);
  }

  void unstall(size_t i) {
    Slot& s = slots_[i];
    if (s.reading) return;
    s.reading = true;
    srv_.set_reading(s.conn, true);
    srv_.settle();
    after_settle(kSlots);
  }

  // ---- one step ----

  void one_step(Source& src) {
    uint8_t action = src.u8() % kActions;
    size_t who = src.u8() % kSlots;
    switch (action) {
      case kAdvance:
        srv_.advance(src.u16() % (kMaxAdvanceMs + 1));
        after_settle(kSlots);
        return;
      case kStall:
        ready(who);
        slots_[who].reading = false;
        srv_.set_reading(slots_[who].conn, false);
        return;
      case kDisconnect:
      case kShut:
        ready(who);
        leave(who, action == kShut);
        return;
      case kStop:
        stop();
        return;
      case kInfo: {
        ready(who);
        Slot& s = slots_[who];
        uint32_t session = ++session_;
        srv_.send(s.conn, encode_frame(Kind::kRequest, sys::kId, sys::kInfo,
                                       session, {}));
        s.last_input_ms = now();
        // Checked when it arrives, against the model as it is then.
        s.expect.push_back({Kind::kReply, sys::kId, 0, session,
                            Expect::Body::kInfo, {}, 0});
        srv_.settle();
        after_settle(who);
        return;
      }
      case kBurst:
      case kOneWay: {
        size_t times = action == kBurst ? size_t{src.u8()} + 1 : 1;
        Req r = build(src, src.u8() % (kRequests + 1));
        issue(who, r, times, action == kOneWay);
        return;
      }
      default:
        issue(who, build(src, action), 1, false);
        return;
    }
  }

  Req build(Source& src, uint8_t action) {
    Req r;
    switch (action) {
      case kKvGet:
      case kKvDel:
        r = {kv::kId, action == kKvGet ? kv::kGet : kv::kDel, pick_key(src)};
        break;
      case kKvSet: {
        std::string key = pick_key(src);
        uint32_t ttl = pick_ttl(src);
        r = {kv::kId, kv::kSet,
             u16s(static_cast<uint16_t>(key.size())) + key +
                 u32s(ttl) + pick_value(src)};
        break;
      }
      case kKvIncr: {
        std::string key = pick_key(src);
        r = {kv::kId, kv::kIncr,
             u16s(static_cast<uint16_t>(key.size())) + key +
                 u64s(static_cast<uint64_t>(pick_delta(src)))};
        break;
      }
      case kJoin:
        r = {room::kId, room::kJoin, pick_room(src)};
        break;
      case kLeave:
        r = {room::kId, room::kLeave, pick_room(src)};
        break;
      case kMembers:
        r = {room::kId, room::kMembers, pick_room(src)};
        break;
      case kPublish: {
        std::string name = pick_room(src);
        std::string body(1, static_cast<char>(name.size() & 0xFF));
        r = {room::kId, room::kPublish, body + name + pick_value(src)};
        break;
      }
      default: {  // raw: any op, any body
        uint8_t sel = src.u8();
        r.service = (sel & 1) ? room::kId : kv::kId;
        r.op = (sel & 2) ? src.u16() : static_cast<uint16_t>(sel >> 2 & 7);
        r.body = src.bytes(src.u16() % (kMaxFrame + 1));
        break;
      }
    }
    // A frame the server must refuse is the message target's business.
    if (r.body.size() > kMaxFrame) r.body.resize(kMaxFrame);
    return r;
  }

  // Writes `times` copies of the request at once and predicts each answer.
  void issue(size_t who, const Req& r, size_t times, bool one_way) {
    ready(who);
    Slot& w = slots_[who];
    for (Slot& s : slots_) s.pushed = false;
    bursts_.emplace_back();
    std::string wire;
    for (size_t k = 0; k < times; ++k) {
      uint32_t session = one_way ? 0 : ++session_;
      wire += encode_frame(one_way ? Kind::kSend : Kind::kRequest, r.service,
                           r.op, session, r.body);
      Expect e = apply(who, r);
      if (one_way) continue;
      e.session = session;
      w.expect.push_back(std::move(e));
    }
    srv_.send(w.conn, wire);
    w.last_input_ms = now();
    srv_.settle();
    after_settle(who, &bursts_.back());
  }

  // ---- what the services must do (docs/PROTOCOL.md) ----

  static Expect reply(uint16_t service, Status st, std::string body = {}) {
    Expect e;
    e.service = service;
    e.code = static_cast<uint16_t>(st);
    e.how = st == Status::kOk ? Expect::Body::kExact : Expect::Body::kAny;
    e.body = std::move(body);
    return e;
  }

  static bool valid_key(std::string_view k) {
    return !k.empty() && k.size() <= kv::kMaxKey;
  }
  static bool valid_room(std::string_view n) {
    return !n.empty() && n.size() <= room::kMaxName;
  }

  // The live entry for `key`; an expired one is gone (as the server drops
  // it when touched).
  KvEntry* lookup(const std::string& key) {
    auto it = kv_.find(key);
    if (it == kv_.end()) return nullptr;
    if (it->second.expire_ms != 0 && it->second.expire_ms <= now()) {
      kv_.erase(it);
      return nullptr;
    }
    return &it->second;
  }

  // u16 key length, key, rest.
  static bool keyed(std::string_view b, std::string* key, std::string_view* rest) {
    if (b.size() < 2) return false;
    size_t klen = get_u16(reinterpret_cast<const uint8_t*>(b.data()));
    if (b.size() < 2 + klen) return false;
    *key = std::string(b.substr(2, klen));
    *rest = b.substr(2 + klen);
    return valid_key(*key);
  }

  Expect apply(size_t who, const Req& r) {
    return r.service == kv::kId ? apply_kv(r) : apply_room(who, r);
  }

  Expect apply_kv(const Req& r) {
    const std::string& b = r.body;
    std::string key;
    std::string_view rest;
    switch (r.op) {
      case kv::kGet: {
        if (!valid_key(b)) return reply(kv::kId, Status::kBadRequest);
        KvEntry* e = lookup(b);
        if (e == nullptr) return reply(kv::kId, Status::kNotFound);
        return reply(kv::kId, Status::kOk, e->value);
      }
      case kv::kSet: {
        if (!keyed(b, &key, &rest) || rest.size() < 4)
          return reply(kv::kId, Status::kBadRequest);
        uint32_t ttl = get_u32(reinterpret_cast<const uint8_t*>(rest.data()));
        kv_[key] = {std::string(rest.substr(4)), ttl ? now() + ttl : 0};
        return reply(kv::kId, Status::kOk);
      }
      case kv::kDel: {
        if (!valid_key(b)) return reply(kv::kId, Status::kBadRequest);
        bool had = lookup(b) != nullptr;
        kv_.erase(b);
        return reply(kv::kId, Status::kOk, std::string(1, had ? '\1' : '\0'));
      }
      case kv::kIncr: {
        if (!keyed(b, &key, &rest) || rest.size() != 8)
          return reply(kv::kId, Status::kBadRequest);
        auto delta = static_cast<int64_t>(
            get_u64(reinterpret_cast<const uint8_t*>(rest.data())));
        int64_t value = 0;
        KvEntry* e = lookup(key);
        if (e != nullptr && !parse_i64(e->value, &value))
          return reply(kv::kId, Status::kBadRequest);
        int64_t sum;
        if (__builtin_add_overflow(value, delta, &sum))
          return reply(kv::kId, Status::kBadRequest);
        std::string text = std::to_string(sum);
        if (e != nullptr) {
          e->value = text;  // the key keeps its TTL
        } else {
          kv_[key] = {text, 0};
        }
        return reply(kv::kId, Status::kOk, text);
      }
      default:
        return reply(kv::kId, Status::kNoOp);
    }
  }

  Expect apply_room(size_t who, const Req& r) {
    const std::string& b = r.body;
    ClientId me = slots_[who].id;
    switch (r.op) {
      case room::kJoin: {
        if (!valid_room(b)) return reply(room::kId, Status::kBadRequest);
        std::set<size_t>& m = rooms_[b];
        m.insert(who);
        return reply(room::kId, Status::kOk,
                     u32s(static_cast<uint32_t>(m.size())));
      }
      case room::kLeave: {
        if (!valid_room(b)) return reply(room::kId, Status::kBadRequest);
        auto it = rooms_.find(b);
        if (it == rooms_.end() || it->second.erase(who) == 0)
          return reply(room::kId, Status::kNotFound);
        if (it->second.empty()) rooms_.erase(it);
        return reply(room::kId, Status::kOk);
      }
      case room::kPublish: {
        auto* p = reinterpret_cast<const uint8_t*>(b.data());
        if (b.empty() || p[0] == 0 || b.size() < 1u + p[0])
          return reply(room::kId, Status::kBadRequest);
        size_t nlen = p[0];
        std::string name = b.substr(1, nlen);
        std::string payload = b.substr(1 + nlen);
        if (1 + nlen + 8 + payload.size() > kMaxFrame)
          return reply(room::kId, Status::kTooLarge);
        Burst& burst = bursts_.back();
        auto it = rooms_.find(name);
        if (it != rooms_.end()) {
          std::string push = b.substr(0, 1 + nlen) + u64s(me) + payload;
          for (size_t m : it->second) {
            Expect e;
            e.kind = Kind::kPush;
            e.service = room::kId;
            e.code = room::kPublish;
            e.body = push;
            slots_[m].expect.push_back(e);
            if (m != who) slots_[m].pushed = true;
          }
          if (burst.slots.empty()) {
            burst.slots = it->second;
            burst.members = static_cast<uint32_t>(it->second.size());
          }
        }
        Expect e = reply(room::kId, Status::kOk);
        e.how = Expect::Body::kCount;
        e.burst = bursts_.size() - 1;
        return e;
      }
      case room::kMembers: {
        if (!valid_room(b)) return reply(room::kId, Status::kBadRequest);
        std::vector<ClientId> ids;
        auto it = rooms_.find(b);
        if (it != rooms_.end())
          for (size_t m : it->second) ids.push_back(slots_[m].id);
        std::sort(ids.begin(), ids.end());
        std::string out;
        for (ClientId id : ids) out += u64s(id);
        Expect e = reply(room::kId, Status::kOk, out);
        e.how = Expect::Body::kIds;
        return e;
      }
      default:
        return reply(room::kId, Status::kNoOp);
    }
  }

  void forget_member(size_t who) {
    for (auto it = rooms_.begin(); it != rooms_.end();) {
      it->second.erase(who);
      it = it->second.empty() ? rooms_.erase(it) : std::next(it);
    }
  }

  // ---- leaving ----

  void leave(size_t who, bool graceful) {
    Slot& s = slots_[who];
    if (graceful) {
      srv_.shut_write(s.conn);
    } else {
      srv_.close(s.conn);
    }
    srv_.settle();
    FUZZ_CHECK(!srv_.daemon().context().client_exists(s.id),
               "client %llu still there after it %s",
               static_cast<unsigned long long>(s.id),
               graceful ? "shut its side" : "closed");
    forget_member(who);
    s.live = false;
    if (graceful) {
      check_stream(who);
      FUZZ_CHECK(srv_.closed_by_server(s.conn),
                 "the server kept a connection whose client shut its side");
      FUZZ_CHECK(s.expect.empty(), "%zu frames lost at a clean close",
                 s.expect.size());
    }
    s.expect.clear();
    after_settle(kSlots);
  }

  // Daemon::stop(): every client gets GOODBYE SHUTDOWN after what it was
  // due, and is closed.
  void stop() {
    for (size_t i = 0; i < kSlots; ++i) unstall(i);
    srv_.daemon().stop();
    srv_.settle();
    for (size_t i = 0; i < kSlots; ++i) {
      Slot& s = slots_[i];
      if (!s.live) continue;
      FUZZ_CHECK(!srv_.daemon().context().client_exists(s.id),
                 "slot %zu still there after stop()", i);
      s.live = false;
      s.cut = true;
      s.may_close = {Goodbye::kShutdown};
      check_stream(i);
      FUZZ_CHECK(s.goodbye_seen, "slot %zu: no GOODBYE SHUTDOWN", i);
      FUZZ_CHECK(srv_.closed_by_server(s.conn),
                 "slot %zu: still connected after its GOODBYE SHUTDOWN", i);
    }
    rooms_.clear();
    stopped_ = true;
  }

  // ---- checks after the loop settled ----

  // `writer`: the slot that sent this step (kSlots: none); `burst`: the
  // requests it sent. Finds the slots the server closed, then reads every
  // slot's stream.
  void after_settle(size_t writer, Burst* burst = nullptr) {
    for (size_t i = 0; i < kSlots; ++i) {
      Slot& s = slots_[i];
      if (!s.live || srv_.daemon().context().client_exists(s.id)) continue;
      FUZZ_CHECK(i != writer, "slot %zu was closed by its own request", i);
      if (s.pushed) s.may_close.insert(Goodbye::kSlow);
      if (now() - s.last_input_ms >= kIdleMs) s.may_close.insert(Goodbye::kIdle);
      FUZZ_CHECK(!s.may_close.empty(),
                 "client %llu closed without a cause (slot %zu)",
                 static_cast<unsigned long long>(s.id), i);
      s.live = false;
      s.cut = true;
      if (burst && burst->slots.count(i)) ++burst->cut;
      forget_member(i);
    }
    for (size_t i = 0; i < kSlots; ++i) check_stream(i);
  }

  void check_stream(size_t i) {
    Slot& s = slots_[i];
    if (!s.reading) return;
    std::string& rx = srv_.received(s.conn);
    FrameHeader h;
    std::string body;
    while (take_frame(rx, kMaxFrame, &h, &body)) {
      FUZZ_CHECK(!s.goodbye_seen, "slot %zu: a frame after GOODBYE", i);
      if (h.kind == Kind::kGoodbye) {
        FUZZ_CHECK(s.cut && s.may_close.count(static_cast<Goodbye>(h.code)),
                   "slot %zu: GOODBYE %s (%s)", i,
                   goodbye_name(static_cast<Goodbye>(h.code)), body.c_str());
        s.goodbye_seen = true;
        s.expect.clear();
        continue;
      }
      FUZZ_CHECK(!s.expect.empty(), "slot %zu: unexpected %s %u/%u", i,
                 kind_name(h.kind), h.service, h.code);
      match(i, s.expect.front(), h, body);
      s.expect.pop_front();
    }
    if (s.cut) {
      // What a closed client gets is a prefix of what it was due: after a
      // linger ran out, even part of a frame.
      if (srv_.closed_by_server(s.conn)) {
        rx.clear();
        s.expect.clear();
      }
      return;
    }
    FUZZ_CHECK(rx.empty(), "slot %zu: %zu bytes of a frame left", i, rx.size());
    FUZZ_CHECK(s.expect.empty(), "slot %zu: %zu frames missing (next %s %u/%u)",
               i, s.expect.size(), kind_name(s.expect.front().kind),
               s.expect.front().service, s.expect.front().code);
  }

  void match(size_t i, const Expect& e, const FrameHeader& h,
             const std::string& body) {
    FUZZ_CHECK(h.kind == e.kind && h.service == e.service && h.code == e.code &&
                   h.session == (e.kind == Kind::kReply ? e.session : 0),
               "slot %zu: got %s %u/%u session %u, want %s %u/%u session %u "
               "(%s)",
               i, kind_name(h.kind), h.service, h.code, h.session,
               kind_name(e.kind), e.service, e.code, e.session,
               h.code ? body.c_str() : "");
    switch (e.how) {
      case Expect::Body::kExact:
        FUZZ_CHECK(body == e.body, "slot %zu: body of %zu bytes, want %zu", i,
                   body.size(), e.body.size());
        break;
      case Expect::Body::kAny:
        break;
      case Expect::Body::kIds: {
        FUZZ_CHECK(body.size() % 8 == 0, "MEMBERS of %zu bytes", body.size());
        std::vector<ClientId> ids;
        for (size_t k = 0; k < body.size(); k += 8)
          ids.push_back(get_u64(reinterpret_cast<const uint8_t*>(body.data()) + k));
        std::sort(ids.begin(), ids.end());
        std::string sorted;
        for (ClientId id : ids) sorted += u64s(id);
        FUZZ_CHECK(sorted == e.body, "MEMBERS: %zu ids, want %zu", ids.size(),
                   e.body.size() / 8);
        break;
      }
      case Expect::Body::kCount: {
        FUZZ_CHECK(body.size() == 4, "PUBLISH count of %zu bytes", body.size());
        Burst& b = bursts_[e.burst];
        uint32_t n = get_u32(reinterpret_cast<const uint8_t*>(body.data()));
        FUZZ_CHECK(n <= b.members && n + b.cut >= b.members,
                   "PUBLISH delivered to %u of %u members (%u cut off)", n,
                   b.members, b.cut);
        FUZZ_CHECK(n <= b.last, "PUBLISH delivered to %u after %u", n, b.last);
        b.last = n;
        break;
      }
      case Expect::Body::kInfo:
        check_info(body);
        break;
    }
  }

  void check_info(const std::string& text) {
    std::map<std::string, int64_t> v;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t eol = text.find('\n', pos);
      if (eol == std::string::npos) eol = text.size();
      std::string line = text.substr(pos, eol - pos);
      pos = eol + 1;
      size_t sp = line.find(' ');
      if (sp == std::string::npos) continue;
      v[line.substr(0, sp)] = std::stoll(line.substr(sp + 1));
    }
    size_t members = 0;
    for (auto& [name, m] : rooms_) members += m.size();
    FUZZ_CHECK(v["rooms"] == static_cast<int64_t>(rooms_.size()),
               "INFO rooms %lld, want %zu", static_cast<long long>(v["rooms"]),
               rooms_.size());
    FUZZ_CHECK(v.count("room_members") == 0 ||
                   v["room_members"] == static_cast<int64_t>(members),
               "INFO room_members %lld, want %zu",
               static_cast<long long>(v["room_members"]), members);
    // Expired keys may linger until touched or swept; live ones may not go.
    size_t live = 0;
    for (auto& [k, e] : kv_)
      if (e.expire_ms == 0 || e.expire_ms > now()) ++live;
    FUZZ_CHECK(v["kv_keys"] >= static_cast<int64_t>(live) &&
                   v["kv_keys"] <= static_cast<int64_t>(kv_.size()),
               "INFO kv_keys %lld, want %zu..%zu",
               static_cast<long long>(v["kv_keys"]), live, kv_.size());
  }

  fuzz::InProcessServer srv_;
  Slot slots_[kSlots];
  std::map<std::string, KvEntry> kv_;
  std::map<std::string, std::set<size_t>> rooms_;  // name -> member slots
  std::deque<Burst> bursts_;
  uint32_t session_ = 0;
  bool stopped_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Source src(data, size);
  Model model;
  model.run(src);
  return 0;
}
