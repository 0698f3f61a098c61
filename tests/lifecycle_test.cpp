// Services and daemons coming and going in either order, with work pending.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using hazel::test::TestServer;

namespace {

// Takes requests and never answers them.
class Silent final : public Service {
 public:
  Silent() : Service("silent", 40) {}
  void on_request(const Request&, Reply reply) override {
    held_.push_back(std::move(reply));
  }
  void on_unmount() override { held_.clear(); }

 private:
  std::vector<Reply> held_;
};

// On mount, calls `silent` and sets a timer; both would call back into it.
class Starter final : public Service {
 public:
  explicit Starter(std::atomic<int>* callbacks)
      : Service("starter", 41), callbacks_(callbacks) {}
  void on_mount() override {
    ctx().call(40, 1, "", 50,
               [this](Status, std::string_view) { ++*callbacks_; });
    ctx().set_timer(50, [this] { ++*callbacks_; });
  }
  void on_request(const Request&, Reply reply) override { reply.ok(); }

 private:
  std::atomic<int>* callbacks_;
};

// On mount, sets a timer due after the Starter's.
class Later final : public Service {
 public:
  explicit Later(std::atomic<bool>* fired) : Service("later", 44), fired_(fired) {}
  void on_mount() override {
    ctx().set_timer(100, [this] { fired_->store(true); });
  }
  void on_request(const Request&, Reply reply) override { reply.ok(); }

 private:
  std::atomic<bool>* fired_;
};

class Plain final : public Service {
 public:
  Plain() : Service("plain", 42) {}
  void on_request(const Request&, Reply reply) override { reply.ok(); }
};

}  // namespace

TEST(Lifecycle, ServiceDestroyedBeforeItsDaemonUnmountsItself) {
  Daemon d(hazel::test::test_config());
  {
    auto plain = std::make_unique<Plain>();
    ASSERT_TRUE(d.mount(*plain));
    EXPECT_TRUE(plain->mounted());
  }
  EXPECT_EQ(d.context().find_service(42), nullptr);
  Plain again;  // the id is free again
  EXPECT_TRUE(d.mount(again));
}

TEST(Lifecycle, DaemonDestroyedBeforeItsServiceLeavesItUnmounted) {
  Plain plain;
  {
    Daemon d(hazel::test::test_config());
    ASSERT_TRUE(d.mount(plain));
  }
  EXPECT_FALSE(plain.mounted());
}

TEST(Lifecycle, ServiceCannotBeMountedOnTwoDaemons) {
  Daemon a(hazel::test::test_config());
  Daemon b(hazel::test::test_config());
  Plain plain;
  ASSERT_TRUE(a.mount(plain));
  std::string err;
  EXPECT_FALSE(b.mount(plain, &err));
  EXPECT_FALSE(err.empty());
}

TEST(Lifecycle, UnmountDropsTheServicesPendingCallsAndTimers) {
  std::atomic<int> callbacks{0};
  std::atomic<bool> later_fired{false};
  Silent silent;
  TestServer s;
  ASSERT_TRUE(s.daemon().mount(silent));
  // Its call times out and its timer fires at 50 ms, if they are kept.
  Starter starter(&callbacks);
  ASSERT_TRUE(s.daemon().mount(starter));
  s.daemon().unmount(starter);
  // A timer due after both: once it has fired, theirs would have too (the
  // wheel fires in deadline order, on the loop's one thread).
  Later later(&later_fired);
  ASSERT_TRUE(s.daemon().mount(later));
  s.start();
  ASSERT_TRUE(hazel::test::eventually([&] { return later_fired.load(); }, 30000))
      << "the 100 ms timer never fired";
  EXPECT_EQ(callbacks.load(), 0) << "a call or timer of the unmounted service ran";
  // The starter is still alive (unmounted): had they been kept, they would
  // have run into it and counted, not crashed.
  auto c = s.connect();
  EXPECT_TRUE(hazel::test::call(*c, 0, 1, "alive").ok());
}

namespace {

class Thrower final : public Service {
 public:
  Thrower() : Service("thrower", 43) {}
  void on_request(const Request&, Reply) override {
    throw std::runtime_error("bug in a service");
  }
};

}  // namespace

TEST(Lifecycle, ServiceThatThrowsAnswersInternalAndServerKeepsRunning) {
  Thrower thrower;
  TestServer s;
  ASSERT_TRUE(s.daemon().mount(thrower));
  s.start();
  auto c = s.connect();
  Frame f = hazel::test::call(*c, 43, 1, "");
  EXPECT_EQ(f.header.kind, Kind::kReply);
  EXPECT_EQ(f.status(), Status::kInternal);
  EXPECT_TRUE(hazel::test::call(*c, 0, 1, "still here").ok());
}

// IDLE means nothing received: a client that only takes pushes must ping.
TEST(Lifecycle, ClientThatOnlyReadsPushesIsClosedIdle) {
  Config cfg = hazel::test::manual_clock_config();
  cfg.idle_timeout_ms = 1000;
  TestServer s(cfg);
  s.start();
  auto listener = s.connect();
  auto talker = s.connect();
  std::string id_body(8, '\0');
  Frame hello = hazel::test::call(*listener, 0, 2, "");
  ASSERT_TRUE(hello.ok());
  size_t at = hello.body.find("client=");
  ASSERT_NE(at, std::string::npos);
  uint64_t id = std::stoull(hello.body.substr(at + 7));
  put_u64(reinterpret_cast<uint8_t*>(id_body.data()), id);
  // Pushes reach the listener all along, and it reads every one, but it
  // sends nothing after its HELLO: a timeout later, it is closed IDLE.
  Frame f;
  std::string err;
  for (int i = 0; i < 3; ++i) {
    s.advance_clock(300);
    ASSERT_TRUE(hazel::test::call(*talker, 0, 6, id_body + "tick").ok());
    ASSERT_TRUE(listener->next_push(&f, 10000, &err)) << err;
    EXPECT_EQ(f.header.kind, Kind::kPush);
  }
  s.advance_clock(100);  // 1000 ms since the HELLO
  ASSERT_TRUE(listener->next_push(&f, 10000, &err)) << err;
  EXPECT_EQ(f.header.kind, Kind::kGoodbye);
  EXPECT_EQ(f.header.code, static_cast<uint16_t>(Goodbye::kIdle));
}
