// The embedder's service API over real sockets: client events by mask,
// asynchronous replies, dropped and timed-out replies, kick, push.
// Services run on the daemon thread; they record what they saw under a
// mutex and the test thread polls.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "hazel/service.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;

namespace {

// Ops of TestService.
enum Op : uint16_t {
  kAsync = 1,      // answers "late:<body>" from a 50 ms timer
  kDrop = 2,       // lets the Reply go unanswered
  kHold = 3,       // keeps the Reply forever
  kKick = 4,       // u64 id: kicks that client with reason "go away"
  kPush = 5,       // u64 id: pushes "hey" to it; replies u8 1/0 (push result)
  kAnswerAt = 6,   // keeps the Reply, answers it after 200 ms
  kUnmount = 7,    // unmounts `unmount_target` from `daemon`
  kBig = 8,        // answers max_frame + 1 bytes
  kBigPush = 9,    // pushes max_frame + 1 bytes to the caller; u8 result
  kCall = 10,      // u16 service, u16 op, u32 timeout_ms, body: ctx().call()
                   // it and answer "<status>:<body>"
};

class TestService : public Service {
 public:
  TestService(std::string name, uint16_t id, uint32_t events)
      : Service(std::move(name), id, events) {}

  // Held replies must be answered while the daemon still stands.
  void on_unmount() override { held_.clear(); }

  void on_event(Event ev, ClientId id) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      events_.emplace_back(ev, id);
    }
    if (ev == Event::kConnect && welcome.load())
      ctx().push(id, this->id(), 1, "welcome");
  }

  void on_request(const Request& req, Reply reply) override {
    switch (req.op) {
      case kAsync: {
        auto slot = std::make_shared<Reply>(std::move(reply));
        std::string body = "late:" + std::string(req.body);
        ctx().set_timer(50, [slot, body] { slot->ok(body); });
        return;
      }
      case kDrop:
        return;
      case kHold:
        held_.push_back(std::move(reply));
        return;
      case kKick: {
        if (req.body.size() != 8) return reply.error(Status::kBadRequest);
        ClientId id = get_u64(reinterpret_cast<const uint8_t*>(req.body.data()));
        bool ok = ctx().kick(id, "go away");
        reply.ok(ok ? "1" : "0");
        return;
      }
      case kPush: {
        if (req.body.size() != 8) return reply.error(Status::kBadRequest);
        ClientId id = get_u64(reinterpret_cast<const uint8_t*>(req.body.data()));
        bool ok = ctx().push(id, this->id(), 9, "hey");
        reply.ok(ok ? "1" : "0");
        return;
      }
      case kAnswerAt: {
        auto slot = std::make_shared<Reply>(std::move(reply));
        ctx().set_timer(200, [this, slot] {
          slot->ok("too late");
          late_answered_.store(true);
        });
        return;
      }
      case kBig:
        reply.ok(std::string(size_t{ctx().max_frame()} + 1, 'x'));
        return;
      case kBigPush: {
        bool ok = ctx().push(req.client, this->id(), 1,
                             std::string(size_t{ctx().max_frame()} + 1, 'x'));
        reply.ok(ok ? "1" : "0");
        return;
      }
      case kCall: {
        if (req.body.size() < 8) return reply.error(Status::kBadRequest);
        auto* p = reinterpret_cast<const uint8_t*>(req.body.data());
        auto slot = std::make_shared<Reply>(std::move(reply));
        ctx().call(get_u16(p), get_u16(p + 2), req.body.substr(8),
                   get_u32(p + 4), [slot](Status st, std::string_view body) {
                     slot->ok(std::to_string(static_cast<int>(st)) + ":" +
                              std::string(body));
                   });
        return;
      }
      case kUnmount:
        daemon->unmount(*unmount_target);
        reply.ok();
        return;
      default:
        reply.error(Status::kNoOp);
    }
  }

  bool saw(Event ev, ClientId id) {
    std::lock_guard<std::mutex> lock(mu_);
    return std::find(events_.begin(), events_.end(), std::make_pair(ev, id)) !=
           events_.end();
  }
  size_t count(Event ev) {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<size_t>(std::count_if(
        events_.begin(), events_.end(),
        [ev](const auto& e) { return e.first == ev; }));
  }
  size_t total_events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.size();
  }

  std::atomic<bool> late_answered_{false};
  std::atomic<bool> welcome{false};  // push "welcome" on CONNECT
  Daemon* daemon = nullptr;
  Service* unmount_target = nullptr;

 private:
  std::mutex mu_;
  std::vector<std::pair<Event, ClientId>> events_;
  std::vector<Reply> held_;  // touched only on the daemon thread
};

constexpr uint16_t kWatcherId = 100;
constexpr uint16_t kBlindId = 101;
constexpr uint16_t kGreeterId = 102;

// A daemon with three services: one wanting DISCONNECT, one wanting nothing,
// one wanting CONNECT.
struct Fixture {
  explicit Fixture(Config cfg = test_config())
      : watcher("watcher", kWatcherId, kEventDisconnect),
        blind("blind", kBlindId, 0),
        greeter("greeter", kGreeterId, kEventConnect),
        server(std::move(cfg)) {
    std::string err;
    EXPECT_TRUE(server.daemon().mount(watcher, &err)) << err;
    EXPECT_TRUE(server.daemon().mount(blind, &err)) << err;
    EXPECT_TRUE(server.daemon().mount(greeter, &err)) << err;
    watcher.daemon = &server.daemon();
    watcher.unmount_target = &blind;
    server.start();
  }
  // The services are declared first so they outlive the daemon, which
  // unmounts them when it is destroyed.
  TestService watcher;
  TestService blind;
  TestService greeter;
  TestServer server;
};

}  // namespace

TEST(ServiceApi, DisconnectOnCleanCloseReachesOnlySubscribedServices) {
  Fixture f;
  auto c = f.server.connect();
  uint64_t id = hello_id(*c);
  ASSERT_NE(id, 0u);
  c->close();
  EXPECT_TRUE(eventually([&] { return f.watcher.saw(Event::kDisconnect, id); }))
      << "watcher got no DISCONNECT";
  EXPECT_EQ(f.watcher.count(Event::kDisconnect), 1u);
  EXPECT_EQ(f.watcher.count(Event::kConnect), 0u);
  EXPECT_EQ(f.blind.total_events(), 0u);
  EXPECT_EQ(f.greeter.count(Event::kDisconnect), 0u);
}

TEST(ServiceApi, DisconnectOnResetReachesOnlySubscribedServices) {
  Fixture f;
  auto c = f.server.connect();
  uint64_t id = hello_id(*c);
  ASSERT_NE(id, 0u);
  close_with_rst(*c);
  EXPECT_TRUE(eventually([&] { return f.watcher.saw(Event::kDisconnect, id); }))
      << "watcher got no DISCONNECT after RST";
  EXPECT_EQ(f.watcher.count(Event::kDisconnect), 1u);
  EXPECT_EQ(f.blind.total_events(), 0u);
  EXPECT_EQ(f.greeter.count(Event::kDisconnect), 0u);
}

TEST(ServiceApi, DisconnectOnIdleTimeoutReachesOnlySubscribedServices) {
  Config cfg = manual_clock_config();
  cfg.idle_timeout_ms = 1000;
  Fixture f(cfg);
  auto c = f.server.connect();
  uint64_t id = hello_id(*c);
  ASSERT_NE(id, 0u);
  f.server.advance_clock(1000);
  expect_goodbye(read_any(*c, 20000), Goodbye::kIdle);
  EXPECT_TRUE(eventually([&] { return f.watcher.saw(Event::kDisconnect, id); }))
      << "watcher got no DISCONNECT after idle timeout";
  EXPECT_EQ(f.watcher.count(Event::kDisconnect), 1u);
  EXPECT_EQ(f.blind.total_events(), 0u);
  EXPECT_EQ(f.greeter.count(Event::kDisconnect), 0u);
}

TEST(ServiceApi, ConnectReachesOnlyServicesWithConnectBit) {
  Fixture f;
  auto c = f.server.connect();
  uint64_t id = hello_id(*c);  // HELLO answered: the accept has happened
  ASSERT_NE(id, 0u);
  EXPECT_TRUE(eventually([&] { return f.greeter.saw(Event::kConnect, id); }));
  EXPECT_EQ(f.greeter.count(Event::kConnect), 1u);
  EXPECT_EQ(f.watcher.count(Event::kConnect), 0u);
  EXPECT_EQ(f.blind.total_events(), 0u);
}

TEST(ServiceApi, AsyncReplyFromTimerArrives) {
  Fixture f;
  auto c = f.server.connect();
  const auto start = SteadyClock::now();
  Frame r = call(*c, kWatcherId, kAsync, "x");
  EXPECT_TRUE(r.ok()) << status_name(r.status()) << ": " << r.body;
  EXPECT_EQ(r.body, "late:x");
  EXPECT_EQ(r.header.service, kWatcherId);
  EXPECT_GE(elapsed_ms(start), 40) << "answered before the timer fired?";
}

TEST(ServiceApi, PipelinedAsyncRepliesKeepTheirSessions) {
  Fixture f;
  auto c = f.server.connect();
  write_all(*c, request(kWatcherId, kAsync, 7, "a") +
                    request(kWatcherId, kAsync, 0, "b") +
                    request(0, 1, 9, "now"));
  // The synchronous PING comes first; the async ones follow with their own
  // sessions.
  Frame p = read_any(*c);
  EXPECT_EQ(p.header.session, 9u);
  EXPECT_EQ(p.body, "now");
  Frame x = read_any(*c);
  Frame y = read_any(*c);
  if (x.header.session != 7) std::swap(x, y);
  EXPECT_EQ(x.header.session, 7u);
  EXPECT_EQ(x.body, "late:a");
  EXPECT_EQ(y.header.session, 0u);
  EXPECT_EQ(y.body, "late:b");
}

TEST(ServiceApi, ReplyDroppedWithoutAnswerIsInternal) {
  Fixture f;
  auto c = f.server.connect();
  Frame r = call(*c, kWatcherId, kDrop, "");
  expect_status(r, Status::kInternal);
  EXPECT_TRUE(ping_ok(*c));
}

TEST(ServiceApi, ReplyNeverCompletedTimesOutAndIsCounted) {
  Config cfg = test_config();
  cfg.request_timeout_ms = 100;
  Fixture f(cfg);
  auto c = f.server.connect();
  ASSERT_EQ(info_value(*c, "sessions_timed_out"), 0);
  const auto start = SteadyClock::now();
  Frame r = call(*c, kWatcherId, kHold, "", 3000);
  const int64_t took = elapsed_ms(start);
  expect_status(r, Status::kTimeout);
  EXPECT_GE(took, 99);  // due 100 ms after it was read, in whole ms
  EXPECT_LE(took, 10000);
  EXPECT_EQ(info_value(*c, "sessions_timed_out"), 1);
  EXPECT_EQ(info_value(*c, "sessions_pending"), 0);
  EXPECT_TRUE(ping_ok(*c));
}

TEST(ServiceApi, HeldReplyCountsAsPendingSession) {
  Config cfg = test_config();
  cfg.request_timeout_ms = 60000;  // pending for the whole test
  Fixture f(cfg);
  auto c = f.server.connect();
  write_all(*c, request(kWatcherId, kHold, 1, ""));
  auto d = f.server.connect();
  EXPECT_TRUE(eventually([&] { return info_value(*d, "sessions_pending") == 1; }))
      << "sessions_pending = " << info_value(*d, "sessions_pending");
}

TEST(ServiceApi, KickSendsGoodbyeKickedAndCloses) {
  Fixture f;
  auto admin = f.server.connect();
  auto victim = f.server.connect();
  uint64_t id = hello_id(*victim);
  ASSERT_NE(id, 0u);
  Frame r = call(*admin, kWatcherId, kKick, u64_bytes(id));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.body, "1");
  Frame g = read_any(*victim);
  expect_goodbye(g, Goodbye::kKicked);
  EXPECT_EQ(g.body, "go away");
  EXPECT_TRUE(victim->wait_closed(3000));
  EXPECT_TRUE(eventually([&] { return f.watcher.saw(Event::kDisconnect, id); }));
  EXPECT_TRUE(ping_ok(*admin));
}

TEST(ServiceApi, KickUnknownClientReturnsFalse) {
  Fixture f;
  auto c = f.server.connect();
  Frame r = call(*c, kWatcherId, kKick, u64_bytes(123456789));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.body, "0");
}

TEST(ServiceApi, PushToLiveClientIsDelivered) {
  Fixture f;
  auto a = f.server.connect();
  auto b = f.server.connect();
  uint64_t b_id = hello_id(*b);
  Frame r = call(*a, kWatcherId, kPush, u64_bytes(b_id));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.body, "1");
  Frame p;
  std::string err;
  ASSERT_TRUE(b->next_push(&p, 3000, &err)) << err;
  EXPECT_EQ(p.header.kind, Kind::kPush);
  EXPECT_EQ(p.header.service, kWatcherId);
  EXPECT_EQ(p.header.code, 9);
  EXPECT_EQ(p.body, "hey");
}

TEST(ServiceApi, PushToClosedClientReturnsFalse) {
  Fixture f;
  auto a = f.server.connect();
  auto b = f.server.connect();
  uint64_t b_id = hello_id(*b);
  ASSERT_NE(b_id, 0u);
  b->close();
  ASSERT_TRUE(
      eventually([&] { return f.watcher.saw(Event::kDisconnect, b_id); }));
  Frame r = call(*a, kWatcherId, kPush, u64_bytes(b_id));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.body, "0");
}

TEST(ServiceApi, ReplyCompletedAfterClientLeftIsDroppedAndCounted) {
  Fixture f;
  auto watcher_client = f.server.connect();
  const int64_t before = info_value(*watcher_client, "replies_dropped");
  ASSERT_GE(before, 0) << "INFO has no replies_dropped";
  {
    auto c = f.server.connect();
    uint64_t id = hello_id(*c);
    write_all(*c, request(kWatcherId, kAnswerAt, 1, ""));
    ASSERT_TRUE(ping_ok(*c));  // the request has been dispatched
    // RST, not FIN: after a FIN the server may keep the client to answer
    // its pending request (half-close); after a reset it is surely gone.
    close_with_rst(*c);
    ASSERT_TRUE(
        eventually([&] { return f.watcher.saw(Event::kDisconnect, id); }));
  }
  ASSERT_TRUE(eventually([&] { return f.watcher.late_answered_.load(); }));
  EXPECT_TRUE(ping_ok(*watcher_client)) << "server died";
  EXPECT_EQ(info_value(*watcher_client, "replies_dropped"), before + 1);
}

TEST(ServiceApi, PushFromConnectEventReachesTheNewClient) {
  Fixture f;
  f.greeter.welcome.store(true);
  auto c = f.server.connect();
  Frame p;
  std::string err;
  ASSERT_TRUE(c->next_push(&p, 3000, &err)) << err;
  EXPECT_EQ(p.header.kind, Kind::kPush);
  EXPECT_EQ(p.header.service, kGreeterId);
  EXPECT_EQ(p.body, "welcome");
}

TEST(ServiceApi, ReplyCompletedAfterTimeoutIsDroppedNotSentTwice) {
  Config cfg = test_config();
  cfg.request_timeout_ms = 100;
  Fixture f(cfg);
  auto c = f.server.connect();
  const int64_t before = info_value(*c, "replies_dropped");
  write_all(*c, request(kWatcherId, kAnswerAt, 50, ""));
  Frame t = read_any(*c);
  EXPECT_EQ(t.header.session, 50u);
  EXPECT_EQ(t.status(), Status::kTimeout);
  ASSERT_TRUE(eventually([&] { return f.watcher.late_answered_.load(); }));
  // A second REPLY for session 50 would come before this one.
  write_all(*c, request(0, 1, 51, ""));
  Frame p = read_any(*c);
  EXPECT_EQ(p.header.session, 51u);
  EXPECT_EQ(info_value(*c, "replies_dropped"), before + 1);
}

TEST(ServiceApi, AsyncReplyReachesClientThatHalfClosed) {
  Fixture f;
  auto c = f.server.connect();
  // Like `printf request | nc`: send, then shut the writing side, then read.
  write_all(*c, request(kWatcherId, kAsync, 5, "hc"));
  ASSERT_EQ(shutdown(c->fd(), SHUT_WR), 0);
  Frame r;
  std::string err;
  ASSERT_TRUE(c->read_frame(&r, 3000, &err))
      << err << " (every REQUEST gets exactly one REPLY)";
  expect_reply(r, 5u, "late:hc");
}

TEST(ServiceApi, HeldRequestOfUnmountedServiceGetsUnavailable) {
  Fixture f;
  auto a = f.server.connect();
  write_all(*a, request(kBlindId, kHold, 5, ""));
  auto b = f.server.connect();
  Frame u = call(*b, kWatcherId, kUnmount, "");
  ASSERT_TRUE(u.ok());
  Frame r = read_any(*a);
  EXPECT_EQ(r.header.kind, Kind::kReply);
  EXPECT_EQ(r.header.session, 5u);
  EXPECT_EQ(r.header.service, kBlindId);
  EXPECT_EQ(r.status(), Status::kUnavailable);
  Frame n = call(*a, kBlindId, kHold, "");
  EXPECT_EQ(n.status(), Status::kNoService);
}

TEST(ServiceApi, RequestsOverMaxSessionsGetBusyAndConnectionStaysUsable) {
  Config cfg = test_config();
  cfg.max_sessions = 2;
  cfg.request_timeout_ms = 200;
  Fixture f(cfg);
  auto c = f.server.connect();
  write_all(*c, request(kWatcherId, kHold, 1, "") +
                    request(kWatcherId, kHold, 2, "") +
                    request(0, 1, 3, "busy?"));
  Frame busy = read_any(*c);
  EXPECT_EQ(busy.header.session, 3u);
  EXPECT_EQ(busy.status(), Status::kBusy);
  Frame t1 = read_any(*c);
  Frame t2 = read_any(*c);
  EXPECT_EQ(t1.status(), Status::kTimeout);
  EXPECT_EQ(t2.status(), Status::kTimeout);
  EXPECT_EQ(t1.header.session + t2.header.session, 3u);
  EXPECT_TRUE(ping_ok(*c));
}

TEST(ServiceApi, OneClientOverItsSessionQuotaGetsBusyWhileOthersAreServed) {
  Config cfg = test_config();
  cfg.max_client_sessions = 2;
  cfg.request_timeout_ms = 300;
  Fixture f(cfg);
  auto greedy = f.server.connect();
  write_all(*greedy, request(kWatcherId, kHold, 1, "") +
                         request(kWatcherId, kHold, 2, "") +
                         request(kWatcherId, kHold, 3, ""));
  Frame busy = read_any(*greedy);
  EXPECT_EQ(busy.header.session, 3u);
  EXPECT_EQ(busy.status(), Status::kBusy);
  // Another client still gets its requests held (answered TIMEOUT later).
  auto other = f.server.connect();
  write_all(*other, request(kWatcherId, kHold, 7, ""));
  Frame t = read_any(*other);
  EXPECT_EQ(t.header.session, 7u);
  EXPECT_EQ(t.status(), Status::kTimeout);
}

TEST(ServiceApi, ReplyAboveMaxFrameBecomesTooLarge) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  Fixture f(cfg);
  auto c = f.server.connect();
  Frame r = call(*c, kWatcherId, kBig, "");
  expect_status(r, Status::kTooLarge);
  EXPECT_LE(r.body.size(), 4096u);
  EXPECT_TRUE(ping_ok(*c));
}

TEST(ServiceApi, PushAboveMaxFrameIsRefused) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  Fixture f(cfg);
  auto c = f.server.connect();
  Frame r = call(*c, kWatcherId, kBigPush, "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.body, "0");
  EXPECT_TRUE(ping_ok(*c));
}

TEST(ServiceApi, RefusedConnectionOverMaxClientsRaisesNoEvents) {
  Config cfg = test_config();
  cfg.max_clients = 1;
  Fixture f(cfg);
  auto a = f.server.connect();
  uint64_t id = hello_id(*a);
  auto b = f.server.connect();
  Frame g = read_any(*b);
  EXPECT_EQ(g.header.code, static_cast<uint16_t>(Goodbye::kFull));
  EXPECT_TRUE(b->wait_closed(3000));
  EXPECT_TRUE(ping_ok(*a));
  EXPECT_EQ(f.greeter.count(Event::kConnect), 1u);
  EXPECT_TRUE(f.greeter.saw(Event::kConnect, id));
  EXPECT_EQ(f.watcher.count(Event::kDisconnect), 0u);
}

namespace {
std::string call_body(uint16_t service, uint16_t op, uint32_t timeout_ms,
                      std::string_view body) {
  std::string s;
  append_u16(s, service);
  append_u16(s, op);
  append_u32(s, timeout_ms);
  s.append(body);
  return s;
}
}  // namespace

TEST(ServiceApi, CallToEchoReturnsItsAnswer) {
  Fixture f;
  auto c = f.server.connect();
  Frame r = call(*c, kWatcherId, kCall, call_body(1, 1, 0, "via call"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.body, "0:via call");
}

TEST(ServiceApi, CallToMissingServiceIsUnavailable) {
  Fixture f;
  auto c = f.server.connect();
  Frame r = call(*c, kWatcherId, kCall, call_body(999, 1, 0, ""));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.body.substr(0, 2), "6:") << r.body;
}

TEST(ServiceApi, CallToServiceThatNeverAnswersTimesOut) {
  Fixture f;
  auto c = f.server.connect();
  const auto start = SteadyClock::now();
  Frame r = call(*c, kWatcherId, kCall, call_body(kBlindId, kHold, 100, ""));
  ASSERT_TRUE(r.ok()) << status_name(r.status());
  EXPECT_EQ(r.body.substr(0, 2), "5:") << r.body;
  EXPECT_GE(elapsed_ms(start), 80);
}

TEST(ServiceApi, DisconnectOnProtocolErrorReachesSubscribedService) {
  Fixture f;
  auto c = f.server.connect();
  uint64_t id = hello_id(*c);
  write_all(*c, raw_header('n', 'o', 1, 1, 0, 1, 1, 0));
  EXPECT_TRUE(c->wait_closed(3000));
  EXPECT_TRUE(eventually([&] { return f.watcher.saw(Event::kDisconnect, id); }));
  EXPECT_EQ(f.blind.total_events(), 0u);
}

TEST(ServiceApi, DisconnectOnShutdownReachesSubscribedService) {
  Fixture f;
  auto c = f.server.connect();
  uint64_t id = hello_id(*c);
  f.server.stop();
  EXPECT_EQ(f.server.exit_code(), 0);
  EXPECT_TRUE(f.watcher.saw(Event::kDisconnect, id));
  expect_goodbye(read_any(*c), Goodbye::kShutdown);
}
