// Services and daemons coming and going in either order, with work pending.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

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
  Silent silent;
  TestServer s;
  ASSERT_TRUE(s.daemon().mount(silent));
  auto starter = std::make_unique<Starter>(&callbacks);
  ASSERT_TRUE(s.daemon().mount(*starter));
  s.daemon().unmount(*starter);
  starter.reset();  // gone: nothing may call back into it
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto c = s.connect();
  Frame f = hazel::test::call(*c, 0, 1, "alive");
  EXPECT_TRUE(f.ok());
  EXPECT_EQ(callbacks.load(), 0);
}
