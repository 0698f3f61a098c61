// ./hazel with --auth-secret-file and --rate-limit as a process: exit codes
// for a bad secret file or flag, the warning about an open port, how bad
// tokens are logged, and tokens with worker processes.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <set>
#include <string>
#include <vector>

#include "auth_util.h"
#include "hazel/service.h"
#include "kv_room_util.h"
#include "net_util.h"
#include "proc_util.h"

using namespace hazel;
using namespace hazel::test;
using namespace hazel::test::kvroom;

namespace {

int lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

int count_of(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

// Stops a server started by start_server and returns what it logged.
std::string stop_and_log(Proc& p) {
  kill(p.pid(), SIGTERM);
  auto st = p.wait_exit(10000);
  EXPECT_TRUE(st.has_value()) << "./hazel did not stop on SIGTERM";
  return p.err();
}

TEST(AuthBinary, ASecretFileOpenToOthersExitsOneWithOneLine) {
  REQUIRE_BINARY();
  TempFile secret(kTestKey + "\n", 0644);
  for (const char* workers : {"1", "2"}) {
    Result r = run_to_exit({"-b", "127.0.0.1", "-p", "0", "-w", workers,
                            "--auth-secret-file", secret.path()});
    EXPECT_EQ(r.code, 1) << "-w " << workers;
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("mode 0644 lets group or others read or write it"),
              std::string::npos)
        << r.err;
  }
}

TEST(AuthBinary, AMissingOrKeylessSecretFileExitsOne) {
  REQUIRE_BINARY();
  Result r = run_to_exit({"-b", "127.0.0.1", "-p", "0", "--auth-secret-file",
                        "/nonexistent/hazel-secret"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
  TempFile short_key("too short\n");
  r = run_to_exit({"-b", "127.0.0.1", "-p", "0", "--auth-secret-file",
                   short_key.path()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("shorter than 32 bytes"), std::string::npos) << r.err;
}

TEST(AuthBinary, BadRateFlagsExitTwoWithOneLine) {
  REQUIRE_BINARY();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--rate-limit", "fast"},
        std::vector<std::string>{"--rate-limit", "-1"},
        std::vector<std::string>{"--rate-limit", "1000001"},
        std::vector<std::string>{"--rate-limit", "10", "--rate-burst", "0"},
        std::vector<std::string>{"--rate-burst", "5"},
        std::vector<std::string>{"--auth-secret-file"},
        std::vector<std::string>{"--auth-secret-file="}}) {
    Result r = run_to_exit(args);
    EXPECT_EQ(r.code, 2) << args[0];
    EXPECT_EQ(lines(r.err), 1) << r.err;
  }
}

TEST(AuthBinary, WarnsOnceWhenServingBeyondLoopbackWithoutAuth) {
  REQUIRE_BINARY();
  for (const char* workers : {"1", "2"}) {
    uint16_t port = 0;
    auto p = start_server(&port, "warn", 0, {"-b", "0.0.0.0", "-w", workers});
    ASSERT_NE(p, nullptr);
    std::string log = stop_and_log(*p);
    EXPECT_EQ(count_of(log, "without authentication: any client may write any key"), 1)
        << "-w " << workers << ":\n" << log;
  }
}

TEST(AuthBinary, NoWarningOnLoopbackOrWithAuth) {
  REQUIRE_BINARY();
  uint16_t port = 0;
  auto p = start_server(&port, "warn");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(stop_and_log(*p).find("without authentication"), std::string::npos);
  TempFile secret(kTestKey + "\n");
  p = start_server(&port, "warn", 0,
                   {"-b", "0.0.0.0", "--auth-secret-file", secret.path()});
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(stop_and_log(*p).find("without authentication"), std::string::npos);
}

TEST(AuthBinary, BadTokensAreLoggedAtMostOnceASecondWithTheClientIdNeverTheToken) {
  REQUIRE_BINARY();
  TempFile secret(kTestKey + "\n");
  uint16_t port = 0;
  auto p = start_server(&port, "warn", 0, {"--auth-secret-file", secret.path()});
  ASSERT_NE(p, nullptr);
  BlockingClient c;
  std::string err;
  ASSERT_TRUE(c.connect("127.0.0.1", port, &err)) << err;
  uint64_t id = hello_id(c);
  TokenSpec forged;
  forged.key = std::string(40, 'f');
  forged.sub = "SUBJECT-IN-THE-TOKEN";
  const std::string token = mint(forged);
  const auto start = SteadyClock::now();
  for (int i = 0; i < 50; ++i) expect_status(auth(c, token), Status::kDenied);
  int64_t took_s = elapsed_ms(start) / 1000;
  std::string log = stop_and_log(*p);
  int logged = count_of(log, "AUTH refused");
  EXPECT_GE(logged, 1) << log;
  EXPECT_LE(logged, took_s + 1) << log;  // at most one per second
  EXPECT_NE(log.find("client " + std::to_string(id) + ": AUTH refused: "
                     "token signature does not match"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find(token.substr(0, 20)), std::string::npos) << log;
  EXPECT_EQ(log.find(token.substr(token.rfind('.'))), std::string::npos) << log;
  EXPECT_EQ(log.find("SUBJECT-IN-THE-TOKEN"), std::string::npos) << log;
}

// ---- with workers ------------------------------------------------------------

int hello_worker(BlockingClient& c) {
  Frame f = call(c, kSys, kHello, "", 5000);
  size_t at = f.body.find("worker=");
  return at == std::string::npos ? -1 : atoi(f.body.c_str() + at + 7);
}

class AuthWorkersTest : public ::testing::Test {
 protected:
  AuthWorkersTest() : secret_(kTestKey + "\n") {}
  void SetUp() override {
    REQUIRE_BINARY();
    proc_ = start_server(&port_, "error", 0,
                         {"-w", "2", "--auth-secret-file", secret_.path()});
    ASSERT_NE(proc_, nullptr);
  }
  // An authenticated client on worker `w`.
  std::unique_ptr<BlockingClient> on_worker(int w, const TokenSpec& spec) {
    for (int i = 0; i < 400; ++i) {
      auto c = std::make_unique<BlockingClient>();
      std::string err;
      if (!c->connect("127.0.0.1", port_, &err)) continue;
      if (hello_worker(*c) != w) continue;
      Frame f = auth(*c, mint(spec));
      EXPECT_TRUE(f.ok()) << f.body;
      return c;
    }
    ADD_FAILURE() << "no connection landed on worker " << w;
    return nullptr;
  }
  // A key under `prefix` that worker `w` owns.
  static std::string key_on(int w, const std::string& prefix) {
    for (int i = 0;; ++i) {
      std::string k = prefix + std::to_string(i);
      if (shard_of(k, 2) == w) return k;
    }
  }

  TempFile secret_;
  std::unique_ptr<Proc> proc_;
  uint16_t port_ = 0;
};

TEST_F(AuthWorkersTest, KvForwardedToTheKeysWorkerIsDecidedOnTheClientsWorker) {
  TokenSpec spec;
  spec.kv = {"mine:"};
  auto c = on_worker(0, spec);
  ASSERT_NE(c, nullptr);
  for (int w = 0; w < 2; ++w) {
    std::string key = key_on(w, "mine:");
    expect_status(call(*c, kKv, kSet, set_body(key, 0, "v"), 5000), Status::kOk);
    expect_status(call(*c, kKv, kIncr, incr_body(key_on(w, "mine:n"), 1), 5000),
                  Status::kOk);
    Frame f = call(*c, kKv, kGet, key, 5000);
    EXPECT_EQ(f.body, "v") << "key owned by worker " << w;
    expect_status(call(*c, kKv, kSet, set_body(key_on(w, "theirs:"), 0, "v"), 5000),
                  Status::kDenied);
  }
}

TEST_F(AuthWorkersTest, PublishAndTellReachTheOtherWorkerForAnAllowedClient) {
  TokenSpec spec;
  spec.rooms = {"game:*"};
  spec.tell = true;
  auto a = on_worker(0, spec);
  auto b = on_worker(1, spec);
  ASSERT_TRUE(a && b);
  expect_status(call(*b, kRoom, kJoin, "game:1", 5000), Status::kOk);
  Frame f = call(*a, kRoom, kPublish, publish_body("game:1", "hi"), 5000);
  ASSERT_TRUE(f.ok()) << f.body;
  EXPECT_EQ(body_u32(f), 1u);
  RoomPush push;
  ASSERT_TRUE(parse_room_push(expect_push(*b, 5000), &push));
  EXPECT_EQ(push.payload, "hi");
  uint64_t bid = hello_id(*b);
  expect_status(call(*a, kSys, kTell, u64_bytes(bid) + "psst", 5000), Status::kOk);
  Frame t = expect_push(*b, 5000);
  EXPECT_EQ(t.body.substr(8), "psst");
  // MEMBERS gathers both workers for a client allowed in the room.
  expect_status(call(*a, kRoom, kMembers, "game:1", 5000), Status::kOk);
  expect_status(call(*a, kRoom, kMembers, "lobby", 5000), Status::kDenied);
}

TEST_F(AuthWorkersTest, AClientWithoutATokenIsDeniedOnEveryWorker) {
  std::set<int> seen;
  for (int i = 0; i < 400 && seen.size() < 2; ++i) {
    BlockingClient c;
    std::string err;
    if (!c.connect("127.0.0.1", port_, &err)) continue;
    int w = hello_worker(c);
    if (seen.count(w)) continue;
    seen.insert(w);
    expect_status(call(c, kKv, kGet, "k", 5000), Status::kDenied);
    expect_status(call(c, kRoom, kJoin, "game:1", 5000), Status::kDenied);
  }
  EXPECT_EQ(seen.size(), 2u);
}

TEST_F(AuthWorkersTest, ASighupWithABadSecretFileKeepsTheWorkersServing) {
  ASSERT_EQ(chmod(secret_.path().c_str(), 0644), 0);
  ASSERT_EQ(kill(proc_->pid(), SIGHUP), 0);
  // Served, by the workers that were there, and nothing was restarted.
  TokenSpec spec;
  spec.kv = {"k"};
  for (int w = 0; w < 2; ++w) {
    auto c = on_worker(w, spec);
    ASSERT_NE(c, nullptr);
    expect_status(call(*c, kKv, kSet, set_body("k1", 0, "v"), 5000), Status::kOk);
  }
  // Pending together, SIGHUP (1) is read before SIGTERM (15): the master
  // has handled it by the time it stops.
  std::string log = stop_and_log(*proc_);
  EXPECT_NE(log.find("received SIGHUP: not reloading: --auth-secret-file"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("restarting it"), std::string::npos) << log;
}

}  // namespace
