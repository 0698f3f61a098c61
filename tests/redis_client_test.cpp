// The cluster's Redis client (src/redis.h) against a fake Redis: a loopback
// listener this test reads and writes by hand, with the loop driven one
// turn at a time on a manual clock, so deadlines and backoff are exact.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "loop.h"
#include "redis.h"
#include "resp.h"

namespace hazel {
namespace {

// The server side: one listener, one accepted connection at a time.
class FakeRedis {
 public:
  FakeRedis() {
    lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(lfd_, 8);
    socklen_t len = sizeof a;
    getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~FakeRedis() {
    drop();
    close(lfd_);
  }
  uint16_t port() const { return port_; }
  bool accept_one() {
    if (fd_ >= 0) return true;
    fd_ = accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return fd_ >= 0;
  }
  // What the client has written so far (kept until taken).
  std::string& received() {
    char buf[4096];
    ssize_t n;
    while (fd_ >= 0 && (n = read(fd_, buf, sizeof buf)) > 0)
      in_.append(buf, static_cast<size_t>(n));
    return in_;
  }
  // Whether the client closed its side.
  bool closed_by_client() {
    if (fd_ < 0) return true;
    char c;
    ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0;
  }
  void send(std::string_view bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  void drop() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    in_.clear();
  }

 private:
  int lfd_ = -1;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::string in_;
};

// What a callback saw: "nullptr", or the type and text of the reply.
std::string describe(const resp::Value* v) {
  if (v == nullptr) return "nullptr";
  switch (v->type) {
    case resp::Type::kNull: return "null";
    case resp::Type::kSimple: return "+" + std::string(v->str);
    case resp::Type::kError: return "-" + std::string(v->str);
    case resp::Type::kInteger: return ":" + std::to_string(v->integer);
    case resp::Type::kBulk: return "$" + std::string(v->str);
    case resp::Type::kArray: return "*" + std::to_string(v->items.size());
  }
  return "?";
}

class RedisClient : public ::testing::Test, public Redis::Observer {
 protected:
  void SetUp() override {
    std::string err;
    ASSERT_TRUE(loop_.init(&err)) << err;
    loop_.use_manual_clock();
    loop_.set_end_of_turn(
        [](void* self) {
          auto* t = static_cast<RedisClient*>(self);
          if (t->redis_) t->redis_->end_turn();
        },
        this);
  }
  void TearDown() override { redis_.reset(); }

  void start(RedisAddress a = {}, size_t max_output = 1 << 20,
             uint32_t timeout_ms = 1000) {
    a.host = "127.0.0.1";
    a.port = srv_.port();
    redis_ = std::make_unique<Redis>(loop_, *this, "test", max_output,
                                     timeout_ms, 1 << 20);
    std::string err;
    ASSERT_TRUE(redis_->start(a, &err)) << err;
  }

  // Turns of the loop until `pred` holds (real time passes only in poll).
  template <class Pred>
  bool until(Pred pred, int turns = 2000) {
    for (int i = 0; i < turns; ++i) {
      if (pred()) return true;
      loop_.run_once(1);
      srv_.accept_one();
    }
    return pred();
  }

  // Connected, PING answered: the client is up.
  void start_up() {
    start();
    ASSERT_TRUE(until([&] { return srv_.received() == resp::command({"PING"}); }));
    srv_.received().clear();
    srv_.send("+PONG\r\n");
    ASSERT_TRUE(until([&] { return redis_->up(); }));
  }

  Redis::Callback note() {
    return [this](const resp::Value* v) { seen_.push_back(describe(v)); };
  }

  void on_redis_up(Redis&) override { ++ups_; }
  void on_redis_down(Redis&, std::string_view) override { ++downs_; }
  void on_redis_message(Redis&, std::string_view ch, std::string_view p) override {
    messages_.emplace_back(std::string(ch), std::string(p));
  }

  Loop loop_;
  FakeRedis srv_;
  std::unique_ptr<Redis> redis_;
  std::vector<std::string> seen_;
  std::vector<std::pair<std::string, std::string>> messages_;
  int ups_ = 0;
  int downs_ = 0;
};

TEST_F(RedisClient, SendsAuthAndSelectBeforeServing) {
  RedisAddress a;
  a.user = "alice";
  a.password = "pw";
  a.db = 3;
  start(a);
  std::string want = resp::command({"AUTH", "alice", "pw"}) + resp::command({"SELECT", "3"});
  ASSERT_TRUE(until([&] { return srv_.received() == want; }));
  EXPECT_FALSE(redis_->up());
  EXPECT_FALSE(redis_->command({"GET", "k"}, note()));
  srv_.send("+OK\r\n+OK\r\n");
  ASSERT_TRUE(until([&] { return redis_->up(); }));
  EXPECT_EQ(ups_, 1);
}

TEST_F(RedisClient, RefusedAuthDropsTheConnection) {
  RedisAddress a;
  a.password = "wrong";
  start(a);
  ASSERT_TRUE(until([&] { return srv_.received() == resp::command({"AUTH", "wrong"}) +
                                                        resp::command({"PING"}); }));
  srv_.send("-WRONGPASS invalid username-password pair\r\n+PONG\r\n");
  EXPECT_TRUE(until([&] { return srv_.closed_by_client(); }));
  EXPECT_FALSE(redis_->up());
  EXPECT_EQ(ups_, 0);
}

TEST_F(RedisClient, PipelinedRepliesAnswerTheirCommandsInOrder) {
  start_up();
  ASSERT_TRUE(redis_->command({"INCR", "n"}, note()));
  ASSERT_TRUE(redis_->command({"GET", "k"}, note()));
  ASSERT_TRUE(redis_->command({"GET", "missing"}, note()));
  ASSERT_TRUE(redis_->command({"BAD"}, note()));
  std::string want = resp::command({"INCR", "n"}) + resp::command({"GET", "k"}) +
                     resp::command({"GET", "missing"}) + resp::command({"BAD"});
  // Written together at the end of the turn.
  ASSERT_TRUE(until([&] { return srv_.received() == want; }));
  // The replies arrive a byte at a time.
  std::string replies = ":1\r\n$2\r\nvv\r\n$-1\r\n-ERR unknown command\r\n";
  for (char c : replies) {
    srv_.send(std::string_view(&c, 1));
    loop_.run_once(1);
  }
  ASSERT_TRUE(until([&] { return seen_.size() == 4; }));
  EXPECT_EQ(seen_, (std::vector<std::string>{":1", "$vv", "null", "-ERR unknown command"}));
  EXPECT_EQ(redis_->pending_replies(), 0u);
}

TEST_F(RedisClient, MissedDeadlineFailsEveryWaitingCommandAndReconnects) {
  start_up();
  ASSERT_TRUE(redis_->command({"GET", "a"}, note()));
  ASSERT_TRUE(redis_->command({"GET", "b"}, note()));
  ASSERT_TRUE(until([&] { return !srv_.received().empty(); }));
  loop_.advance_clock(999);
  loop_.run_once(0);
  EXPECT_TRUE(seen_.empty());
  loop_.advance_clock(2);
  ASSERT_TRUE(until([&] { return seen_.size() == 2; }));
  EXPECT_EQ(seen_, (std::vector<std::string>{"nullptr", "nullptr"}));
  EXPECT_EQ(downs_, 1);
  EXPECT_FALSE(redis_->up());
  // After the backoff it connects again.
  srv_.drop();
  loop_.advance_clock(100);
  ASSERT_TRUE(until([&] { return srv_.received() == resp::command({"PING"}); }));
  srv_.send("+PONG\r\n");
  ASSERT_TRUE(until([&] { return redis_->up(); }));
  EXPECT_EQ(ups_, 2);
}

TEST_F(RedisClient, ServerClosingFailsWhatWaitsAndReconnectsWithBackoff) {
  start_up();
  ASSERT_TRUE(redis_->command({"GET", "a"}, note()));
  ASSERT_TRUE(until([&] { return !srv_.received().empty(); }));
  srv_.drop();
  ASSERT_TRUE(until([&] { return downs_ == 1; }));
  EXPECT_EQ(seen_, std::vector<std::string>{"nullptr"});
  EXPECT_FALSE(redis_->command({"GET", "a"}, note()));
  // Nothing before the first backoff (100 ms) has passed.
  for (int i = 0; i < 20; ++i) loop_.run_once(1);
  EXPECT_FALSE(srv_.accept_one());
  loop_.advance_clock(100);
  ASSERT_TRUE(until([&] { return srv_.received() == resp::command({"PING"}); }));
}

TEST_F(RedisClient, MalformedReplyDropsTheConnection) {
  start_up();
  ASSERT_TRUE(redis_->command({"GET", "a"}, note()));
  ASSERT_TRUE(until([&] { return !srv_.received().empty(); }));
  srv_.send("?what\r\n");
  ASSERT_TRUE(until([&] { return downs_ == 1; }));
  EXPECT_EQ(seen_, std::vector<std::string>{"nullptr"});
}

TEST_F(RedisClient, ReplyNobodyAskedForDropsTheConnection) {
  start_up();
  srv_.send("+OK\r\n");
  EXPECT_TRUE(until([&] { return downs_ == 1; }));
}

TEST_F(RedisClient, OutputPastItsLimitRefusesCommands) {
  start();
  ASSERT_TRUE(until([&] { return srv_.received() == resp::command({"PING"}); }));
  srv_.send("+PONG\r\n");
  ASSERT_TRUE(until([&] { return redis_->up(); }));
  // Within one turn nothing is written: the output piles up.
  std::string big(600, 'x');
  int taken = 0;
  while (redis_->command({"SET", "k", big}, note())) ++taken;
  EXPECT_GE(taken, 1);
  EXPECT_TRUE(redis_->full());
  EXPECT_EQ(redis_->refused(), 1u);
  EXPECT_GE(redis_->pending_output(), size_t{1} << 20);
}

TEST_F(RedisClient, PubSubMessagesGoToTheObserverNotToACommand) {
  start_up();
  ASSERT_TRUE(redis_->command({"SUBSCRIBE", "ch"}, note()));
  ASSERT_TRUE(until([&] { return !srv_.received().empty(); }));
  srv_.send("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
            "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n");
  ASSERT_TRUE(until([&] { return messages_.size() == 1; }));
  EXPECT_EQ(seen_, std::vector<std::string>{"*3"});
  EXPECT_EQ(messages_[0], (std::pair<std::string, std::string>{"ch", "hello"}));
  EXPECT_EQ(downs_, 0);
}

}  // namespace
}  // namespace hazel
