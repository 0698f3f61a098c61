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

#include "net_util.h"

extern char** environ;

using namespace hazel;
using namespace hazel::test;

namespace {

constexpr const char* kBinary = "./hazel";

// A child process with its stdout and stderr on pipes. Killed and reaped on
// destruction if still running.
class Proc {
 public:
  Proc() = default;
  ~Proc() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      int st = 0;
      waitpid(pid_, &st, 0);
    }
    if (out_ >= 0) close(out_);
    if (err_ >= 0) close(err_);
  }
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;

  // `max_fds` > 0 runs the child with that RLIMIT_NOFILE.
  bool spawn(const std::vector<std::string>& args, std::string* why,
             rlim_t max_fds = 0) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      *why = std::string("pipe2: ") + strerror(errno);
      return false;
    }
    if (max_fds > 0) return fork_exec(args, out, err, max_fds, why);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kBinary));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, kBinary, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
    if (rc != 0) {
      *why = std::string("posix_spawn ./hazel: ") + strerror(rc);
      pid_ = -1;
      return false;
    }
    return true;
  }

  // fork + exec, for what posix_spawn cannot do: a resource limit.
  bool fork_exec(const std::vector<std::string>& args, int out[2], int err[2],
                 rlim_t max_fds, std::string* why) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kBinary));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      struct rlimit rl = {max_fds, max_fds};
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(126);
      dup2(out[1], 1);
      dup2(err[1], 2);
      execv(kBinary, argv.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
    if (pid_ < 0) {
      *why = std::string("fork: ") + strerror(errno);
      return false;
    }
    return true;
  }

  // Waits up to `timeout_ms` for the exit; the raw wait status, or nullopt.
  std::optional<int> wait_exit(int timeout_ms) {
    if (exited_) return status_;
    const auto start = SteadyClock::now();
    for (;;) {
      int st = 0;
      pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        status_ = st;
        return st;
      }
      if (elapsed_ms(start) >= timeout_ms) return std::nullopt;
      std::this_thread::sleep_for(Ms(5));
    }
  }

  bool running() {
    if (exited_) return false;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      exited_ = true;
      status_ = st;
      return false;
    }
    return true;
  }

  // Everything the child wrote (call after it exited).
  std::string out() { return drain(out_); }
  std::string err() { return drain(err_); }
  pid_t pid() const { return pid_; }

 private:
  static std::string drain(int fd) {
    std::string s;
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        s.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return s;
    }
  }

  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

bool binary_present() { return access(kBinary, X_OK) == 0; }

#define REQUIRE_BINARY()                                                    \
  ASSERT_TRUE(binary_present())                                             \
      << kBinary << " not found or not executable in the current directory " \
      << "(tests must run from the repository root): run `make` first"

// A port that was free a moment ago on 127.0.0.1.
uint16_t pick_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0) close(fd);
    return 0;
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Starts ./hazel on a free loopback port and waits until it accepts.
// Retries with another port if the chosen one was taken meanwhile.
std::unique_ptr<Proc> start_server(uint16_t* port_out,
                                   const char* log_level = "error",
                                   rlim_t max_fds = 0) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    uint16_t port = pick_port();
    if (port == 0) continue;
    auto p = std::make_unique<Proc>();
    std::string why;
    if (!p->spawn({"-b", "127.0.0.1", "-p", std::to_string(port),
                   "--log-level", log_level},
                  &why, max_fds)) {
      ADD_FAILURE() << why;
      return nullptr;
    }
    bool up = eventually(
        [&] {
          if (!p->running()) return true;
          BlockingClient probe;
          std::string err;
          return probe.connect("127.0.0.1", port, &err, 200) && ping_ok(probe);
        },
        5000);
    if (up && p->running()) {
      *port_out = port;
      return p;
    }
    if (p->running()) {
      ADD_FAILURE() << "./hazel did not accept on port " << port
                    << " within 5 s";
      return nullptr;
    }
    std::string err = p->err();
    if (err.find("Address already in use") == std::string::npos) {
      ADD_FAILURE() << "./hazel exited at start: " << err;
      return nullptr;
    }
  }
  ADD_FAILURE() << "no free port found";
  return nullptr;
}

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

// Runs ./hazel with `args`; expects it to exit at once with `code`.
struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

Result run_to_exit(const std::vector<std::string>& args) {
  Result r;
  Proc p;
  std::string why;
  if (!p.spawn(args, &why)) {
    ADD_FAILURE() << why;
    return r;
  }
  auto st = p.wait_exit(5000);
  if (!st.has_value()) {
    ADD_FAILURE() << "./hazel did not exit within 5 s";
    return r;
  }
  if (!WIFEXITED(*st)) {
    ADD_FAILURE() << "./hazel did not exit normally (status " << *st << ")";
    return r;
  }
  r.code = WEXITSTATUS(*st);
  r.out = p.out();
  r.err = p.err();
  return r;
}

void expect_usage_error(const std::vector<std::string>& args) {
  Result r = run_to_exit(args);
  EXPECT_EQ(r.code, 2) << "stderr: " << r.err;
  ASSERT_FALSE(r.err.empty()) << "no message on stderr";
  EXPECT_EQ(r.err.back(), '\n') << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1)
      << "expected one line, got:\n" << r.err;
  EXPECT_TRUE(r.out.empty()) << "stdout: " << r.out;
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
  }, 3000));
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
