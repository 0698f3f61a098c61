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
#include "test_server.h"

using namespace hazel;
using hazel::test::call;
using hazel::test::TestServer;

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

// HAZEL_SCORE_SERVER names another build of the program: tests/install_check.sh
// builds one against the installed library and runs this test on it.
TEST(Example, ScoreServerProgramAnswers) {
  const char* bin = getenv("HAZEL_SCORE_SERVER");
  if (bin == nullptr || *bin == '\0') bin = "examples/bin/score_server";
  ASSERT_EQ(access(bin, X_OK), 0) << bin << " missing: run make examples";
  // Find a free port, then hand it to the program.
  uint16_t port;
  {
    TestServer probe;
    probe.start();
    port = probe.port();
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string p = std::to_string(port);
    execl(bin, bin, "-p", p.c_str(), "-b", "127.0.0.1",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  BlockingClient c;
  std::string err;
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = c.connect("127.0.0.1", port, &err, 200);
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(up) << err;
  Frame f;
  ASSERT_TRUE(c.call(ScoreService::kId, ScoreService::kAdd, "zoe", &f, 2000, &err))
      << err;
  EXPECT_TRUE(f.ok());
  EXPECT_EQ(f.body, "1");
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}
