// hazel-bench must check every reply, not just count them: a benchmark that
// counts wrong answers as work measures nothing. These tests run the real
// tools/hazel-bench binary against a fake server on a thread of this process,
// once answering PING wrongly and once correctly.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "hazel/builtins.h"
#include "hazel/frame.h"

namespace {

constexpr const char* kBenchPath = "tools/hazel-bench";
constexpr int kPollMs = 20;
constexpr auto kBenchTimeout = std::chrono::seconds(10);
constexpr uint16_t kSysService = hazel::sys::kId;
constexpr uint16_t kOpPing = hazel::sys::kPing;

// A hazel server that knows one op, sys PING, and answers it either as the
// protocol says (body = request body) or with one extra byte in the body.
class FakePingServer {
 public:
  enum class Answer { kCorrect, kWrongBody };

  explicit FakePingServer(Answer answer) : answer_(answer) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;  // ephemeral: tests may run side by side
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 ||
        bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) !=
            0 ||
        listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) !=
            0) {
      ADD_FAILURE() << "fake server socket setup: " << std::strerror(errno);
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~FakePingServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (const Client& c : clients_) close(c.fd);
    if (listen_fd_ >= 0) close(listen_fd_);
  }

  uint16_t port() const { return port_; }
  int pings_answered() const { return answered_.load(); }

 private:
  struct Client {
    int fd;
    std::string in;
  };

  void serve() {
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (const Client& c : clients_) fds.push_back({c.fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), kPollMs) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) clients_.push_back({fd, {}});
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents != 0) read_from(clients_[i - 1]);
      }
    }
  }

  void read_from(Client& c) {
    char buf[4096];
    ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n <= 0) return;  // the bench hung up; the socket is closed at the end
    c.in.append(buf, static_cast<size_t>(n));
    while (c.in.size() >= hazel::kHeaderSize) {
      const auto* h = reinterpret_cast<const uint8_t*>(c.in.data());
      uint32_t length = hazel::get_u32(h + 12);
      if (c.in.size() < hazel::kHeaderSize + length) break;
      std::string body = c.in.substr(hazel::kHeaderSize, length);
      if (h[3] == static_cast<uint8_t>(hazel::Kind::kRequest) &&
          hazel::get_u16(h + 4) == kSysService &&
          hazel::get_u16(h + 6) == kOpPing) {
        if (answer_ == Answer::kWrongBody) body += '!';
        reply(c.fd, hazel::get_u32(h + 8), body);
      }
      c.in.erase(0, hazel::kHeaderSize + length);
    }
  }

  void reply(int fd, uint32_t session, const std::string& body) {
    uint8_t h[hazel::kHeaderSize];
    h[0] = hazel::kMagic0;
    h[1] = hazel::kMagic1;
    h[2] = hazel::kProtocolVersion;
    h[3] = static_cast<uint8_t>(hazel::Kind::kReply);
    hazel::put_u16(h + 4, kSysService);
    hazel::put_u16(h + 6, static_cast<uint16_t>(hazel::Status::kOk));
    hazel::put_u32(h + 8, session);
    hazel::put_u32(h + 12, static_cast<uint32_t>(body.size()));
    std::string frame(reinterpret_cast<const char*>(h), sizeof h);
    frame += body;
    // Blocking and small: with depth 1 the bench always has room to read.
    (void)send(fd, frame.data(), frame.size(), MSG_NOSIGNAL);
    ++answered_;
  }

  const Answer answer_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<Client> clients_;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
  std::thread thread_;
};

struct BenchRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs tools/hazel-bench with `args`; kills it if it overruns kBenchTimeout.
BenchRun run_bench(const std::vector<std::string>& args) {
  BenchRun run;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return run;
  }
  std::vector<char*> argv{const_cast<char*>(kBenchPath)};
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  pid_t pid = fork();
  if (pid == 0) {  // only async-signal-safe calls until exec
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    execv(kBenchPath, argv.data());
    _exit(127);
  }
  close(out[1]);
  if (pid < 0) {
    close(out[0]);
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return run;
  }

  auto deadline = std::chrono::steady_clock::now() + kBenchTimeout;
  char buf[4096];
  for (;;) {
    pollfd p{out[0], POLLIN, 0};
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      ADD_FAILURE() << "hazel-bench ran longer than its deadline";
      break;
    }
    if (poll(&p, 1, kPollMs * 5) <= 0) continue;
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    run.output.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// The number after `label` on the summary line that starts with it, or -1.
long summary_field(const std::string& output, const std::string& label) {
  size_t at = 0;
  while (at < output.size()) {
    size_t eol = output.find('\n', at);
    if (eol == std::string::npos) eol = output.size();
    std::string line = output.substr(at, eol - at);
    if (line.rfind(label + " ", 0) == 0) {
      return std::strtol(line.c_str() + label.size(), nullptr, 10);
    }
    at = eol + 1;
  }
  return -1;
}

std::vector<std::string> ping_args(uint16_t port) {
  return {"-p", std::to_string(port), "-m", "ping", "-c", "1", "-d", "1", "-t",
          "1",  "--warmup",           "0",  "-q"};
}

bool bench_is_built() { return access(kBenchPath, X_OK) == 0; }

TEST(HazelBench, ReportsErrorsAndExitsNonZeroOnWrongReply) {
  ASSERT_TRUE(bench_is_built())
      << kBenchPath
      << " is missing: build it first with `make tools/hazel-bench`";
  FakePingServer server(FakePingServer::Answer::kWrongBody);
  ASSERT_NE(server.port(), 0);

  BenchRun run = run_bench(ping_args(server.port()));

  EXPECT_GT(server.pings_answered(), 0) << run.output;
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_GT(summary_field(run.output, "errors"), 0) << run.output;
  EXPECT_EQ(summary_field(run.output, "requests"), 0) << run.output;
}

TEST(HazelBench, CountsNoErrorsAgainstCorrectServer) {
  ASSERT_TRUE(bench_is_built())
      << kBenchPath
      << " is missing: build it first with `make tools/hazel-bench`";
  FakePingServer server(FakePingServer::Answer::kCorrect);
  ASSERT_NE(server.port(), 0);

  BenchRun run = run_bench(ping_args(server.port()));

  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(summary_field(run.output, "errors"), 0) << run.output;
  EXPECT_GT(summary_field(run.output, "requests"), 0) << run.output;
}

}  // namespace
