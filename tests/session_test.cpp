// Specification of Sessions (src/session.h): every session is completed
// exactly once — by its reply, by its deadline (TIMEOUT) or by its callee
// going away (UNAVAILABLE) — and a stale handle can never touch the next
// session that reuses its slot. Driven by a fake clock and a fake reply sink.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "hazel/service.h"
#include "session.h"
#include "timer_wheel.h"

namespace hazel_session_spec {
namespace {

using hazel::CallCallback;
using hazel::ClientId;
using hazel::Status;
using hazel::TimerWheel;
using Table = hazel::detail::Sessions;
using Kind = hazel::detail::Sessions::Kind;

struct Sent {
  ClientId client;
  uint16_t service;
  uint32_t session;
  Status status;
  std::string body;
  bool async;
};

// Records every REPLY; clients listed in `gone` have disconnected.
class FakeSink final : public hazel::detail::ReplySink {
 public:
  bool send_reply(ClientId client, uint16_t service, uint32_t session,
                  Status status, std::string_view body, bool async) override {
    if (gone.count(client)) {
      ++refused;
      return false;
    }
    sent.push_back(
        {client, service, session, status, std::string(body), async});
    return true;
  }

  void on_async_request(ClientId client) override {
    async_clients.push_back(client);
  }

  void on_async_send_done(ClientId client) override {
    sends_done.push_back(client);
  }
  std::vector<ClientId> sends_done;

  void on_remote_answered(ClientId client) override {
    remote_answered.push_back(client);
  }
  std::vector<ClientId> remote_answered;

  void send_peer_reply(uint16_t worker, uint32_t slot, uint32_t gen,
                       Status status, std::string_view body) override {
    peer_replies.push_back({worker, slot, gen, status, std::string(body)});
  }

  struct PeerReply {
    uint16_t worker;
    uint32_t slot;
    uint32_t gen;
    Status status;
    std::string body;
  };
  std::vector<PeerReply> peer_replies;

  std::vector<Sent> sent;
  std::set<ClientId> gone;
  std::vector<ClientId> async_clients;
  int refused = 0;
};

struct CallResult {
  int calls = 0;
  Status status = Status::kInternal;
  std::string body;
};

CallCallback record(CallResult* r) {
  return [r](Status status, std::string_view body) {
    ++r->calls;
    r->status = status;
    r->body = std::string(body);
  };
}

constexpr uint16_t kCallee = 7;
constexpr uint16_t kOtherCallee = 8;

class Sessions : public testing::Test {
 protected:
  void advance_to(uint64_t t) {
    now = t;
    wheel.advance(now);
  }
  void use_cap(uint32_t cap) {
    table = std::make_unique<Table>(wheel, now, sink, cap);
  }

  TimerWheel wheel{0};
  uint64_t now = 0;
  FakeSink sink;
  std::unique_ptr<Table> table = std::make_unique<Table>(wheel, now, sink, 64);
};

// ---- reply, timeout, late reply ---------------------------------------------

TEST_F(Sessions, ReplyBeforeDeadlineRunsCallbackOnceWithOkAndBody) {
  CallResult r;
  auto h = table->open_call(nullptr, kCallee, record(&r));
  table->arm(h, 100);
  advance_to(50);
  EXPECT_TRUE(table->complete(h, Status::kOk, "pong"));
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(r.body, "pong");
  advance_to(1000);
  EXPECT_EQ(r.calls, 1);
}

TEST_F(Sessions, ReplyBeforeDeadlineDisarmsTheDeadline) {
  CallResult r;
  auto h = table->open_call(nullptr, kCallee, record(&r));
  table->arm(h, 100);
  EXPECT_EQ(table->armed(), 1u);
  ASSERT_TRUE(table->complete(h, Status::kOk, "pong"));
  EXPECT_EQ(table->armed(), 0u);
  EXPECT_EQ(table->live(), 0u);
  EXPECT_EQ(wheel.size(), 0u);
  advance_to(1000);
  EXPECT_EQ(table->timed_out(), 0u);
}

TEST_F(Sessions, NoReplyTimesOutAtTheDeadlineNotBefore) {
  advance_to(1000);
  CallResult r;
  auto h = table->open_call(nullptr, kCallee, record(&r));
  table->arm(h, 100);  // deadline: now + 100 = 1100
  advance_to(1099);
  EXPECT_EQ(r.calls, 0);
  EXPECT_TRUE(table->pending(h));
  advance_to(1100);
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(r.status, Status::kTimeout);
  EXPECT_FALSE(table->pending(h));
  EXPECT_EQ(table->timed_out(), 1u);
  EXPECT_EQ(table->armed(), 0u);
  EXPECT_EQ(table->live(), 0u);
}

TEST_F(Sessions, TimeoutRunsCallbackOnlyOnce) {
  CallResult r;
  auto h = table->open_call(nullptr, kCallee, record(&r));
  table->arm(h, 100);
  advance_to(100);
  advance_to(100000);
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(table->timed_out(), 1u);
}

TEST_F(Sessions, ReplyAfterTimeoutIsDroppedAndCounted) {
  CallResult r;
  auto h = table->open_call(nullptr, kCallee, record(&r));
  table->arm(h, 100);
  advance_to(100);
  ASSERT_EQ(r.calls, 1);
  EXPECT_FALSE(table->complete(h, Status::kOk, "too late"));
  EXPECT_EQ(table->dropped(), 1u);
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(r.status, Status::kTimeout);
}

TEST_F(Sessions, SecondCompletionIsDroppedAndCounted) {
  CallResult r;
  auto h = table->open_call(nullptr, kCallee, record(&r));
  ASSERT_TRUE(table->complete(h, Status::kOk, "first"));
  EXPECT_FALSE(table->complete(h, Status::kOk, "second"));
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(r.body, "first");
  EXPECT_EQ(table->dropped(), 1u);
}

TEST_F(Sessions, ReArmingMovesTheDeadlineAndCountsOnce) {
  CallResult r;
  auto h = table->open_call(nullptr, kCallee, record(&r));
  table->arm(h, 100);
  table->arm(h, 500);
  EXPECT_EQ(table->armed(), 1u);
  advance_to(499);
  EXPECT_EQ(r.calls, 0);
  advance_to(500);
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(table->armed(), 0u);
}

TEST_F(Sessions, UnarmedSessionNeverTimesOut) {
  CallResult r;
  auto h = table->open_call(nullptr, kCallee, record(&r));
  advance_to(1000000);
  EXPECT_EQ(r.calls, 0);
  EXPECT_TRUE(table->pending(h));
  EXPECT_EQ(table->armed(), 0u);
}

// ---- callee going away -------------------------------------------------------

TEST_F(Sessions, FailCalleeFailsEachPendingCallToItOnceWithUnavailable) {
  CallResult a, b;
  auto ha = table->open_call(nullptr, kCallee, record(&a));
  auto hb = table->open_call(nullptr, kCallee, record(&b));
  table->arm(ha, 100);
  table->fail_callee(kCallee);
  EXPECT_EQ(a.calls, 1);
  EXPECT_EQ(a.status, Status::kUnavailable);
  EXPECT_EQ(b.calls, 1);
  EXPECT_EQ(b.status, Status::kUnavailable);
  EXPECT_FALSE(table->pending(ha));
  EXPECT_FALSE(table->pending(hb));

  table->fail_callee(kCallee);  // nothing left to fail
  advance_to(1000);             // and no deadline left to fire
  EXPECT_EQ(a.calls, 1);
  EXPECT_EQ(b.calls, 1);
  EXPECT_EQ(table->timed_out(), 0u);
  EXPECT_EQ(table->armed(), 0u);
  EXPECT_EQ(table->live(), 0u);
}

TEST_F(Sessions, FailCalleeLeavesCallsToOtherServicesPending) {
  CallResult mine, other;
  table->open_call(nullptr, kCallee, record(&mine));
  auto ho = table->open_call(nullptr, kOtherCallee, record(&other));
  table->arm(ho, 100);
  table->fail_callee(kCallee);
  EXPECT_EQ(mine.calls, 1);
  EXPECT_EQ(other.calls, 0);
  EXPECT_TRUE(table->pending(ho));
  EXPECT_EQ(table->armed(), 1u);
  advance_to(100);  // its own deadline still works
  EXPECT_EQ(other.calls, 1);
  EXPECT_EQ(other.status, Status::kTimeout);
}

TEST_F(Sessions, FailCalleeAnswersPendingClientRequestsToItWithUnavailable) {
  table->open_client(Kind::kClientRequest, 42, kCallee, 9);
  table->open_client(Kind::kClientRequest, 43, kOtherCallee, 10);
  table->fail_callee(kCallee);
  ASSERT_EQ(sink.sent.size(), 1u);
  EXPECT_EQ(sink.sent[0].client, 42u);
  EXPECT_EQ(sink.sent[0].session, 9u);
  EXPECT_EQ(sink.sent[0].status, Status::kUnavailable);
  EXPECT_EQ(table->live(), 1u);
}

TEST_F(Sessions, ReplyAfterFailCalleeIsDropped) {
  CallResult r;
  auto h = table->open_call(nullptr, kCallee, record(&r));
  table->fail_callee(kCallee);
  EXPECT_FALSE(table->complete(h, Status::kOk, "late"));
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(table->dropped(), 1u);
}

// ---- stale handles -----------------------------------------------------------

TEST_F(Sessions, StaleHandleNeverCompletesTheSlotsNextSession) {
  CallResult first, second;
  auto old_h = table->open_call(nullptr, kCallee, record(&first));
  ASSERT_TRUE(table->complete(old_h, Status::kOk, "done"));
  auto new_h = table->open_call(nullptr, kCallee, record(&second));
  ASSERT_EQ(new_h.slot, old_h.slot);  // the slot was reused
  ASSERT_NE(new_h.gen, old_h.gen);

  EXPECT_FALSE(table->complete(old_h, Status::kOk, "stale"));
  EXPECT_EQ(second.calls, 0);
  EXPECT_TRUE(table->pending(new_h));
  EXPECT_FALSE(table->pending(old_h));
  EXPECT_EQ(table->dropped(), 1u);
}

TEST_F(Sessions, LateReplyAfterTimeoutNeverCompletesTheSlotsNextSession) {
  CallResult first, second;
  auto old_h = table->open_call(nullptr, kCallee, record(&first));
  table->arm(old_h, 10);
  advance_to(10);
  ASSERT_EQ(first.status, Status::kTimeout);
  auto new_h = table->open_call(nullptr, kCallee, record(&second));
  ASSERT_EQ(new_h.slot, old_h.slot);

  EXPECT_FALSE(table->complete(old_h, Status::kOk, "late"));
  EXPECT_EQ(second.calls, 0);
  EXPECT_TRUE(table->pending(new_h));
  EXPECT_TRUE(table->complete(new_h, Status::kOk, "fresh"));
  EXPECT_EQ(second.body, "fresh");
}

TEST_F(Sessions, ArmWithAStaleHandleDoesNothing) {
  CallResult first, second;
  auto old_h = table->open_call(nullptr, kCallee, record(&first));
  ASSERT_TRUE(table->complete(old_h, Status::kOk, ""));
  auto new_h = table->open_call(nullptr, kCallee, record(&second));
  ASSERT_EQ(new_h.slot, old_h.slot);
  table->arm(old_h, 10);
  EXPECT_EQ(table->armed(), 0u);
  advance_to(100);
  EXPECT_EQ(second.calls, 0);
}

TEST_F(Sessions, HandleWithSlotNoneIsNeverPending) {
  Table::Handle none;
  EXPECT_FALSE(table->pending(none));
  EXPECT_FALSE(table->complete(none, Status::kOk, ""));
  EXPECT_EQ(table->dropped(), 1u);
}

// ---- cap -----------------------------------------------------------------------

TEST_F(Sessions, OpenReturnsSlotNoneWhenTheCapIsReached) {
  use_cap(2);
  CallResult r;
  EXPECT_NE(table->open_call(nullptr, kCallee, record(&r)).slot, Table::kNone);
  EXPECT_NE(table->open_client(Kind::kClientRequest, 1, kCallee, 1).slot,
            Table::kNone);
  EXPECT_EQ(table->open_call(nullptr, kCallee, record(&r)).slot, Table::kNone);
  EXPECT_EQ(table->open_client(Kind::kClientRequest, 1, kCallee, 2).slot,
            Table::kNone);
  EXPECT_EQ(table->open_client(Kind::kClientSend, 1, kCallee, 3).slot,
            Table::kNone);
  EXPECT_EQ(table->live(), 2u);
  EXPECT_EQ(r.calls, 0);  // a refused call's callback is not run by open
}

TEST_F(Sessions, CompletingASessionAtTheCapMakesRoomForAnother) {
  use_cap(1);
  CallResult r;
  auto h = table->open_call(nullptr, kCallee, record(&r));
  ASSERT_EQ(table->open_call(nullptr, kCallee, record(&r)).slot, Table::kNone);
  ASSERT_TRUE(table->complete(h, Status::kOk, ""));
  EXPECT_NE(table->open_call(nullptr, kCallee, record(&r)).slot, Table::kNone);
}

// ---- scale ---------------------------------------------------------------------

TEST_F(Sessions, HundredThousandTimedOutCallsLeaveNothingLive) {
  constexpr uint32_t kN = 100000;
  use_cap(kN);
  std::vector<int> calls(kN, 0);
  std::vector<int> timeouts(kN, 0);
  std::mt19937 rng(1234);
  for (uint32_t i = 0; i < kN; ++i) {
    int* c = &calls[i];
    int* t = &timeouts[i];
    auto h = table->open_call(nullptr, kCallee, [c, t](Status status, std::string_view) {
      ++*c;
      if (status == Status::kTimeout) ++*t;
    });
    ASSERT_NE(h.slot, Table::kNone) << i;
    table->arm(h, static_cast<uint32_t>(1 + rng() % 20000));
  }
  EXPECT_EQ(table->live(), kN);
  EXPECT_EQ(table->armed(), kN);

  for (uint64_t t = 0; t <= 20000; t += 997) advance_to(t);
  advance_to(20001);

  EXPECT_EQ(table->live(), 0u);
  EXPECT_EQ(table->armed(), 0u);
  EXPECT_EQ(table->timed_out(), kN);
  EXPECT_EQ(wheel.size(), 0u);
  size_t not_once = 0;
  for (uint32_t i = 0; i < kN; ++i)
    if (calls[i] != 1 || timeouts[i] != 1) ++not_once;
  EXPECT_EQ(not_once, 0u);
}

TEST_F(Sessions, TimedOutSlotsAreReusedSoMemoryDoesNotGrow) {
  constexpr uint32_t kN = 100000;
  use_cap(kN);
  for (int round = 0; round < 3; ++round) {
    for (uint32_t i = 0; i < kN; ++i) {
      auto h = table->open_call(nullptr, kCallee, [](Status, std::string_view) {});
      ASSERT_NE(h.slot, Table::kNone);
      table->arm(h, 100);
    }
    advance_to(now + 101);
    EXPECT_EQ(table->live(), 0u);
    // The first round allocated kN slots; later rounds only reuse them.
    EXPECT_EQ(table->slots(), kN) << "round " << round;
  }
}

// ---- client sessions -----------------------------------------------------------

TEST_F(Sessions, ClientRequestCompletionRepliesToTheClient) {
  auto h = table->open_client(Kind::kClientRequest, 42, 3, 77);
  ASSERT_TRUE(table->complete(h, Status::kNotFound, "no such key"));
  ASSERT_EQ(sink.sent.size(), 1u);
  EXPECT_EQ(sink.sent[0].client, 42u);
  EXPECT_EQ(sink.sent[0].service, 3u);
  EXPECT_EQ(sink.sent[0].session, 77u);
  EXPECT_EQ(sink.sent[0].status, Status::kNotFound);
  EXPECT_EQ(sink.sent[0].body, "no such key");
  EXPECT_EQ(table->dropped(), 0u);
}

TEST_F(Sessions, ClientRequestTimeoutRepliesTimeoutToTheClient) {
  auto h = table->open_client(Kind::kClientRequest, 42, 3, 77);
  table->arm(h, 30);
  advance_to(29);
  EXPECT_TRUE(sink.sent.empty());
  advance_to(30);
  ASSERT_EQ(sink.sent.size(), 1u);
  EXPECT_EQ(sink.sent[0].client, 42u);
  EXPECT_EQ(sink.sent[0].session, 77u);
  EXPECT_EQ(sink.sent[0].status, Status::kTimeout);
  EXPECT_EQ(table->timed_out(), 1u);
}

TEST_F(Sessions, ReplyToAGoneClientIsCountedDropped) {
  auto h = table->open_client(Kind::kClientRequest, 42, 3, 77);
  sink.gone.insert(42);
  table->complete(h, Status::kOk, "nobody listens");
  EXPECT_EQ(sink.refused, 1);
  EXPECT_TRUE(sink.sent.empty());
  EXPECT_EQ(table->dropped(), 1u);
  EXPECT_EQ(table->live(), 0u);
}

TEST_F(Sessions, ClientSendNeverRepliesToTheClient) {
  auto ok = table->open_client(Kind::kClientSend, 42, 3, 0);
  auto bad = table->open_client(Kind::kClientSend, 42, 3, 0);
  ASSERT_TRUE(table->complete(ok, Status::kOk, "discarded"));
  ASSERT_TRUE(table->complete(bad, Status::kNoOp, "discarded"));
  EXPECT_TRUE(sink.sent.empty());
  EXPECT_EQ(sink.refused, 0);
}

TEST_F(Sessions, ClientSendWithAnErrorStatusCountsInSendErrors) {
  auto ok = table->open_client(Kind::kClientSend, 42, 3, 0);
  ASSERT_TRUE(table->complete(ok, Status::kOk, ""));
  EXPECT_EQ(table->send_errors(), 0u);
  auto bad = table->open_client(Kind::kClientSend, 42, 3, 0);
  ASSERT_TRUE(table->complete(bad, Status::kInternal, "boom"));
  EXPECT_EQ(table->send_errors(), 1u);
}

// A client request still pending when its handler returns is armed: that
// makes it asynchronous, which the sink hears once, and its reply says so.
TEST_F(Sessions, ArmingAClientRequestReportsItAsynchronousOnce) {
  auto h = table->open_client(Kind::kClientRequest, 42, 3, 77);
  table->arm(h, 100);
  table->arm(h, 200);  // a re-arm is not a second async request
  EXPECT_EQ(sink.async_clients, (std::vector<ClientId>{42}));
  ASSERT_TRUE(table->complete(h, Status::kOk, "later"));
  ASSERT_EQ(sink.sent.size(), 1u);
  EXPECT_TRUE(sink.sent[0].async);
}

TEST_F(Sessions, ClientRequestAnsweredBeforeArmingIsNotAsynchronous) {
  auto h = table->open_client(Kind::kClientRequest, 42, 3, 77);
  ASSERT_TRUE(table->complete(h, Status::kOk, "at once"));
  ASSERT_EQ(sink.sent.size(), 1u);
  EXPECT_FALSE(sink.sent[0].async);
  EXPECT_TRUE(sink.async_clients.empty());
}

TEST_F(Sessions, AsynchronousClientRequestTimeoutReplyIsAsynchronous) {
  auto h = table->open_client(Kind::kClientRequest, 42, 3, 77);
  table->arm(h, 10);
  advance_to(10);
  ASSERT_EQ(sink.sent.size(), 1u);
  EXPECT_EQ(sink.sent[0].status, Status::kTimeout);
  EXPECT_TRUE(sink.sent[0].async);
}

TEST_F(Sessions, ArmingACallReportsNothingAsynchronous) {
  CallResult r;
  table->arm(table->open_call(nullptr, kCallee, record(&r)), 100);
  EXPECT_TRUE(sink.async_clients.empty());
}

// A SEND answered later holds a session like a REQUEST: it counts against
// its client's cap until it is answered.
TEST_F(Sessions, ArmedSendIsReportedAsynchronousAndDoneWhenAnswered) {
  auto h = table->open_client(Kind::kClientSend, 42, 3, 0);
  table->arm(h, 100);
  ASSERT_EQ(sink.async_clients, std::vector<ClientId>{42});
  EXPECT_TRUE(sink.sends_done.empty());
  ASSERT_TRUE(table->complete(h, Status::kOk, ""));
  EXPECT_EQ(sink.sends_done, std::vector<ClientId>{42});
  EXPECT_TRUE(sink.sent.empty());  // a SEND never gets a REPLY
}

TEST_F(Sessions, ArmedSendTimingOutIsDoneToo) {
  table->arm(table->open_client(Kind::kClientSend, 42, 3, 0), 10);
  advance_to(10);
  EXPECT_EQ(sink.sends_done, std::vector<ClientId>{42});
}

TEST_F(Sessions, SlotReusedAfterAnAsynchronousRequestStartsSynchronous) {
  auto old_h = table->open_client(Kind::kClientRequest, 42, 3, 1);
  table->arm(old_h, 100);
  ASSERT_TRUE(table->complete(old_h, Status::kOk, ""));
  auto new_h = table->open_client(Kind::kClientRequest, 43, 3, 2);
  ASSERT_EQ(new_h.slot, old_h.slot);
  ASSERT_TRUE(table->complete(new_h, Status::kOk, ""));
  ASSERT_EQ(sink.sent.size(), 2u);
  EXPECT_FALSE(sink.sent[1].async);
}

// ---- re-entrancy ---------------------------------------------------------------

TEST_F(Sessions, CallbackOpeningASessionFromInsideItselfWorks) {
  CallResult inner;
  Table::Handle inner_h;
  Table::Handle outer_h;
  int outer_calls = 0;
  Table* t = table.get();
  outer_h = t->open_call(nullptr, kCallee, [&](Status, std::string_view) {
    ++outer_calls;
    inner_h = t->open_call(nullptr, kCallee, record(&inner));
    t->arm(inner_h, 50);
  });
  ASSERT_TRUE(t->complete(outer_h, Status::kOk, "outer"));
  EXPECT_EQ(outer_calls, 1);
  // The outer slot is freed before its callback runs, so the inner session
  // reuses it: the case a stale handle must not confuse.
  ASSERT_EQ(inner_h.slot, outer_h.slot);
  EXPECT_TRUE(t->pending(inner_h));
  EXPECT_FALSE(t->pending(outer_h));
  EXPECT_EQ(t->live(), 1u);
  EXPECT_EQ(t->armed(), 1u);

  EXPECT_FALSE(t->complete(outer_h, Status::kOk, "stale"));  // not inner's
  EXPECT_EQ(inner.calls, 0);
  EXPECT_TRUE(t->complete(inner_h, Status::kOk, "inner"));
  EXPECT_EQ(inner.body, "inner");
}

TEST_F(Sessions, TimeoutCallbackOpeningASessionFromInsideItselfWorks) {
  CallResult inner;
  Table::Handle inner_h;
  int outer_calls = 0;
  Table* t = table.get();
  auto outer_h = t->open_call(nullptr, kCallee, [&](Status status, std::string_view) {
    ++outer_calls;
    EXPECT_EQ(status, Status::kTimeout);
    inner_h = t->open_call(nullptr, kCallee, record(&inner));  // retry
    t->arm(inner_h, 100);
  });
  t->arm(outer_h, 10);
  advance_to(10);
  EXPECT_EQ(outer_calls, 1);
  EXPECT_TRUE(t->pending(inner_h));
  EXPECT_EQ(t->armed(), 1u);
  advance_to(109);
  EXPECT_EQ(inner.calls, 0);
  advance_to(110);
  EXPECT_EQ(inner.calls, 1);
  EXPECT_EQ(inner.status, Status::kTimeout);
  EXPECT_EQ(t->timed_out(), 2u);
  EXPECT_EQ(t->live(), 0u);
  EXPECT_EQ(t->armed(), 0u);
}

TEST_F(Sessions, CallbacksOpeningManySessionsWhileTheTableGrowsStaySafe) {
  // Each callback opens two more, forcing new slots (deque growth) while
  // completions are running; run under ASan this catches dangling slots.
  use_cap(100000);
  Table* t = table.get();
  std::vector<Table::Handle> queue;
  int ran = 0;
  std::function<void(Status, std::string_view)> spawn;
  spawn = [&](Status, std::string_view) {
    ++ran;
    if (queue.size() < 2000) {
      queue.push_back(t->open_call(nullptr, kCallee, spawn));
      queue.push_back(t->open_call(nullptr, kCallee, spawn));
    }
  };
  queue.push_back(t->open_call(nullptr, kCallee, spawn));
  size_t i = 0;
  while (i < queue.size()) {
    ASSERT_TRUE(t->complete(queue[i], Status::kOk, "")) << i;
    ++i;
  }
  EXPECT_EQ(static_cast<size_t>(ran), queue.size());
  EXPECT_EQ(t->live(), 0u);
}

// ---- teardown ------------------------------------------------------------------

TEST_F(Sessions, DestroyingTheTableUnlinksItsDeadlinesFromTheWheel) {
  CallResult r;
  auto h = table->open_call(nullptr, kCallee, record(&r));
  table->arm(h, 100);
  ASSERT_EQ(wheel.size(), 1u);
  table.reset();
  EXPECT_EQ(wheel.size(), 0u);
  advance_to(1000);  // nothing left to fire into freed memory
  EXPECT_EQ(r.calls, 0);
}

}  // namespace
// ---- other workers ------------------------------------------------------------

TEST_F(Sessions, PeerRequestAnswerGoesBackToTheAskingWorkerWithItsHandle) {
  auto h = table->open_peer(3, 41, 9, kCallee);
  ASSERT_TRUE(table->complete(h, Status::kOk, "done"));
  ASSERT_EQ(sink.peer_replies.size(), 1u);
  EXPECT_EQ(sink.peer_replies[0].worker, 3);
  EXPECT_EQ(sink.peer_replies[0].slot, 41u);
  EXPECT_EQ(sink.peer_replies[0].gen, 9u);
  EXPECT_EQ(sink.peer_replies[0].body, "done");
  EXPECT_TRUE(sink.sent.empty());
}

TEST_F(Sessions, PeerRequestTimesOutBackToTheAskingWorker) {
  auto h = table->open_peer(1, 5, 2, kCallee);
  table->arm(h, 100);
  advance_to(100);
  ASSERT_EQ(sink.peer_replies.size(), 1u);
  EXPECT_EQ(sink.peer_replies[0].status, Status::kTimeout);
}

TEST_F(Sessions, WorkerGoneFailsItsCallsUnavailableAtOnce) {
  CallResult to1, to2, local;
  table->arm(table->open_call(nullptr, kCallee, record(&to1), 1), 1000);
  table->arm(table->open_call(nullptr, kCallee, record(&to2), 2), 1000);
  table->arm(table->open_call(nullptr, kCallee, record(&local)), 1000);
  table->fail_worker(1);
  EXPECT_EQ(to1.calls, 1);
  EXPECT_EQ(to1.status, Status::kUnavailable);
  EXPECT_EQ(to2.calls, 0);
  EXPECT_EQ(local.calls, 0);
  EXPECT_EQ(table->live(), 2u);
}

TEST_F(Sessions, WorkerGoneForgetsTheRequestsItMade) {
  auto h = table->open_peer(1, 5, 2, kCallee);
  table->arm(h, 100);
  table->fail_worker(1);
  EXPECT_FALSE(table->pending(h));
  advance_to(1000);
  EXPECT_TRUE(sink.peer_replies.empty());
  EXPECT_EQ(table->live(), 0u);
}

TEST_F(Sessions, UnmountingALocalServiceLeavesCallsToItsNamesakeElsewhere) {
  CallResult remote, local;
  table->open_call(nullptr, kCallee, record(&remote), 1);
  table->open_call(nullptr, kCallee, record(&local));
  table->fail_callee(kCallee);
  EXPECT_EQ(local.calls, 1);
  EXPECT_EQ(local.status, Status::kUnavailable);
  EXPECT_EQ(remote.calls, 0);
}

}  // namespace hazel_session_spec
