// Every limit flag of ./hazel through the real binary: a good value (given
// as `--flag value` or `--flag=value`) takes effect as a client sees it,
// and a bad one, in either form, exits 2 with one line on stderr.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <string>
#include <vector>

#include "kv_room_util.h"
#include "net_util.h"
#include "proc_util.h"

using namespace hazel;
using namespace hazel::test;
using namespace hazel::test::kvroom;

namespace {

// Each bad value must be refused as `--flag value` and as `--flag=value`.
void expect_bad_values(const std::string& flag,
                       const std::vector<std::string>& values) {
  for (const std::string& v : values) {
    SCOPED_TRACE(flag + " '" + v + "'");
    expect_usage_error({flag, v});
    expect_usage_error({flag + "=" + v});
  }
  SCOPED_TRACE(flag + " without a value");
  expect_usage_error({flag});
}

// ./hazel on a free port with `flags`, and a client of it.
struct Served {
  explicit Served(const std::vector<std::string>& flags) {
    proc = start_server(&port, "error", 0, flags);
    if (proc == nullptr) return;
    std::string err;
    EXPECT_TRUE(client.connect("127.0.0.1", port, &err)) << err;
  }
  std::unique_ptr<Proc> proc;
  uint16_t port = 0;
  BlockingClient client;
};

std::string hello(BlockingClient& c) {
  Frame f = call(c, kSys, kHello, "");
  EXPECT_TRUE(f.ok()) << f.body;
  return f.body;
}

// The worker the client is on, from HELLO.
int worker_of(BlockingClient& c) {
  std::string h = hello(c);
  size_t at = h.find("\nworker=");
  return at == std::string::npos ? -1 : atoi(h.c_str() + at + 8);
}

// Sends a GET for each of `n` absent keys that the other of two workers
// owns, in one write: each is forwarded there and holds a session until
// the answer comes back. Returns how many were answered BUSY; every other
// one must be NOT_FOUND.
int busy_of_forwarded_burst(BlockingClient& c, uint32_t n) {
  const int here = worker_of(c);
  EXPECT_GE(here, 0);
  std::string burst;
  uint32_t sent = 0;
  for (int i = 0; sent < n; ++i) {
    std::string key = "remote" + std::to_string(i);
    if (shard_of(key, 2) == here) continue;
    burst += request(kKv, kGet, sent++, key);
  }
  write_all(c, burst);
  int busy = 0;
  for (auto& [session, f] : read_replies(c, n)) {
    if (f.status() == Status::kBusy)
      ++busy;
    else
      EXPECT_EQ(f.status(), Status::kNotFound) << "session " << session;
  }
  return busy;
}

}  // namespace

// ---- good values, as a client sees them -------------------------------------

TEST(Flags, MaxFrameIsTheLargestBodyAcceptedAndHelloSaysIt) {
  REQUIRE_BINARY();
  Served s({"--max-frame=100"});
  ASSERT_NE(s.proc, nullptr);
  EXPECT_NE(hello(s.client).find("\nmax_frame=100\n"), std::string::npos);
  Frame ok = call(s.client, kEcho, echo::kEcho, std::string(100, 'x'));
  EXPECT_TRUE(ok.ok());
  write_all(s.client, request(kEcho, echo::kEcho, 1, std::string(101, 'x')));
  expect_goodbye(read_any(s.client), Goodbye::kTooLarge);
}

TEST(Flags, IdleTimeoutClosesASilentClientWithGoodbyeIdle) {
  REQUIRE_BINARY();
  Served s({"--idle-timeout", "300"});
  ASSERT_NE(s.proc, nullptr);
  EXPECT_NE(hello(s.client).find("\nidle_timeout_ms=300\n"), std::string::npos);
  expect_goodbye(read_any(s.client, 10000), Goodbye::kIdle);
  EXPECT_TRUE(s.client.wait_closed(5000));
}

TEST(Flags, IdleTimeoutZeroNeverClosesAndHelloSaysZero) {
  REQUIRE_BINARY();
  Served s({"--idle-timeout=0"});
  ASSERT_NE(s.proc, nullptr);
  EXPECT_NE(hello(s.client).find("\nidle_timeout_ms=0\n"), std::string::npos);
}

// A header announcing a `len`-byte ECHO body, and nothing of the body.
std::string announce(uint32_t len) {
  return raw_header(kMagic0, kMagic1, kProtocolVersion,
                    static_cast<uint8_t>(Kind::kRequest), kEcho, echo::kEcho,
                    1, len);
}

TEST(Flags, BodyTimeoutClosesAFrameNotCompleteInTimeWithGoodbyeLimit) {
  REQUIRE_BINARY();
  Served s({"--body-timeout=200"});
  ASSERT_NE(s.proc, nullptr);
  write_all(s.client, announce(1000) + "abc");
  Frame f = read_any(s.client, 10000);
  expect_goodbye(f, Goodbye::kLimit);
  EXPECT_NE(f.body.find("200 ms"), std::string::npos) << f.body;
}

TEST(Flags, MaxInputMemoryClosesAFrameLargerThanItWithGoodbyeLimit) {
  REQUIRE_BINARY();
  Served s({"--max-input-memory", "100000"});
  ASSERT_NE(s.proc, nullptr);
  Frame ok = call(s.client, kEcho, echo::kEcho, std::string(50000, 'x'));
  EXPECT_TRUE(ok.ok());
  write_all(s.client, announce(200000) + "abc");
  expect_goodbye(read_any(s.client), Goodbye::kLimit);
}

TEST(Flags, MaxClientsRefusesTheNextConnectionWithGoodbyeFull) {
  REQUIRE_BINARY();
  Served s({"--max-clients=1"});
  ASSERT_NE(s.proc, nullptr);
  ASSERT_TRUE(ping_ok(s.client));
  BlockingClient extra;
  std::string err;
  ASSERT_TRUE(extra.connect("127.0.0.1", s.port, &err)) << err;
  expect_goodbye(read_any(extra), Goodbye::kFull);
  EXPECT_TRUE(ping_ok(s.client));
}

TEST(Flags, MaxOutputClosesAClientThatDoesNotReadWithGoodbyeSlow) {
  REQUIRE_BINARY();
  Served s({"--max-output", "4096"});
  ASSERT_NE(s.proc, nullptr);
  RawSocket slow;  // joins, then reads nothing until it has been cut
  ASSERT_TRUE(slow.connect_v4(s.port, 4096));
  const std::string j = request(kRoom, kJoin, 1, "r");
  ASSERT_EQ(slow.try_send(j), static_cast<ssize_t>(j.size()));
  ASSERT_TRUE(eventually([&] { return members_of(s.client, "r").size() == 1; }));
  uint32_t n = 1;
  for (int i = 0; i < 10000 && n == 1; ++i)
    n = publish(s.client, "r", std::string(16 * 1024, 'p'));
  ASSERT_EQ(n, 0u) << "the client that does not read was never cut";
  EXPECT_EQ(last_frame_before_close(slow.fd()).header.code,
            static_cast<uint16_t>(Goodbye::kSlow));
  EXPECT_TRUE(ping_ok(s.client));
}

TEST(Flags, MaxClientSessionsRefusesRequestsPastIt) {
  REQUIRE_BINARY();
  // With two workers, a GET for a key of the other one waits for its
  // answer: a burst of them passes the cap.
  Served s({"-w", "2", "--max-client-sessions=1"});
  ASSERT_NE(s.proc, nullptr);
  EXPECT_GE(busy_of_forwarded_burst(s.client, 20), 1);
  EXPECT_TRUE(ping_ok(s.client));
}

TEST(Flags, MaxSessionsRefusesRequestsPastIt) {
  REQUIRE_BINARY();
  Served s({"-w", "2", "--max-sessions", "1"});
  ASSERT_NE(s.proc, nullptr);
  EXPECT_GE(busy_of_forwarded_burst(s.client, 20), 1);
  EXPECT_TRUE(ping_ok(s.client));
}

TEST(Flags, KvMaxBytesRefusesASetPastIt) {
  REQUIRE_BINARY();
  const size_t one_key = 1 + 10 + kv::kKeyOverhead;
  Served s({"--kv-max-bytes=" + std::to_string(one_key)});
  ASSERT_NE(s.proc, nullptr);
  EXPECT_TRUE(call(s.client, kKv, kSet, set_body("a", 0, "0123456789")).ok());
  Frame f = call(s.client, kKv, kSet, set_body("b", 0, "0123456789"));
  expect_status(f, Status::kBusy);
  EXPECT_EQ(f.body, "kv is full");
}

TEST(Flags, KvEvictLruMakesRoomForASetPastTheLimit) {
  REQUIRE_BINARY();
  const size_t one_key = 1 + 10 + kv::kKeyOverhead;
  Served s({"--kv-max-bytes", std::to_string(one_key), "--kv-evict=lru"});
  ASSERT_NE(s.proc, nullptr);
  EXPECT_TRUE(call(s.client, kKv, kSet, set_body("a", 0, "0123456789")).ok());
  EXPECT_TRUE(call(s.client, kKv, kSet, set_body("b", 0, "0123456789")).ok());
  expect_status(call(s.client, kKv, kGet, "a"), Status::kNotFound);
  EXPECT_EQ(info_value(s.client, "kv_evicted"), 1);
}

TEST(Flags, KvEvictOffRefusesLikeTheDefault) {
  REQUIRE_BINARY();
  const size_t one_key = 1 + 10 + kv::kKeyOverhead;
  Served s({"--kv-max-bytes", std::to_string(one_key), "--kv-evict", "off"});
  ASSERT_NE(s.proc, nullptr);
  EXPECT_TRUE(call(s.client, kKv, kSet, set_body("a", 0, "0123456789")).ok());
  expect_status(call(s.client, kKv, kSet, set_body("b", 0, "0123456789")),
                Status::kBusy);
}

TEST(Flags, MaxRoomsPerClientRefusesAJoinPastIt) {
  REQUIRE_BINARY();
  Served s({"--max-rooms-per-client=1"});
  ASSERT_NE(s.proc, nullptr);
  EXPECT_EQ(join(s.client, "a"), 1u);
  expect_status(call(s.client, kRoom, kJoin, "b"), Status::kBusy);
}

TEST(Flags, MaxRoomsRefusesAJoinThatCreatesARoomPastIt) {
  REQUIRE_BINARY();
  Served s({"--max-rooms", "1"});
  ASSERT_NE(s.proc, nullptr);
  EXPECT_EQ(join(s.client, "a"), 1u);
  expect_status(call(s.client, kRoom, kJoin, "b"), Status::kBusy);
}

// ---- bad values --------------------------------------------------------------

struct BadValues {
  const char* flag;
  std::vector<std::string> values;
};

class FlagsBadValue : public ::testing::TestWithParam<BadValues> {};

TEST_P(FlagsBadValue, ExitsTwoWithOneLineInEitherForm) {
  REQUIRE_BINARY();
  expect_bad_values(GetParam().flag, GetParam().values);
}

INSTANTIATE_TEST_SUITE_P(
    Flags, FlagsBadValue,
    testing::Values(
        BadValues{"--max-frame", {"0", "-1", "lots", "1073741825", ""}},
        BadValues{"--idle-timeout", {"-1", "1s", "4294967296", ""}},
        BadValues{"--max-output", {"1023", "-5", "16M", ""}},
        BadValues{"--max-clients", {"0", "4294967296", "many", ""}},
        BadValues{"--max-sessions", {"0", "1e3", "-1", ""}},
        BadValues{"--max-client-sessions", {"0", "4294967296", "x", ""}},
        BadValues{"--max-input-memory", {"65535", "-1", "256M", ""}},
        BadValues{"--max-output-memory", {"0", "1G", "1099511627777", ""}},
        BadValues{"--body-timeout", {"-1", "10s", "4294967296", ""}},
        BadValues{"--kv-max-bytes", {"-1", "64k", "1125899906842625", ""}},
        BadValues{"--kv-evict", {"lfu", "LRU", "on", ""}},
        BadValues{"--max-rooms-per-client", {"0", "-3", "lots", ""}},
        BadValues{"--max-rooms", {"0", "99999999999", "x", ""}},
        BadValues{"--port", {"65536", "http", ""}}),
    [](const testing::TestParamInfo<BadValues>& p) {
      std::string name;
      for (const char* c = p.param.flag + 2; *c != '\0'; ++c)
        name += *c == '-' ? '_' : *c;
      return name;
    });
