// The real ./hazel binary as a process: signals, exit codes, flag errors.
// Tests run with cwd = the repository root, where `make` puts ./hazel.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http_util.h"
#include "net_util.h"
#include "proc_util.h"

using namespace hazel;
using namespace hazel::test;

namespace {

void expect_clean_stop_on(int sig) {
  uint16_t port = 0;
  auto p = start_server(&port);
  ASSERT_NE(p, nullptr);
  std::vector<std::unique_ptr<BlockingClient>> cs;
  for (int i = 0; i < 3; ++i) {
    cs.push_back(std::make_unique<BlockingClient>());
    std::string err;
    ASSERT_TRUE(cs.back()->connect("127.0.0.1", port, &err)) << err;
    ASSERT_TRUE(ping_ok(*cs.back()));
  }
  const auto start = SteadyClock::now();
  ASSERT_EQ(kill(p->pid(), sig), 0) << strerror(errno);
  for (size_t i = 0; i < cs.size(); ++i) {
    Frame f = read_any(*cs[i], 5000);
    EXPECT_EQ(f.header.kind, Kind::kGoodbye) << "client " << i;
    EXPECT_EQ(f.header.code, static_cast<uint16_t>(Goodbye::kShutdown))
        << "client " << i;
    EXPECT_TRUE(cs[i]->wait_closed(5000)) << "client " << i;
  }
  auto st = p->wait_exit(5000 - static_cast<int>(elapsed_ms(start)));
  ASSERT_TRUE(st.has_value()) << "./hazel still running 5 s after signal "
                              << sig;
  ASSERT_TRUE(WIFEXITED(*st)) << "killed by signal "
                              << (WIFSIGNALED(*st) ? WTERMSIG(*st) : 0);
  EXPECT_EQ(WEXITSTATUS(*st), 0) << "stderr: " << p->err();
}

}  // namespace

TEST(Binary, SigtermSendsGoodbyeShutdownToEveryClientAndExitsZero) {
  REQUIRE_BINARY();
  expect_clean_stop_on(SIGTERM);
}

TEST(Binary, SigintSendsGoodbyeShutdownToEveryClientAndExitsZero) {
  REQUIRE_BINARY();
  expect_clean_stop_on(SIGINT);
}

TEST(Binary, SigtermExitsWithinFiveSecondsDespiteClientThatNeverReads) {
  REQUIRE_BINARY();
  uint16_t port = 0;
  auto p = start_server(&port);
  ASSERT_NE(p, nullptr);
  // This client has replies pending that it never reads.
  RawSocket stuck;
  ASSERT_TRUE(stuck.connect_v4(port, 4096)) << strerror(errno);
  const std::string req = request(1, 1, 1, std::string(64 * 1024, 'z'));
  size_t sent = 0;
  const auto flood = SteadyClock::now();
  while (sent < 10 * 1024 * 1024 && elapsed_ms(flood) < 1500) {
    ssize_t n = stuck.try_send(std::string_view(req).substr(sent % req.size()));
    if (n < 0) break;
    if (n == 0) std::this_thread::sleep_for(Ms(1));
    sent += static_cast<size_t>(n);
  }
  // The server stops taking requests from a client whose output is not
  // read (backpressure), so the flood stalls; by then its output is jammed.
  ASSERT_GE(sent, size_t{1} << 20) << "could not queue enough output";
  BlockingClient good;
  std::string err;
  ASSERT_TRUE(good.connect("127.0.0.1", port, &err)) << err;
  ASSERT_TRUE(ping_ok(good));
  const auto start = SteadyClock::now();
  ASSERT_EQ(kill(p->pid(), SIGTERM), 0);
  Frame f = read_any(good, 5000);
  EXPECT_EQ(f.header.code, static_cast<uint16_t>(Goodbye::kShutdown));
  auto st = p->wait_exit(5000);
  ASSERT_TRUE(st.has_value()) << "./hazel still running 5 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << "status " << *st;
  EXPECT_LT(elapsed_ms(start), 5000);
}

TEST(Binary, OutOfDescriptorsShedsNewConnectionsLogsOnceAndKeepsServing) {
  REQUIRE_BINARY();
  // 40 descriptors: a handful for the server itself, the rest for clients.
  constexpr rlim_t kMaxFds = 40;
  uint16_t port = 0;
  auto p = start_server(&port, "warn", kMaxFds);
  ASSERT_NE(p, nullptr);
  std::vector<std::unique_ptr<BlockingClient>> cs;
  for (int i = 0; i < 60; ++i) {
    cs.push_back(std::make_unique<BlockingClient>());
    std::string err;
    ASSERT_TRUE(cs.back()->connect("127.0.0.1", port, &err)) << err;
  }
  // Past the limit, connections are accepted and closed at once, not left
  // to spin the loop; the last one is surely past it.
  EXPECT_TRUE(cs.back()->wait_closed(3000));
  // Those that got in are still served.
  ASSERT_TRUE(ping_ok(*cs.front()));
  ASSERT_TRUE(ping_ok(*cs[10]));
  // Room again: new clients are served.
  for (size_t i = 0; i < 20; ++i) cs[i]->close();
  EXPECT_TRUE(eventually([&] {
    BlockingClient fresh;
    std::string err;
    return fresh.connect("127.0.0.1", port, &err, 500) && ping_ok(fresh);
  }, 10000));
  ASSERT_TRUE(p->running());
  kill(p->pid(), SIGTERM);
  ASSERT_TRUE(p->wait_exit(5000).has_value());
  std::string log = p->err();
  size_t first = log.find("accept: Too many open files");
  ASSERT_NE(first, std::string::npos) << log;
  // Logged once per episode, not once per refused connection.
  EXPECT_EQ(log.find("accept: Too many open files", first + 1),
            std::string::npos) << log;
}

TEST(Binary, SecondServerOnTheSamePortExitsOneWithBindMessage) {
  REQUIRE_BINARY();
  uint16_t port = 0;
  auto first = start_server(&port);
  ASSERT_NE(first, nullptr);
  Result r = run_to_exit({"-b", "127.0.0.1", "-p", std::to_string(port)});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bind 127.0.0.1:" + std::to_string(port) +
                       ": Address already in use"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(first->running());
}

TEST(Binary, PortInUseExitsOneWithBindMessage) {
  REQUIRE_BINARY();
  int holder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(holder, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(holder, 1), 0);
  socklen_t len = sizeof a;
  getsockname(holder, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string port = std::to_string(ntohs(a.sin_port));
  Result r = run_to_exit({"-b", "127.0.0.1", "-p", port});
  close(holder);
  EXPECT_EQ(r.code, 1) << "stderr: " << r.err;
  EXPECT_NE(r.err.find("bind 127.0.0.1:" + port + ": Address already in use"),
            std::string::npos)
      << "stderr: " << r.err;
}

TEST(Binary, UnknownFlagExitsTwoWithOneLine) {
  REQUIRE_BINARY();
  expect_usage_error({"--bogus"});
}

TEST(Binary, NonNumericPortExitsTwoWithOneLine) {
  REQUIRE_BINARY();
  expect_usage_error({"-p", "notanumber"});
}

TEST(Binary, PortAboveRangeExitsTwoWithOneLine) {
  REQUIRE_BINARY();
  expect_usage_error({"-p", "70000"});
}

TEST(Binary, LoneServerKeepsServingThroughSighup) {
  REQUIRE_BINARY();
  uint16_t port = 0;
  auto p = start_server(&port);
  ASSERT_NE(p, nullptr);
  BlockingClient c;
  std::string err;
  ASSERT_TRUE(c.connect("127.0.0.1", port, &err)) << err;
  ASSERT_EQ(kill(p->pid(), SIGHUP), 0);
  EXPECT_TRUE(ping_ok(c));
  EXPECT_TRUE(p->running());
}

TEST(Binary, ZeroWorkersExitsTwoWithOneLine) {
  REQUIRE_BINARY();
  expect_usage_error({"-w", "0"});
}

TEST(Binary, NonNumericWorkersExitsTwoWithOneLine) {
  REQUIRE_BINARY();
  expect_usage_error({"--workers", "many"});
}

TEST(Binary, MissingFlagValueExitsTwoWithOneLine) {
  REQUIRE_BINARY();
  expect_usage_error({"--port"});
}

TEST(Binary, UnknownLogLevelExitsTwoWithOneLine) {
  REQUIRE_BINARY();
  expect_usage_error({"--log-level", "loud"});
}

TEST(Binary, HelpExitsZeroAndPrintsUsage) {
  REQUIRE_BINARY();
  Result r = run_to_exit({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("usage: hazel", 0), 0u) << "stdout: " << r.out;
  EXPECT_NE(r.out.find("--port"), std::string::npos);
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(Binary, ShortHelpExitsZeroAndPrintsUsage) {
  REQUIRE_BINARY();
  Result r = run_to_exit({"-h"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("usage: hazel", 0), 0u) << "stdout: " << r.out;
}

TEST(Binary, VersionPrintsHazelAndExitsZero) {
  REQUIRE_BINARY();
  Result r = run_to_exit({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("hazel ", 0), 0u) << "stdout: " << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

TEST(Binary, BadWsPortExitsTwoWithOneLine) {
  REQUIRE_BINARY();
  expect_usage_error({"--ws-port", "http"});
  expect_usage_error({"--ws-port", "65536"});
  expect_usage_error({"--admin-port", "-1"});
}

TEST(Binary, WsOriginThatIsNotAnOriginExitsTwoWithOneLine) {
  REQUIRE_BINARY();
  expect_usage_error({"--ws-port", "0", "--ws-origin", "chat.example.com"});
  expect_usage_error({"--ws-port", "0", "--ws-origin", "https://chat.example.com/"});
  expect_usage_error({"--ws-port", "0", "--ws-origin", "https://a.example,"});
  expect_usage_error({"--ws-port", "0", "--ws-origin"});
}

TEST(Binary, HttpPortFlagsThatWouldDoNothingExitTwo) {
  REQUIRE_BINARY();
  expect_usage_error({"--ws-origin", "https://chat.example.com"});
  expect_usage_error({"--admin-bind", "127.0.0.1"});
}

TEST(Binary, WsPortInUseExitsOneWithBindMessage) {
  REQUIRE_BINARY();
  uint16_t port = 0;
  auto first = start_server(&port);
  ASSERT_NE(first, nullptr);
  Result r = run_to_exit({"-b", "127.0.0.1", "-p", "0", "--ws-port", std::to_string(port)});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Address already in use"), std::string::npos) << r.err;
}

TEST(Binary, HealthzSays503WhileDrainingAfterSigterm) {
  REQUIRE_BINARY();
  uint16_t admin = pick_port();
  uint16_t port = 0;
  auto p = start_server(&port, "error", 0, {"--admin-port", std::to_string(admin)});
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(http_exchange(admin, http_get("/healthz")).status, 200);
  // Output this client does not read keeps the drain going for 2 s.
  RawSocket stuck;
  ASSERT_TRUE(stuck.connect_v4(port, 4096));
  BlockingClient probe;
  std::string err;
  ASSERT_TRUE(probe.connect("127.0.0.1", port, &err)) << err;
  ASSERT_TRUE(jam_output(stuck, probe)) << "could not queue enough output";
  ASSERT_EQ(kill(p->pid(), SIGTERM), 0);
  HttpReply r = http_exchange(admin, http_get("/healthz"), 3000);
  EXPECT_EQ(r.status, 503) << "body: " << r.body;
  EXPECT_EQ(r.body, "draining\n");
  auto st = p->wait_exit(5000);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0);
}
