// An in-process hazel daemon on an ephemeral loopback port, run on its own
// thread for the length of one test. Talk to it with hazel::BlockingClient
// over real sockets.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "hazel/client.h"
#include "hazel/daemon.h"

namespace hazel::test {

inline Config test_config() {
  Config cfg;
  cfg.bind = "127.0.0.1";
  cfg.port = 0;  // the kernel picks a free port
  cfg.handle_signals = false;
  // HAZEL_TEST_DEBUG=1 in the environment: the servers log every client.
  cfg.log_level = std::getenv("HAZEL_TEST_DEBUG") ? LogLevel::kDebug : LogLevel::kError;
  return cfg;
}

// A server whose clock moves only by TestServer::advance_clock(): for tests
// of idle timeouts, TTLs and deadlines, which then hold on any machine.
inline Config manual_clock_config() {
  Config cfg = test_config();
  cfg.manual_clock = true;
  return cfg;
}

class TestServer {
 public:
  explicit TestServer(Config cfg = test_config())
      : daemon_(std::make_unique<Daemon>(std::move(cfg))) {}
  ~TestServer() { stop(); }

  Daemon& daemon() { return *daemon_; }

  // Mount services before start().
  void start() {
    std::string err;
    ASSERT_TRUE(daemon_->start(&err)) << err;
    thread_ = std::thread([this] { exit_code_ = daemon_->run(); });
  }
  void stop() {
    if (thread_.joinable()) {
      daemon_->stop();
      thread_.join();
    }
  }
  int exit_code() const { return exit_code_; }
  // With Config::manual_clock: the server's time moves by `ms`; what fell
  // due has happened (and been written) when this returns.
  void advance_clock(uint64_t ms) { daemon_->advance_clock(ms); }
  uint16_t port() const { return daemon_->port(); }

  // A connected client (fails the test if it cannot connect).
  std::unique_ptr<BlockingClient> connect() {
    auto c = std::make_unique<BlockingClient>();
    std::string err;
    EXPECT_TRUE(c->connect("127.0.0.1", port(), &err)) << err;
    return c;
  }

 private:
  std::unique_ptr<Daemon> daemon_;
  std::thread thread_;
  int exit_code_ = -1;
};

// A fixture for tests against one server: the first connect() (or server())
// starts it with test_config(); call start_server(cfg) first for another
// configuration. The server outlives the test body's clients.
class ServerTest : public ::testing::Test {
 protected:
  void start_server(Config cfg = test_config()) {
    server_ = std::make_unique<TestServer>(std::move(cfg));
    server_->start();
  }
  TestServer& server() {
    if (!server_) start_server();
    return *server_;
  }
  std::unique_ptr<BlockingClient> connect() { return server().connect(); }

 private:
  std::unique_ptr<TestServer> server_;
};

// Calls and expects a REPLY (any status); returns it.
inline Frame call(BlockingClient& c, uint16_t service, uint16_t op,
                  std::string_view body, int timeout_ms = 3000) {
  Frame f;
  std::string err;
  EXPECT_TRUE(c.call(service, op, body, &f, timeout_ms, &err)) << err;
  return f;
}

}  // namespace hazel::test
