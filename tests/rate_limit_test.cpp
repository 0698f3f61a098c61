// --rate-limit over real sockets: BUSY past the rate, a flooding client
// closed with GOODBYE LIMIT while a polite one is served throughout, fan-out
// charged to the sender.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kv_room_util.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;
using namespace hazel::test::kvroom;

namespace {

Config rate_config(uint32_t rate, uint32_t burst) {
  Config cfg = test_config();
  cfg.rate_limit = rate;
  cfg.rate_burst = burst;
  return cfg;
}

class RateLimitTest : public ServerTest {};

TEST_F(RateLimitTest, PastTheBurstRequestsAreBusyAndTheConnectionStaysUsable) {
  // One a second: nothing refills while the test runs, on any machine.
  start_server(rate_config(1, 5));
  auto c = connect();
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(ping_ok(*c)) << i;
  Frame f = call(*c, kSys, kPing, "p");
  expect_status(f, Status::kBusy);
  EXPECT_EQ(f.body, "over the rate limit of 1 requests per second");
  // Another client has its own bucket.
  auto other = connect();
  EXPECT_TRUE(ping_ok(*other));
  // And the first is served again once its bucket refilled.
  EXPECT_TRUE(eventually([&] { return ping_ok(*c); }, 5000));
}

TEST_F(RateLimitTest, AFloodIsClosedWithGoodbyeLimitWhileAPoliteClientIsUnharmed) {
  Config cfg = rate_config(20, 5);
  cfg.rate_close_ms = 2000;  // the default is 10 s; the rule is the same
  start_server(cfg);
  auto polite = connect();
  auto flood = connect();
  int busy = 0, polite_ok = 0, polite_total = 0;
  bool closed = false;
  auto last_polite = SteadyClock::now();
  const auto start = SteadyClock::now();
  while (!closed && elapsed_ms(start) < 30000) {
    // The flood: a PING as soon as the last answer came, far past 20 a second.
    std::string err;
    Frame f;
    if (!flood->call(kSys, kPing, "f", &f, 3000, &err)) {
      closed = true;
      break;
    }
    if (f.status() == Status::kBusy) ++busy;
    // The polite client: about 5 a second, well within 20.
    if (elapsed_ms(last_polite) >= 200) {
      last_polite = SteadyClock::now();
      ++polite_total;
      if (ping_ok(*polite)) ++polite_ok;
    }
  }
  ASSERT_TRUE(closed) << "the flooding client was never closed";
  ASSERT_TRUE(flood->got_goodbye()) << "closed without a GOODBYE";
  expect_goodbye(flood->goodbye(), Goodbye::kLimit);
  EXPECT_GT(busy, 0);
  EXPECT_GT(polite_total, 0);
  EXPECT_EQ(polite_ok, polite_total);
  EXPECT_TRUE(ping_ok(*polite));
  EXPECT_EQ(info_value(*polite, "rate_closed"), 1);
  // It had two seconds of refusals at least before it was closed (less a
  // few ms: the server's clock counts whole milliseconds, read once a turn,
  // and started a moment after ours).
  EXPECT_GE(elapsed_ms(start), 2000 - 5);
}

TEST_F(RateLimitTest, ASendPastTheLimitIsDroppedAndCounted) {
  start_server(rate_config(1, 2));
  auto c = connect();
  std::string err;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c->send(kEcho, echo::kEcho, "s", &err)) << err;
  // Two echo PUSHes, not three.
  EXPECT_EQ(expect_push(*c).body, "s");
  EXPECT_EQ(expect_push(*c).body, "s");
  auto admin = connect();
  EXPECT_EQ(info_value(*admin, "sends_dropped"), 1);
  EXPECT_EQ(info_value(*admin, "rate_limited"), 1);
  Frame f;
  EXPECT_FALSE(c->next_push(&f, 200, &err)) << "a third echo arrived";
}

TEST_F(RateLimitTest, APublishCostsOneForEveryMemberItReaches) {
  start_server(rate_config(1, 40));
  std::vector<std::unique_ptr<BlockingClient>> members;
  for (int i = 0; i < 30; ++i) {
    members.push_back(connect());
    expect_status(call(*members.back(), kRoom, kJoin, "big"), Status::kOk);
  }
  auto pub = connect();
  // 40 in the bucket: the PUBLISH takes 1 and its 30 deliveries 30.
  Frame f = call(*pub, kRoom, kPublish, publish_body("big", "hi"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(body_u32(f), 30u);
  int served = 0;
  while (served < 20 && ping_ok(*pub)) ++served;
  // Without the fan-out charge 39 would be left; with it 9 (plus what one
  // second a PING refills, on a slow machine).
  EXPECT_GE(served, 9);
  EXPECT_LT(served, 20);
}

TEST_F(RateLimitTest, ATellCostsTheRequestAndTheDelivery) {
  start_server(rate_config(1, 1000));
  auto target = connect();
  uint64_t id = hello_id(*target);  // 1 of the target's own
  auto sender = connect();
  for (int i = 0; i < 400; ++i) {
    Frame f = call(*sender, kSys, kTell, u64_bytes(id) + "x");
    ASSERT_TRUE(f.ok()) << i << ": " << f.body;
  }
  // 400 TELLs took 800: 200 left (and a little refill), not 600.
  int served = 0;
  while (served < 400 && ping_ok(*sender)) ++served;
  EXPECT_GE(served, 200);
  EXPECT_LT(served, 300);
}

}  // namespace
