// Specification of TimerWheel (src/timer_wheel.h), driven by a fake clock:
// every timer fires exactly once, at exactly its tick, whatever level of the
// wheel it starts in; cancel and re-arm are O(1) and safe from callbacks.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "timer_wheel.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAZEL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAZEL_SANITIZED 1
#endif
#endif

namespace hazel {
namespace {

constexpr uint64_t kNever = UINT64_MAX;

// An owner object embedding its TimerNode, as sessions and services do.
struct Probe {
  TimerNode node;
  TimerWheel* wheel = nullptr;
  int id = 0;
  int fires = 0;
  uint64_t fired_at = kNever;         // wheel.current() inside the callback
  std::vector<int>* log = nullptr;    // ids in firing order
  void (*then)(Probe*) = nullptr;     // extra work done inside the callback
  Probe* other = nullptr;             // for callbacks that touch a neighbour
  uint64_t rearm_delay = 0;
  int rearm_times = 0;
  std::vector<uint64_t> ticks;        // every current() this probe fired at

  explicit Probe(TimerWheel& w, int i = 0) : wheel(&w), id(i) {
    node.fire = &Probe::on_fire;
    node.data = this;
  }
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  static void on_fire(TimerNode* n) {
    auto* p = static_cast<Probe*>(n->data);
    ++p->fires;
    p->fired_at = p->wheel->current();
    p->ticks.push_back(p->fired_at);
    if (p->log) p->log->push_back(p->id);
    if (p->then) p->then(p);
  }
};

TEST(TimerWheel, FiresAtItsTickAndNotOneTickEarlier) {
  TimerWheel wheel(0);
  Probe p(wheel);
  wheel.add(&p.node, 10);
  EXPECT_EQ(wheel.advance(9), 0u);
  EXPECT_EQ(p.fires, 0);
  EXPECT_EQ(wheel.advance(10), 1u);
  EXPECT_EQ(p.fires, 1);
  EXPECT_EQ(p.fired_at, 10u);
}

TEST(TimerWheel, FiresOnlyOnce) {
  TimerWheel wheel(0);
  Probe p(wheel);
  wheel.add(&p.node, 10);
  wheel.advance(10);
  wheel.advance(100000);
  EXPECT_EQ(p.fires, 1);
  EXPECT_FALSE(p.node.armed());
}

TEST(TimerWheel, JumpPastTheTickFiresWithCurrentAtTheTick) {
  TimerWheel wheel(0);
  Probe p(wheel);
  wheel.add(&p.node, 10);
  wheel.advance(5000);
  EXPECT_EQ(p.fired_at, 10u);
  EXPECT_EQ(wheel.current(), 5000u);
}

// ---- level boundaries ------------------------------------------------------

struct Case {
  uint64_t start;
  uint64_t delay;
};

std::string case_name(const testing::TestParamInfo<Case>& info) {
  return "start" + std::to_string(info.param.start) + "_delay" +
         std::to_string(info.param.delay);
}

class TimerWheelBoundary : public testing::TestWithParam<Case> {};

// Jumps to one tick before the expiry, then far past it: the timer must not
// fire early and must fire with current() == its tick.
TEST_P(TimerWheelBoundary, FiresAtExactTickInBigJumps) {
  const Case c = GetParam();
  const uint64_t expire = c.start + c.delay;
  TimerWheel wheel(c.start);
  Probe p(wheel);
  wheel.add(&p.node, expire);
  wheel.advance(expire - 1);
  EXPECT_EQ(p.fires, 0) << "fired at " << p.fired_at << ", due " << expire;
  wheel.advance(expire + 300);
  EXPECT_EQ(p.fires, 1);
  EXPECT_EQ(p.fired_at, expire);
  EXPECT_EQ(wheel.size(), 0u);
}

const uint64_t kDelays[] = {
    1,
    255,
    256,
    257,
    (uint64_t{1} << 14) - 1,
    uint64_t{1} << 14,
    (uint64_t{1} << 14) + 1,
    (uint64_t{1} << 20) - 1,
    uint64_t{1} << 20,
    (uint64_t{1} << 20) + 5,
    (uint64_t{1} << 26) + 7,
};

std::vector<Case> boundary_cases() {
  std::vector<Case> v;
  for (uint64_t d : kDelays) v.push_back({0, d});
  // Unaligned starts: the boundaries crossed are those of the absolute tick.
  for (uint64_t d : {uint64_t{1}, uint64_t{256}, (uint64_t{1} << 20) + 5})
    v.push_back({(uint64_t{1} << 14) - 1, d});
  // Crossing a 2^32 block (above the top level).
  for (uint64_t d : {uint64_t{10}, (uint64_t{1} << 14) + 1,
                     (uint64_t{1} << 26) + 7})
    v.push_back({(uint64_t{1} << 32) - 3, d});
  v.push_back({123456789, (uint64_t{1} << 20) + 5});
  return v;
}

INSTANTIATE_TEST_SUITE_P(TimerWheel, TimerWheelBoundary,
                         testing::ValuesIn(boundary_cases()), case_name);

class TimerWheelBoundaryTickByTick : public testing::TestWithParam<Case> {};

// Advances one tick at a time and checks the timer stays quiet until the
// very tick it is due.
TEST_P(TimerWheelBoundaryTickByTick, FiresAtExactTick) {
  const Case c = GetParam();
  const uint64_t expire = c.start + c.delay;
  TimerWheel wheel(c.start);
  Probe p(wheel);
  wheel.add(&p.node, expire);
  for (uint64_t t = c.start + 1; t < expire; ++t) {
    wheel.advance(t);
    ASSERT_EQ(p.fires, 0) << "fired early at " << t << ", due " << expire;
  }
  EXPECT_EQ(wheel.advance(expire), 1u);
  EXPECT_EQ(p.fired_at, expire);
}

std::vector<Case> small_cases() {
  std::vector<Case> v;
  for (uint64_t d : {uint64_t{255}, uint64_t{256}, uint64_t{257},
                     (uint64_t{1} << 14) - 1, uint64_t{1} << 14,
                     (uint64_t{1} << 14) + 1})
    v.push_back({0, d});
  v.push_back({200, 100});                      // crosses one near block
  v.push_back({(uint64_t{1} << 20) - 10, 20});  // crosses a level-1 block
  return v;
}

INSTANTIATE_TEST_SUITE_P(TimerWheel, TimerWheelBoundaryTickByTick,
                         testing::ValuesIn(small_cases()), case_name);

// About 2^31 ticks of advance: ~7 s in a release build, over a minute under
// ASan. Under sanitizers the same crossing is made with a 2^26-tick delay
// from 2^26 ticks before the block's end (the smallest that still lands in
// the next 2^32 block, in a top-level slot already passed in this one): the
// code path is the same, at a 32nd of the cost.
TEST(TimerWheel, LongestDelayTimersAcrossTopLevelFireAtExactTick) {
#ifdef HAZEL_SANITIZED
  const uint64_t delay = uint64_t{1} << 26;
#else
  const uint64_t delay = TimerWheel::kMaxDelay;
#endif
  // A start where the expiry lands in the next 2^32 block, in a top-level
  // slot already passed in this one.
  const uint64_t start =
      (uint64_t{1} << 32) - std::min(delay, uint64_t{1} << 27) + 5;
  TimerWheel wheel(start);
  Probe a(wheel, 1), b(wheel, 2);
  const uint64_t ea = start + delay - 1;
  const uint64_t eb = start + delay;
  ASSERT_GE(ea >> 32, 1u) << "the expiry must be in the next 2^32 block";
  wheel.add(&a.node, ea);
  wheel.add(&b.node, eb);
  wheel.advance(ea - 1);
  EXPECT_EQ(a.fires + b.fires, 0);
  wheel.advance(eb + 10);
  EXPECT_EQ(a.fires, 1);
  EXPECT_EQ(b.fires, 1);
  EXPECT_EQ(a.fired_at, ea);
  EXPECT_EQ(b.fired_at, eb);
}

TEST(TimerWheel, AddClampsDelayToMaxDelay) {
  TimerWheel wheel(1000);
  Probe p(wheel);
  wheel.add(&p.node, 1000 + (uint64_t{1} << 40));
  EXPECT_EQ(p.node.expire, 1000 + TimerWheel::kMaxDelay);
}

// ---- ordering --------------------------------------------------------------

TEST(TimerWheel, SeveralTimersFireInExpireOrder) {
  TimerWheel wheel(0);
  const uint64_t expires[] = {(uint64_t{1} << 20) + 5,
                              300,
                              5,
                              (uint64_t{1} << 14) + 1,
                              256,
                              1,
                              (uint64_t{1} << 26) + 7,
                              255,
                              (uint64_t{1} << 14) - 1,
                              257,
                              70000};
  const size_t n = std::size(expires);
  std::vector<int> log;
  std::vector<std::unique_ptr<Probe>> probes;
  for (size_t i = 0; i < n; ++i) {
    probes.push_back(std::make_unique<Probe>(wheel, static_cast<int>(i)));
    probes.back()->log = &log;
    wheel.add(&probes.back()->node, expires[i]);
  }
  EXPECT_EQ(wheel.advance((uint64_t{1} << 26) + 100), n);

  std::vector<int> want(n);
  std::iota(want.begin(), want.end(), 0);
  std::sort(want.begin(), want.end(),
            [&](int x, int y) { return expires[x] < expires[y]; });
  EXPECT_EQ(log, want);
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(probes[i]->fired_at, expires[i]);
}

TEST(TimerWheel, TimersSharingATickAllFireAtIt) {
  TimerWheel wheel(0);
  Probe a(wheel, 1), b(wheel, 2), c(wheel, 3);
  wheel.add(&a.node, 70000);
  wheel.add(&b.node, 70000);
  wheel.add(&c.node, 70000);
  EXPECT_EQ(wheel.advance(80000), 3u);
  EXPECT_EQ(a.fired_at, 70000u);
  EXPECT_EQ(b.fired_at, 70000u);
  EXPECT_EQ(c.fired_at, 70000u);
}

// ---- cancel and re-arm -----------------------------------------------------

TEST(TimerWheel, CancelPreventsFiring) {
  TimerWheel wheel(0);
  Probe p(wheel);
  wheel.add(&p.node, 100);
  wheel.cancel(&p.node);
  EXPECT_FALSE(p.node.armed());
  EXPECT_EQ(wheel.advance(1000), 0u);
  EXPECT_EQ(p.fires, 0);
}

TEST(TimerWheel, CancelFromMiddleOfSlotKeepsNeighboursFiring) {
  TimerWheel wheel(0);
  Probe a(wheel, 1), b(wheel, 2), c(wheel, 3);
  // Same tick, so one slot list: a <-> b <-> c; b is unlinked from between.
  wheel.add(&a.node, 50);
  wheel.add(&b.node, 50);
  wheel.add(&c.node, 50);
  wheel.cancel(&b.node);
  EXPECT_EQ(wheel.size(), 2u);
  EXPECT_EQ(wheel.advance(50), 2u);
  EXPECT_EQ(a.fires, 1);
  EXPECT_EQ(b.fires, 0);
  EXPECT_EQ(c.fires, 1);
}

TEST(TimerWheel, CancelFromMiddleOfUpperLevelSlotKeepsNeighboursFiring) {
  TimerWheel wheel(0);
  Probe a(wheel, 1), b(wheel, 2), c(wheel, 3);
  // Same level-1 slot (bits 14..19), different ticks.
  wheel.add(&a.node, (uint64_t{1} << 15) + 1);
  wheel.add(&b.node, (uint64_t{1} << 15) + 2);
  wheel.add(&c.node, (uint64_t{1} << 15) + 3);
  wheel.cancel(&b.node);
  EXPECT_EQ(wheel.advance(uint64_t{1} << 16), 2u);
  EXPECT_EQ(a.fired_at, (uint64_t{1} << 15) + 1);
  EXPECT_EQ(b.fires, 0);
  EXPECT_EQ(c.fired_at, (uint64_t{1} << 15) + 3);
}

TEST(TimerWheel, CancelOfUnarmedNodeIsANoOp) {
  TimerWheel wheel(0);
  Probe p(wheel), q(wheel);
  wheel.add(&q.node, 10);
  wheel.cancel(&p.node);  // never armed
  EXPECT_EQ(wheel.size(), 1u);
  wheel.add(&p.node, 10);
  wheel.cancel(&p.node);
  wheel.cancel(&p.node);  // twice
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.advance(10), 1u);
  EXPECT_EQ(q.fires, 1);
}

TEST(TimerWheel, CancelAfterFiringIsANoOp) {
  TimerWheel wheel(0);
  Probe p(wheel), q(wheel);
  wheel.add(&p.node, 5);
  wheel.add(&q.node, 10);
  wheel.advance(5);
  wheel.cancel(&p.node);
  EXPECT_EQ(wheel.size(), 1u);
}

TEST(TimerWheel, AddingAnArmedNodeAgainMovesItEarlier) {
  TimerWheel wheel(0);
  Probe p(wheel);
  wheel.add(&p.node, 100000);
  wheel.add(&p.node, 50);
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.advance(200000), 1u);
  EXPECT_EQ(p.fires, 1);
  EXPECT_EQ(p.fired_at, 50u);
}

TEST(TimerWheel, AddingAnArmedNodeAgainMovesItLater) {
  TimerWheel wheel(0);
  Probe p(wheel);
  wheel.add(&p.node, 50);
  wheel.add(&p.node, 100000);
  EXPECT_EQ(wheel.size(), 1u);
  wheel.advance(99999);
  EXPECT_EQ(p.fires, 0);
  wheel.advance(200000);
  EXPECT_EQ(p.fires, 1);
  EXPECT_EQ(p.fired_at, 100000u);
}

// ---- callbacks that touch the wheel ----------------------------------------

void rearm_self(Probe* p) {
  if (p->rearm_times-- > 0)
    p->wheel->add(&p->node, p->wheel->current() + p->rearm_delay);
}

TEST(TimerWheel, CallbackReArmingItsOwnNodeFiresAgainAtTheNewTime) {
  TimerWheel wheel(0);
  Probe p(wheel);
  p.then = &rearm_self;
  p.rearm_delay = 300;  // crosses a near block each time
  p.rearm_times = 2;
  wheel.add(&p.node, 10);
  wheel.advance(100000);
  EXPECT_EQ(p.ticks, (std::vector<uint64_t>{10, 310, 610}));
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, CallbackReArmingForOneTickLaterFiresOnTheNextTick) {
  TimerWheel wheel(0);
  Probe p(wheel);
  p.then = &rearm_self;
  p.rearm_delay = 1;
  p.rearm_times = 3;
  wheel.add(&p.node, 254);  // 255 and 256 straddle a near block
  wheel.advance(1000);
  EXPECT_EQ(p.ticks, (std::vector<uint64_t>{254, 255, 256, 257}));
}

// A timer that keeps re-arming itself for "now" must not spin inside one
// advance(): it fires once per advance() call.
TEST(TimerWheel, CallbackReArmingForTheCurrentTickFiresOncePerAdvance) {
  TimerWheel wheel(0);
  Probe p(wheel);
  p.then = &rearm_self;
  p.rearm_delay = 0;
  p.rearm_times = 1000;
  wheel.add(&p.node, 0);
  EXPECT_EQ(wheel.advance(0), 1u);
  EXPECT_EQ(p.fires, 1);
  EXPECT_TRUE(p.node.armed());
  EXPECT_EQ(wheel.advance(0), 1u);
  EXPECT_EQ(p.fires, 2);
}

void rearm_now(Probe* p) {
  if (p->rearm_times-- > 0) p->wheel->add(&p->node, p->wheel->current());
}

// A callback that re-arms for the tick already reached (a "run again now"),
// several times in a row: every link fires, none before the tick it was
// armed for, and all within the same advance(). (A link armed from the
// last due pass of a tick runs in the next tick's pass: at most one late.)
TEST(TimerWheel, ChainOfReArmsForTheCurrentTickIsNeverLostNorEarly) {
  TimerWheel wheel(0);
  Probe p(wheel);
  p.then = &rearm_now;
  p.rearm_times = 3;
  wheel.add(&p.node, 10);
  wheel.advance(100);
  ASSERT_EQ(p.ticks.size(), 4u);
  uint64_t prev = 10;
  for (uint64_t t : p.ticks) {
    EXPECT_GE(t, prev);
    EXPECT_LE(t, prev + 1);
    prev = t;
  }
  EXPECT_EQ(wheel.size(), 0u);
}

void cancel_other(Probe* p) { p->wheel->cancel(&p->other->node); }

TEST(TimerWheel, CallbackCancellingATimerDueInTheSameTickPreventsIt) {
  TimerWheel wheel(0);
  Probe a(wheel, 1), b(wheel, 2);
  // Whichever fires first cancels the other.
  a.then = b.then = &cancel_other;
  a.other = &b;
  b.other = &a;
  wheel.add(&a.node, 40);
  wheel.add(&b.node, 40);
  EXPECT_EQ(wheel.advance(100), 1u);
  EXPECT_EQ(a.fires + b.fires, 1);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, CallbackCancellingALaterTimerPreventsIt) {
  TimerWheel wheel(0);
  Probe a(wheel, 1), b(wheel, 2);
  a.then = &cancel_other;
  a.other = &b;
  wheel.add(&a.node, 40);
  wheel.add(&b.node, 70000);
  wheel.advance(100000);
  EXPECT_EQ(a.fires, 1);
  EXPECT_EQ(b.fires, 0);
  EXPECT_EQ(wheel.size(), 0u);
}

void add_other_now(Probe* p) {
  p->wheel->add(&p->other->node, p->wheel->current());
}

TEST(TimerWheel, TimerAddedByCallbackForTheCurrentTickFiresInTheSameAdvance) {
  TimerWheel wheel(0);
  Probe a(wheel, 1), b(wheel, 2);
  a.then = &add_other_now;
  a.other = &b;
  wheel.add(&a.node, 40);
  EXPECT_EQ(wheel.advance(40), 2u);
  EXPECT_EQ(b.fired_at, 40u);
}

// ---- due timers and next_timeout ------------------------------------------

TEST(TimerWheel, AddAtOrBeforeCurrentFiresOnNextAdvance) {
  TimerWheel wheel(0);
  wheel.advance(1000);
  Probe now_p(wheel, 1), past_p(wheel, 2);
  wheel.add(&now_p.node, 1000);
  wheel.add(&past_p.node, 3);
  EXPECT_EQ(now_p.fires + past_p.fires, 0);  // not from add() itself
  EXPECT_EQ(wheel.advance(1000), 2u);         // no time needs to pass
  EXPECT_EQ(now_p.fired_at, 1000u);
  EXPECT_EQ(past_p.fired_at, 1000u);
}

TEST(TimerWheel, NextTimeoutIsMaxWhenEmpty) {
  TimerWheel wheel(0);
  EXPECT_EQ(wheel.next_timeout(), UINT64_MAX);
  Probe p(wheel);
  wheel.add(&p.node, 10);
  wheel.advance(10);
  EXPECT_EQ(wheel.next_timeout(), UINT64_MAX);
}

TEST(TimerWheel, NextTimeoutIsExactForNearTimer) {
  TimerWheel wheel(0);
  wheel.advance(100);
  Probe a(wheel, 1), b(wheel, 2);
  wheel.add(&b.node, 200);
  wheel.add(&a.node, 130);
  EXPECT_EQ(wheel.next_timeout(), 30u);
  wheel.advance(110);
  EXPECT_EQ(wheel.next_timeout(), 20u);
  wheel.advance(130);
  EXPECT_EQ(wheel.next_timeout(), 70u);
}

TEST(TimerWheel, NextTimeoutForgetsCancelledNearTimers) {
  TimerWheel wheel(0);
  wheel.advance(100);
  Probe a(wheel, 1), b(wheel, 2), far(wheel, 3);
  wheel.add(&a.node, 110);
  wheel.add(&b.node, 190);
  wheel.add(&far.node, 100 + 100000);  // in a level, not the near wheel
  EXPECT_EQ(wheel.next_timeout(), 10u);
  wheel.cancel(&a.node);
  EXPECT_EQ(wheel.next_timeout(), 90u);
  wheel.cancel(&b.node);
  EXPECT_EQ(wheel.next_timeout(), 256u - 100u);  // up to the next cascade
}

TEST(TimerWheel, NextTimeoutSeesATimerReArmedIntoTheSlotBeingFired) {
  TimerWheel wheel(0);
  Probe p(wheel, 1);
  p.then = [](Probe* self) {
    self->wheel->add(&self->node, self->wheel->current() + 64);
  };
  wheel.add(&p.node, 10);
  wheel.advance(10);
  ASSERT_EQ(p.fires, 1);
  EXPECT_EQ(wheel.next_timeout(), 64u);
}

TEST(TimerWheel, NextTimeoutIsExactForTimerInNextNearBlock) {
  TimerWheel wheel(0);
  wheel.advance(250);
  Probe p(wheel);
  wheel.add(&p.node, 260);  // lives in level 0 until the cascade at 256
  uint64_t t = wheel.next_timeout();
  EXPECT_GT(t, 0u);
  EXPECT_LE(t, 10u);
}

TEST(TimerWheel, NextTimeoutIsZeroWhenATimerIsDue) {
  TimerWheel wheel(0);
  wheel.advance(500);
  Probe far(wheel, 1), due(wheel, 2);
  wheel.add(&far.node, 100000);
  wheel.add(&due.node, 500);
  EXPECT_EQ(wheel.next_timeout(), 0u);
}

// The loop's pattern: sleep next_timeout() ticks, advance, repeat. It must
// never sleep past a timer, however far away the timer starts.
TEST(TimerWheel, AdvancingByNextTimeoutNeverOvershootsAFarTimer) {
  TimerWheel wheel(7);
  Probe p(wheel);
  const uint64_t expire = 7 + (uint64_t{1} << 20) + 5;
  wheel.add(&p.node, expire);
  int steps = 0;
  while (p.fires == 0 && steps < 100000) {
    uint64_t t = wheel.next_timeout();
    ASSERT_NE(t, UINT64_MAX);
    ASSERT_GT(t, 0u);
    ASSERT_LE(wheel.current() + t, expire);
    wheel.advance(wheel.current() + t);
    ++steps;
  }
  EXPECT_EQ(p.fired_at, expire);
}

// ---- bookkeeping and scale -------------------------------------------------

TEST(TimerWheel, SizeCountsArmedTimers) {
  TimerWheel wheel(0);
  Probe a(wheel, 1), b(wheel, 2), c(wheel, 3);
  EXPECT_EQ(wheel.size(), 0u);
  wheel.add(&a.node, 10);
  wheel.add(&b.node, 1000);
  wheel.add(&c.node, 100000);
  EXPECT_EQ(wheel.size(), 3u);
  wheel.add(&b.node, 2000);  // re-arm: still one timer
  EXPECT_EQ(wheel.size(), 3u);
  wheel.cancel(&c.node);
  EXPECT_EQ(wheel.size(), 2u);
  wheel.advance(10);
  EXPECT_EQ(wheel.size(), 1u);
  wheel.advance(2000);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheel, DestructorDisarmsNodesStillArmed) {
  std::unique_ptr<Probe> due, near, far;
  {
    TimerWheel wheel(0);
    due = std::make_unique<Probe>(wheel, 1);
    near = std::make_unique<Probe>(wheel, 2);
    far = std::make_unique<Probe>(wheel, 3);
    wheel.add(&due->node, 0);
    wheel.add(&near->node, 100);
    wheel.add(&far->node, 100000);
  }
  EXPECT_FALSE(due->node.armed());
  EXPECT_FALSE(near->node.armed());
  EXPECT_FALSE(far->node.armed());
}

TEST(TimerWheel, HundredThousandRandomTimersEachFireOnceAtTheirTick) {
  constexpr size_t kN = 100000;
  const uint64_t start = 987654;  // unaligned at every level
  TimerWheel wheel(start);
  std::mt19937_64 rng(42);
  std::vector<std::unique_ptr<Probe>> probes;
  std::vector<uint64_t> expire(kN);
  std::vector<int> log;
  log.reserve(kN);
  uint64_t last = start;
  for (size_t i = 0; i < kN; ++i) {
    uint64_t r = rng() % 10;
    uint64_t span = r < 5 ? 600 : r < 8 ? (uint64_t{1} << 16)
                                        : (uint64_t{1} << 22);
    expire[i] = start + rng() % span;  // delay 0 included
    last = std::max(last, expire[i]);
    probes.push_back(std::make_unique<Probe>(wheel, static_cast<int>(i)));
    probes.back()->log = &log;
    wheel.add(&probes.back()->node, expire[i]);
  }
  ASSERT_EQ(wheel.size(), kN);

  size_t fired = 0;
  while (wheel.current() < last + 1)
    fired += wheel.advance(wheel.current() + 1 + rng() % 5000);
  EXPECT_EQ(fired, kN);
  EXPECT_EQ(wheel.size(), 0u);
  ASSERT_EQ(log.size(), kN);

  size_t wrong = 0;
  for (size_t i = 0; i < kN; ++i)
    if (probes[i]->fires != 1 || probes[i]->fired_at != expire[i]) ++wrong;
  EXPECT_EQ(wrong, 0u);
  for (size_t k = 1; k < kN; ++k)
    ASSERT_LE(expire[static_cast<size_t>(log[k - 1])],
              expire[static_cast<size_t>(log[k])])
        << "out of order at " << k;
}

// Re-arming from callbacks places timers relative to every possible
// current(), not just the start: each one must still fire at its tick.
std::mt19937_64* g_rearm_rng = nullptr;
std::vector<uint64_t>* g_rearm_want = nullptr;  // indexed by probe id * 8 + n

void rearm_random(Probe* p) {
  if (p->rearm_times-- <= 0) return;
  uint64_t r = (*g_rearm_rng)() % 4;
  uint64_t span = r == 0 ? 2 : r == 1 ? 300 : r == 2 ? 20000 : 300000;
  // At least one tick ahead; delay 0 is ChainOfReArmsForTheCurrentTick...
  uint64_t expire = p->wheel->current() + 1 + (*g_rearm_rng)() % span;
  (*g_rearm_want)[static_cast<size_t>(p->id) * 8 + p->ticks.size()] = expire;
  p->wheel->add(&p->node, expire);
}

TEST(TimerWheel, TimersReArmedFromCallbacksWithRandomDelaysFireAtTheirTicks) {
  constexpr int kN = 10000;
  constexpr int kRearms = 5;
  TimerWheel wheel(4242);
  std::mt19937_64 rng(99);
  std::vector<uint64_t> want(static_cast<size_t>(kN) * 8, kNever);
  g_rearm_rng = &rng;
  g_rearm_want = &want;
  std::vector<std::unique_ptr<Probe>> probes;
  for (int i = 0; i < kN; ++i) {
    probes.push_back(std::make_unique<Probe>(wheel, i));
    Probe& p = *probes.back();
    p.then = &rearm_random;
    p.rearm_times = kRearms;
    uint64_t expire = 4242 + rng() % 5000;
    want[static_cast<size_t>(i) * 8] = expire;
    wheel.add(&p.node, expire);
  }
  while (wheel.size() > 0) wheel.advance(wheel.current() + 1 + rng() % 3000);
  g_rearm_rng = nullptr;
  g_rearm_want = nullptr;

  size_t wrong = 0;
  for (int i = 0; i < kN; ++i) {
    const Probe& p = *probes[static_cast<size_t>(i)];
    if (p.ticks.size() != kRearms + 1) {
      ++wrong;
      continue;
    }
    for (size_t k = 0; k < p.ticks.size(); ++k)
      if (p.ticks[k] != want[static_cast<size_t>(i) * 8 + k]) ++wrong;
  }
  EXPECT_EQ(wrong, 0u);
}

TEST(TimerWheel, HundredThousandAddsThenCancelsLeaveItEmpty) {
  constexpr size_t kN = 100000;
  TimerWheel wheel(0);
  std::mt19937_64 rng(7);
  std::vector<std::unique_ptr<Probe>> probes;
  for (size_t i = 0; i < kN; ++i) {
    probes.push_back(std::make_unique<Probe>(wheel, static_cast<int>(i)));
    wheel.add(&probes.back()->node, 1 + rng() % (uint64_t{1} << 24));
  }
  std::vector<size_t> order(kN);
  std::iota(order.begin(), order.end(), size_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t i : order) wheel.cancel(&probes[i]->node);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.next_timeout(), UINT64_MAX);
  EXPECT_EQ(wheel.advance(uint64_t{1} << 24), 0u);
}

}  // namespace
}  // namespace hazel
