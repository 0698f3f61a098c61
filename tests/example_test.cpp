// The embedding example (examples/score_service.h): a custom service that
// keeps its data in kv through call() and answers clients asynchronously.
#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "../examples/score_service.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using hazel::test::call;
using hazel::test::TestServer;
using hazel::test::ping_ok;

namespace {

// A kv that takes requests and never answers, like one on a stuck worker.
class SilentKv final : public Service {
 public:
  SilentKv() : Service("kv", 2) {}
  void on_request(const Request&, Reply reply) override {
    held_.push_back(std::move(reply));
  }
  // Held replies must not outlive the daemon they belong to.
  void on_unmount() override { held_.clear(); }

 private:
  std::vector<Reply> held_;
};

}  // namespace

TEST(Example, ScoreAddsThroughKv) {
  ScoreService score;
  TestServer s;
  s.daemon().mount(score);
  s.start();
  auto c = s.connect();
  EXPECT_EQ(call(*c, ScoreService::kId, ScoreService::kAdd, "ann").body, "1");
  EXPECT_EQ(call(*c, ScoreService::kId, ScoreService::kAdd, "ann").body, "2");
  EXPECT_EQ(call(*c, ScoreService::kId, ScoreService::kAdd, "bob").body, "1");
  // The value lives in kv, where any client can read it.
  Frame f = call(*c, kv::kId, kv::kGet, "score:ann");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.body, "2");
}

TEST(Example, ScoreRepliesTimeoutWhenKvDoesNotAnswer) {
  Config cfg = hazel::test::test_config();
  cfg.builtin_services = false;
  ScoreService score(50);
  SilentKv kv;
  TestServer s(cfg);
  s.daemon().mount(kv);
  s.daemon().mount(score);
  s.start();
  auto c = s.connect();
  Frame f = call(*c, ScoreService::kId, ScoreService::kAdd, "ann");
  EXPECT_EQ(f.header.kind, Kind::kReply);
  EXPECT_EQ(f.status(), Status::kTimeout);
}

// Runs the score_server program on a free loopback port with `workers`; its
// pid. HAZEL_SCORE_SERVER names another build of the program:
// tests/install_check.sh builds one against the installed library and runs
// the tests on it.
pid_t start_score_server(const std::string& workers, uint16_t* port) {
  const char* bin = getenv("HAZEL_SCORE_SERVER");
  if (bin == nullptr || *bin == '\0') bin = "examples/bin/score_server";
  EXPECT_EQ(access(bin, X_OK), 0) << bin << " missing: run make examples";
  // Find a free port, then hand it to the program.
  {
    TestServer probe;
    probe.start();
    *port = probe.port();
  }
  pid_t pid = fork();
  EXPECT_GE(pid, 0);
  if (pid == 0) {
    std::string p = std::to_string(*port);
    execl(bin, bin, "-p", p.c_str(), "-b", "127.0.0.1", "-w", workers.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

std::unique_ptr<BlockingClient> connect_when_up(uint16_t port) {
  auto c = std::make_unique<BlockingClient>();
  std::string err;
  bool up = false;
  for (int i = 0; i < 250 && !up; ++i) {
    up = c->connect("127.0.0.1", port, &err, 200) && ping_ok(*c);
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(up) << err;
  return c;
}

void expect_clean_exit_on_sigterm(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Example, ScoreServerProgramAnswers) {
  uint16_t port = 0;
  pid_t pid = start_score_server("1", &port);
  ASSERT_GT(pid, 0);
  auto c = connect_when_up(port);
  Frame f = call(*c, ScoreService::kId, ScoreService::kAdd, "zoe", 2000);
  EXPECT_TRUE(f.ok());
  EXPECT_EQ(f.body, "1");
  expect_clean_exit_on_sigterm(pid);
}

TEST(Example, ScoreServerWithWorkersCountsExactlyAcrossThem) {
  uint16_t port = 0;
  pid_t pid = start_score_server("2", &port);
  ASSERT_GT(pid, 0);
  // Connections land on both workers; every ADD counts once.
  std::vector<std::unique_ptr<BlockingClient>> cs;
  for (int i = 0; i < 8; ++i) cs.push_back(connect_when_up(port));
  for (auto& c : cs)
    EXPECT_TRUE(call(*c, ScoreService::kId, ScoreService::kAdd, "max", 5000).ok());
  EXPECT_EQ(call(*cs[0], kv::kId, kv::kGet, "score:max", 5000).body, "8");
  expect_clean_exit_on_sigterm(pid);
}
