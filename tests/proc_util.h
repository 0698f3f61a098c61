// The real ./hazel binary as a child process for integration tests: spawn
// it with pipes on stdout/stderr, wait for its exit, start it on a free
// loopback port. Tests run with cwd = the repository root.
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
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
#include <string_view>
#include <vector>

#include "net_util.h"

extern char** environ;

namespace hazel::test {

inline constexpr const char* kBinary = "./hazel";

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

  // `max_fds` > 0 runs the child with that RLIMIT_NOFILE. `program` is a
  // path from the repository root (./hazel unless said otherwise).
  bool spawn(const std::vector<std::string>& args, std::string* why,
             rlim_t max_fds = 0, const char* program = kBinary) {
    program_ = program;
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
    argv.push_back(const_cast<char*>(program_));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, program_, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
    if (rc != 0) {
      *why = std::string("posix_spawn ") + program_ + ": " + strerror(rc);
      pid_ = -1;
      return false;
    }
    return true;
  }

  // fork + exec, for what posix_spawn cannot do: a resource limit.
  bool fork_exec(const std::vector<std::string>& args, int out[2], int err[2],
                 rlim_t max_fds, std::string* why) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program_));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      struct rlimit rl = {max_fds, max_fds};
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(126);
      dup2(out[1], 1);
      dup2(err[1], 2);
      execv(program_, argv.data());
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

  // Everything the child wrote (call after it exited), from the start.
  std::string out() { return out_seen_ + drain(out_); }
  std::string err() { return err_seen_ + drain(err_); }
  pid_t pid() const { return pid_; }

  // Waits until what the running child wrote to stdout (or stderr)
  // contains `text`; true if it did within `timeout_ms`. What was read
  // stays part of out() / err().
  bool wait_out(std::string_view text, int timeout_ms = 5000) {
    return wait_for(out_, out_seen_, text, timeout_ms);
  }
  bool wait_err(std::string_view text, int timeout_ms = 5000) {
    return wait_for(err_, err_seen_, text, timeout_ms);
  }
  const std::string& out_seen() const { return out_seen_; }
  const std::string& err_seen() const { return err_seen_; }

 private:
  static bool wait_for(int fd, std::string& seen, std::string_view text,
                       int timeout_ms) {
    const auto start = SteadyClock::now();
    char buf[4096];
    while (seen.find(text) == std::string::npos) {
      int left = timeout_ms - static_cast<int>(elapsed_ms(start));
      if (left <= 0) return false;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, left) <= 0) continue;
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        seen.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        return seen.find(text) != std::string::npos;  // the child is done
      }
    }
    return true;
  }

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

  const char* program_ = kBinary;
  std::string out_seen_;
  std::string err_seen_;
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

inline bool binary_present() { return access(kBinary, X_OK) == 0; }

#define REQUIRE_BINARY()                                                    \
  ASSERT_TRUE(binary_present())                                             \
      << kBinary << " not found or not executable in the current directory " \
      << "(tests must run from the repository root): run `make` first"

// A port that was free a moment ago on 127.0.0.1.
inline uint16_t pick_port() {
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
inline std::unique_ptr<Proc> start_server(
    uint16_t* port_out, const char* log_level = "error", rlim_t max_fds = 0,
    const std::vector<std::string>& extra = {}) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    uint16_t port = pick_port();
    if (port == 0) continue;
    auto p = std::make_unique<Proc>();
    std::string why;
    std::vector<std::string> args = {"-b", "127.0.0.1", "-p",
                                      std::to_string(port), "--log-level",
                                      log_level};
    args.insert(args.end(), extra.begin(), extra.end());
    if (!p->spawn(args, &why, max_fds)) {
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

// What ./hazel printed and its exit status.
struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs ./hazel with `args` and waits (5 s at most) for it to exit.
inline Result run_to_exit(const std::vector<std::string>& args) {
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

// Expects ./hazel with `args` to refuse its command line: exit 2, one line
// on stderr, nothing on stdout.
inline void expect_usage_error(const std::vector<std::string>& args) {
  Result r = run_to_exit(args);
  EXPECT_EQ(r.code, 2) << "stderr: " << r.err;
  ASSERT_FALSE(r.err.empty()) << "no message on stderr";
  EXPECT_EQ(r.err.back(), '\n') << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1)
      << "expected one line, got:\n" << r.err;
  EXPECT_TRUE(r.out.empty()) << "stdout: " << r.out;
}

}  // namespace hazel::test
