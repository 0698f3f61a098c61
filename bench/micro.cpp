// Micro-benchmarks for hazel's pure cores: the codec, the ring buffer, the
// timer wheel, PUSH fan-out modelled at the ring level, and the gate every
// request passes with a rate limit or a policy (the permission check). None of them does
// I/O, so what is measured is CPU and allocator cost only.
//
//   make bench-micro                       (builds and runs everything)
//   build/release/bench/micro --benchmark_filter=Timer
//
// Each benchmark runs for at least kMinTime so the whole suite stays well
// under 30 s; pass --benchmark_min_time=1 for steadier figures.
//
// The library is built without LTO, so calls into it are opaque to the
// optimiser and cannot be hoisted out of a loop; DoNotOptimize/ClobberMemory
// are still used so results and written buffers count as observed.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gate.h"
#include "hazel/builtins.h"
#include "hazel/frame.h"
#include "jwt.h"
#include "ring_buffer.h"
#include "services/token_policy.h"
#include "timer_wheel.h"

namespace {

using hazel::DecodeStatus;
using hazel::FrameHeader;
using hazel::kHeaderSize;
using hazel::Kind;
using hazel::Peer;
using hazel::RingBuffer;
using hazel::TimerNode;
using hazel::TimerWheel;

constexpr double kMinTime = 0.1;
// Large enough that no benchmark is ever refused by the output limit.
constexpr size_t kRingLimit = size_t{1} << 24;

// Appends one REQUEST frame with a `body_size`-byte body, as a client sends.
void append_frame(std::vector<uint8_t>& out, uint32_t session,
                  size_t body_size) {
  FrameHeader h;
  h.kind = Kind::kRequest;
  h.service = 7;
  h.code = 1;
  h.session = session;
  h.length = static_cast<uint32_t>(body_size);
  size_t at = out.size();
  out.resize(at + kHeaderSize + body_size, 'x');
  hazel::encode_header(h, out.data() + at);
}

// ---- codec ------------------------------------------------------------------

// decode() checks the header and compares lengths but never reads the body,
// so its cost should not depend on the body size; the two Args show that.
void BM_Codec_DecodeFrame(benchmark::State& state) {
  const auto body = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> buf;
  append_frame(buf, 1, body);
  const uint8_t* p = buf.data();
  for (auto _ : state) {
    benchmark::DoNotOptimize(p);
    auto d = hazel::decode(p, buf.size(), hazel::kDefaultMaxFrame,
                           Peer::kServer);
    benchmark::DoNotOptimize(d);
  }
  if (hazel::decode(p, buf.size(), hazel::kDefaultMaxFrame, Peer::kServer)
          .status != DecodeStatus::kFrame)
    state.SkipWithError("test frame did not decode");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Codec_DecodeFrame)
    ->ArgName("body")
    ->Arg(16)
    ->Arg(1024)
    ->MinTime(kMinTime);

void BM_Codec_EncodeHeader(benchmark::State& state) {
  FrameHeader h;
  h.kind = Kind::kReply;
  h.service = 7;
  h.length = 16;
  uint8_t out[kHeaderSize];
  for (auto _ : state) {
    ++h.session;  // a changing field, as every reply has its own session
    hazel::encode_header(h, out);
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Codec_EncodeHeader)->MinTime(kMinTime);

// What Message::feed does with one read: walk a buffer of pipelined frames.
void BM_Codec_DecodeStream64(benchmark::State& state) {
  constexpr int kFrames = 64;
  const auto body = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> buf;
  for (int i = 0; i < kFrames; ++i)
    append_frame(buf, static_cast<uint32_t>(i), body);
  int frames = 0;
  for (auto _ : state) {
    const uint8_t* p = buf.data();
    benchmark::DoNotOptimize(p);
    size_t off = 0;
    frames = 0;
    while (off < buf.size()) {
      auto d = hazel::decode(p + off, buf.size() - off,
                             hazel::kDefaultMaxFrame, Peer::kServer);
      if (d.status != DecodeStatus::kFrame) break;
      off += kHeaderSize + d.header.length;
      ++frames;
    }
    benchmark::DoNotOptimize(frames);
  }
  if (frames != kFrames) state.SkipWithError("stream did not decode fully");
  // No bytes/s: decode() never touches a body, so it would only scale with
  // the body size and say nothing.
  state.SetItemsProcessed(state.iterations() * kFrames);
}
BENCHMARK(BM_Codec_DecodeStream64)
    ->ArgName("body")
    ->Arg(16)
    ->Arg(1024)
    ->MinTime(kMinTime);

// ---- ring buffer ------------------------------------------------------------

// Steady-state append+consume of 64-byte chunks. The ring is kept `fill`
// bytes full so it never empties: consume() of the last byte resets both
// counters to 0, which would otherwise pin every chunk at offset 0 and never
// wrap. With a 4 KiB ring the data wraps every 64 ops; a fill that is not a
// multiple of 64 makes those wrapping ops split into two memcpys.
void BM_Ring_AppendConsumeWrapping(benchmark::State& state) {
  constexpr size_t kChunk = 64;
  const auto fill = static_cast<size_t>(state.range(0));
  RingBuffer r(kRingLimit);
  std::vector<uint8_t> pre(fill, 'p');
  r.append(pre.data(), pre.size());
  uint8_t chunk[kChunk];
  std::memset(chunk, 'c', sizeof chunk);
  const size_t cap = r.capacity();
  for (auto _ : state) {
    r.append(chunk, kChunk);
    benchmark::ClobberMemory();
    r.consume(kChunk);
  }
  if (r.capacity() != cap || r.size() != fill)
    state.SkipWithError("ring grew or drifted");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kChunk));
}
BENCHMARK(BM_Ring_AppendConsumeWrapping)
    ->ArgName("fill")
    ->Arg(1000)
    ->Arg(4000)
    ->MinTime(kMinTime);

// The call flush() makes before every sendmsg, with the data straddling the
// end of the array so both iovecs are filled.
void BM_Ring_ReadableSpansWrapped(benchmark::State& state) {
  RingBuffer r(kRingLimit);
  std::vector<uint8_t> data(3000, 'd');
  r.append(data.data(), 3000);
  r.consume(2900);  // head at 2900, not empty so the counters are not reset
  r.append(data.data(), 2000);  // tail at 5000, i.e. offset 904 of 4096
  struct iovec iov[2];
  int spans = 0;
  for (auto _ : state) {
    spans = r.readable_spans(iov);
    benchmark::DoNotOptimize(spans);
    benchmark::DoNotOptimize(iov);
  }
  if (spans != 2) state.SkipWithError("data did not wrap");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ring_ReadableSpansWrapped)->MinTime(kMinTime);

// A fresh (idle, unallocated) ring filled to 64 KiB in `chunk`-byte appends:
// it doubles 4 -> 8 -> 16 -> 32 -> 64 KiB, copying its contents each time.
// BM_Ring_Reserved64K does the same appends after one reserve(), so the
// difference between the two is the cost of growing.
void BM_Ring_GrowFromEmpty64K(benchmark::State& state) {
  constexpr size_t kTarget = 64 * 1024;
  const auto chunk = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> src(chunk, 'g');
  for (auto _ : state) {
    RingBuffer r(kRingLimit);
    for (size_t n = 0; n < kTarget; n += chunk) r.append(src.data(), chunk);
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kTarget));
}
BENCHMARK(BM_Ring_GrowFromEmpty64K)
    ->ArgName("chunk")
    ->Arg(64)
    ->Arg(4096)
    ->MinTime(kMinTime);

void BM_Ring_Reserved64K(benchmark::State& state) {
  constexpr size_t kTarget = 64 * 1024;
  const auto chunk = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> src(chunk, 'g');
  for (auto _ : state) {
    RingBuffer r(kRingLimit);
    r.reserve(kTarget);
    for (size_t n = 0; n < kTarget; n += chunk) r.append(src.data(), chunk);
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kTarget));
}
BENCHMARK(BM_Ring_Reserved64K)
    ->ArgName("chunk")
    ->Arg(64)
    ->Arg(4096)
    ->MinTime(kMinTime);

// ---- timer wheel ------------------------------------------------------------

void count_fire(TimerNode* n) { ++*static_cast<size_t*>(n->data); }
void no_fire(TimerNode*) {}

// The idle-timeout pattern: arm, then disarm before it fires. The delay picks
// the wheel level the node lands in (near, level 0, 1, 3); place() walks one
// more comparison per level, cancel() is a plain unlink everywhere.
void BM_Timer_AddCancel(benchmark::State& state) {
  const auto delay = static_cast<uint64_t>(state.range(0));
  TimerWheel w(0);
  TimerNode n;
  n.fire = no_fire;
  for (auto _ : state) {
    w.add(&n, w.current() + delay);
    w.cancel(&n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Timer_AddCancel)
    ->ArgName("delay")
    ->Arg(100)
    ->Arg(10'000)
    ->Arg(1'000'000)
    ->Arg(int64_t{1} << 31)
    ->MinTime(kMinTime);

// 100k timers with uniform random delays in [1, max_delay], then advance()
// tick by tick through all of them (in one call, as a loop that fell behind
// would). Items are timers, so items/s is the full per-timer cost: add,
// cascades down the levels, firing, and the share of empty ticks walked.
void BM_Timer_AddAdvance100k(benchmark::State& state) {
  constexpr size_t kTimers = 100'000;
  const auto max_delay = static_cast<uint64_t>(state.range(0));
  std::mt19937_64 rng(42);  // fixed seed: the same schedule every run
  std::uniform_int_distribution<uint64_t> pick(1, max_delay);
  std::vector<uint64_t> delays(kTimers);
  for (auto& d : delays) d = pick(rng);
  size_t fired = 0;
  std::vector<TimerNode> nodes(kTimers);
  for (auto& n : nodes) {
    n.fire = count_fire;
    n.data = &fired;
  }
  auto wheel = std::make_unique<TimerWheel>(0);
  for (auto _ : state) {
    // A fresh wheel each round, so every round starts at tick 0 with the
    // same layout; constructing it (~600 list heads) is noise next to 100k.
    wheel = std::make_unique<TimerWheel>(0);
    fired = 0;
    for (size_t i = 0; i < kTimers; ++i) wheel->add(&nodes[i], delays[i]);
    wheel->advance(max_delay);
    benchmark::DoNotOptimize(fired);
  }
  if (fired != kTimers || wheel->size() != 0)
    state.SkipWithError("not every timer fired");
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kTimers));
  state.counters["per_timer"] = benchmark::Counter(
      static_cast<double>(kTimers),
      benchmark::Counter::kIsIterationInvariantRate |
          benchmark::Counter::kInvert);
}
BENCHMARK(BM_Timer_AddAdvance100k)
    ->ArgName("max_delay")
    ->Arg(1'000)
    ->Arg(60'000)
    ->Arg(600'000)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(kMinTime);

// What an idle loop pays per millisecond: one tick over empty slots, plus a
// cascade attempt on every 256th tick.
void BM_Timer_AdvanceEmptyTick(benchmark::State& state) {
  TimerWheel w(0);
  uint64_t now = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.advance(++now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Timer_AdvanceEmptyTick)->MinTime(kMinTime);

// next_timeout() is called once per loop turn to size the epoll_wait timeout.
// Its cost depends on where the nearest timer is: none (early return), in the
// next near slot (found at once), or only in a higher level, where it scans
// every remaining near slot (255 at tick 0) before giving up.
void BM_Timer_NextTimeout(benchmark::State& state) {
  TimerWheel w(0);
  TimerNode n;
  n.fire = no_fire;
  switch (state.range(0)) {
    case 0: state.SetLabel("empty"); break;
    case 1: state.SetLabel("next tick"); w.add(&n, 1); break;
    default: state.SetLabel("far: scans near"); w.add(&n, 100'000); break;
  }
  uint64_t t = 0;
  for (auto _ : state) {
    t = w.next_timeout();
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Timer_NextTimeout)
    ->ArgName("case")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->MinTime(kMinTime);

// ---- fan-out ----------------------------------------------------------------

// Message::push_many at the ring level: one PUSH to `members` output rings.
// The rings are allocated before timing starts and drained (consume, not
// release) each round, as end_turn()'s flush would, so neither memory growth
// nor malloc is measured; the drain is the same in both variants.
struct FanOut {
  explicit FanOut(benchmark::State& state)
      : payload(static_cast<size_t>(state.range(0)), 'b'),
        members(static_cast<size_t>(state.range(1))) {
    rings.reserve(members);
    for (size_t i = 0; i < members; ++i) {
      rings.push_back(std::make_unique<RingBuffer>(kRingLimit));
      rings.back()->reserve(RingBuffer::kMinCapacity);
    }
  }
  void drain() {
    for (auto& r : rings) r->consume(r->size());
  }
  void report(benchmark::State& state) const {
    for (auto& r : rings)
      if (r->capacity() != RingBuffer::kMinCapacity)
        state.SkipWithError("a member ring grew");
    const auto frames = state.iterations() * static_cast<int64_t>(members);
    state.SetItemsProcessed(frames);
    state.SetBytesProcessed(frames *
                            static_cast<int64_t>(kHeaderSize + payload.size()));
  }
  FrameHeader header() const {
    FrameHeader h;
    h.kind = Kind::kPush;
    h.service = 7;
    h.code = 2;
    h.length = static_cast<uint32_t>(payload.size());
    return h;
  }

  std::string payload;
  size_t members;
  std::vector<std::unique_ptr<RingBuffer>> rings;
};

// What push_many does: encode header+body once into a reused string, then
// one append of the same bytes per member (Client::queue_raw).
void BM_FanOut_EncodeOnce(benchmark::State& state) {
  FanOut f(state);
  const FrameHeader h = f.header();
  std::string encoded;  // reused like Message::fanout_, so no malloc per push
  for (auto _ : state) {
    encoded.resize(kHeaderSize);
    hazel::encode_header(h, reinterpret_cast<uint8_t*>(encoded.data()));
    encoded.append(f.payload);
    for (auto& r : f.rings) r->append(encoded.data(), encoded.size());
    benchmark::ClobberMemory();
    f.drain();
  }
  f.report(state);
}

// The baseline: per member, what Client::queue does for a single push
// (reserve, encode the header, append header, append body).
void BM_FanOut_EncodePerMember(benchmark::State& state) {
  FanOut f(state);
  const FrameHeader h = f.header();
  for (auto _ : state) {
    for (auto& r : f.rings) {
      r->reserve(kHeaderSize + f.payload.size());
      uint8_t hdr[kHeaderSize];
      hazel::encode_header(h, hdr);
      r->append(hdr, kHeaderSize);
      r->append(f.payload.data(), f.payload.size());
    }
    benchmark::ClobberMemory();
    f.drain();
  }
  f.report(state);
}

void fan_out_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"payload", "members"})
      ->Args({16, 50})
      ->Args({1024, 50})
      ->MinTime(kMinTime);
}
BENCHMARK(BM_FanOut_EncodeOnce)->Apply(fan_out_args);
BENCHMARK(BM_FanOut_EncodePerMember)->Apply(fan_out_args);

// ---- the gate ------------------------------------------------------------------

// A policy that allows everything: what the gate itself costs.
class AllowAll final : public hazel::Policy {
 public:
  hazel::Verdict allow(const hazel::Access&) override {
    return hazel::Verdict::allow();
  }
};

// Gate::check for one request of an established client, as Core::on_request
// runs it: `rate` adds a token bucket, `token` the built-in token policy
// judging a kv SET of a key the token allows (the path that does the most),
// `trivial` a policy that allows everything instead.
void gate_check(benchmark::State& state, bool rate, bool token, bool trivial = false) {
  hazel::Config cfg;
  if (rate) cfg.rate_limit = 1000000;  // never refuses: measures the refill
  uint64_t clock = 0;
  hazel::detail::Gate gate(cfg, clock, int64_t{1800000000} * 1000);
  std::unique_ptr<hazel::Policy> policy;
  if (token) {
    const std::string key(32, 'k');
    policy = hazel::services::make_token_policy({key});
    gate.add_policy(*policy, nullptr);
    hazel::TokenClaims c;
    c.sub = "alice";
    c.exp = int64_t{1800000000} + 3600;
    c.rooms = {"lobby", "game:*"};
    c.kv = {"score:bob:", "score:alice:"};
    std::string why;
    if (gate.authenticate(7, hazel::jwt_mint(c, key), &why) == nullptr)
      state.SkipWithError("AUTH failed");
  }
  AllowAll allow_all;
  if (trivial) gate.add_policy(allow_all, nullptr);
  std::string body;
  hazel::append_u16(body, 14);
  body += "score:alice:42";
  hazel::append_u32(body, 0);
  body += "value";
  hazel::Request req;
  req.client = 7;
  req.service = hazel::kv::kId;
  req.op = hazel::kv::kSet;
  req.body = body;
  std::string_view why;
  for (auto _ : state) {
    ++clock;  // a new loop turn now and then: the bucket refills
    hazel::Request r = req;
    auto o = gate.check(&r, &why);
    benchmark::DoNotOptimize(o);
    benchmark::DoNotOptimize(r.user);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Gate_AllowAllPolicy(benchmark::State& state) {
  gate_check(state, false, false, true);
}
void BM_Gate_RateLimit(benchmark::State& state) { gate_check(state, true, false); }
void BM_Gate_TokenPolicy(benchmark::State& state) { gate_check(state, false, true); }
void BM_Gate_TokenPolicyAndRateLimit(benchmark::State& state) {
  gate_check(state, true, true);
}
BENCHMARK(BM_Gate_AllowAllPolicy)->MinTime(kMinTime);
BENCHMARK(BM_Gate_RateLimit)->MinTime(kMinTime);
BENCHMARK(BM_Gate_TokenPolicy)->MinTime(kMinTime);
BENCHMARK(BM_Gate_TokenPolicyAndRateLimit)->MinTime(kMinTime);

// AUTH itself: verifying a token (HMAC-SHA256 over ~200 bytes, base64url,
// the claims parsed), once per connection and per refresh.
void BM_Jwt_Verify(benchmark::State& state) {
  const std::string key(32, 'k');
  hazel::TokenClaims c;
  c.sub = "alice";
  c.exp = int64_t{1800000000} + 3600;
  c.rooms = {"lobby", "game:*"};
  c.kv = {"score:alice:"};
  std::string token = hazel::jwt_mint(c, key);
  std::vector<std::string> keys = {key};
  for (auto _ : state) {
    hazel::TokenClaims out;
    std::string why;
    bool ok = hazel::jwt_verify(token, keys, 1800000000, &out, &why);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Jwt_Verify)->MinTime(kMinTime);

}  // namespace

BENCHMARK_MAIN();
