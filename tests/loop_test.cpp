// Loop (src/loop.h) driven one turn at a time: run_once() says how many I/O
// events it dispatched, and a manual clock moves only when told, so a caller
// can run the loop until it is quiet without waiting on real time.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "loop.h"

namespace hazel {
namespace {

struct Reader final : IoHandler {
  int fd = -1;
  int calls = 0;
  void on_io(uint32_t) override {
    ++calls;
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0) {
    }
  }
};

struct Fired {
  TimerNode node;
  int count = 0;
  static void fire(TimerNode* n) { ++static_cast<Fired*>(n->data)->count; }
  Fired() {
    node.fire = &Fired::fire;
    node.data = this;
  }
};

class LoopStep : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    ASSERT_TRUE(loop_.init(&err)) << err;
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv_), 0);
    reader_.fd = sv_[0];
    ASSERT_TRUE(loop_.add(sv_[0], EPOLLIN, &reader_));
  }
  void TearDown() override {
    loop_.remove(sv_[0]);
    close(sv_[0]);
    close(sv_[1]);
  }
  Loop loop_;
  int sv_[2] = {-1, -1};
  Reader reader_;
};

TEST_F(LoopStep, RunOnceWithNothingReadyDispatchesNothing) {
  EXPECT_EQ(loop_.run_once(0), 0);
  EXPECT_EQ(reader_.calls, 0);
}

TEST_F(LoopStep, RunOnceDispatchesWhatIsReadyAndCountsIt) {
  ASSERT_EQ(write(sv_[1], "x", 1), 1);
  EXPECT_EQ(loop_.run_once(0), 1);
  EXPECT_EQ(reader_.calls, 1);
  EXPECT_EQ(loop_.run_once(0), 0);  // drained: quiet again
}

TEST_F(LoopStep, ManualClockStandsStillAcrossTurns) {
  loop_.use_manual_clock();
  uint64_t t0 = loop_.now_ms();
  Fired f;
  loop_.add_timer(&f.node, 1);
  // However long these turns take in real time, no time passes.
  for (int i = 0; i < 5; ++i) loop_.run_once(2);
  EXPECT_EQ(loop_.now_ms(), t0);
  EXPECT_EQ(f.count, 0);
  loop_.timers().cancel(&f.node);  // the wheel outlives the node
}

TEST_F(LoopStep, ManualClockFiresTimersOnceAdvancedPastThem) {
  loop_.use_manual_clock();
  uint64_t t0 = loop_.now_ms();
  Fired f;
  loop_.add_timer(&f.node, 100);
  loop_.advance_clock(99);
  loop_.run_once(0);
  EXPECT_EQ(f.count, 0);
  loop_.advance_clock(1);
  loop_.run_once(0);
  EXPECT_EQ(f.count, 1);
  EXPECT_EQ(loop_.now_ms(), t0 + 100);
}

TEST_F(LoopStep, ClockAdvancedFromAnotherThreadFiresTimersBeforeItReturns) {
  loop_.use_manual_clock();
  uint64_t t0 = loop_.now_ms();
  Fired f;
  loop_.add_timer(&f.node, 500);
  std::atomic<bool> stop{false};
  std::thread runner([&] {
    while (!stop) loop_.run_once(-1);
  });
  loop_.advance_clock_from_outside(499);
  // The loop thread wrote f.count before it let us go (an atomic release
  // and acquire in between), so this read is race-free.
  EXPECT_EQ(f.count, 0);
  loop_.advance_clock_from_outside(1);
  EXPECT_EQ(f.count, 1);
  stop = true;
  loop_.wake();
  runner.join();
  EXPECT_EQ(loop_.now_ms(), t0 + 500);
}

}  // namespace
}  // namespace hazel
