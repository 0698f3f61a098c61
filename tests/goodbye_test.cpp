// GOODBYE on the raw stream, for every reason the server sends one: it
// comes after the replies that were due, it is the last frame, and the
// connection closes right after it (nothing follows, not even part of a
// frame).
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <string>
#include <thread>

#include "hazel/service.h"
#include "kv_room_util.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;
using namespace hazel::test::kvroom;

namespace {

std::string pings(uint32_t first, uint32_t n) {
  std::string b;
  for (uint32_t i = 0; i < n; ++i) b += request(kSys, kPing, first + i, "p");
  return b;
}

// Expects `s` to be the replies to sessions first..first+n-1 and then one
// GOODBYE `why`, and the connection closed.
void expect_replies_then_goodbye(const RawStream& s, uint32_t first,
                                 uint32_t n, Goodbye why) {
  EXPECT_TRUE(s.closed);
  EXPECT_FALSE(s.broken);
  EXPECT_EQ(s.trailing, 0u);
  ASSERT_EQ(s.frames.size(), n + 1) << "frames before the close";
  for (uint32_t i = 0; i < n; ++i) {
    EXPECT_EQ(s.frames[i].header.kind, Kind::kReply) << i;
    EXPECT_EQ(s.frames[i].header.session, first + i) << i;
  }
  expect_goodbye(s.frames.back(), why);
}

constexpr uint16_t kKickerId = 130;

// Kicks the client that asks, after answering it.
class Kicker final : public Service {
 public:
  Kicker() : Service("kicker", kKickerId) {}
  void on_request(const Request& req, Reply reply) override {
    reply.ok("bye");
    ctx().kick(req.client, "asked for it");
  }
};

// Bytes that have arrived on `fd` and are not read yet (left there).
size_t bytes_waiting(int fd) {
  char buf[256];
  ssize_t n = ::recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

class GoodbyeLast : public ServerTest {
 protected:
  // A raw client of a server started with `cfg`.
  void raw_client_of(Config cfg, RawSocket& raw) {
    start_server(cfg);
    ASSERT_TRUE(raw.connect_v4(server().port()));
  }
};

}  // namespace

TEST_F(GoodbyeLast, ProtocolErrorFollowsTheRepliesDueAndNothingFollowsIt) {
  RawSocket raw;
  ASSERT_TRUE(raw.connect_v4(server().port()));
  // Three good requests, a bad magic, and two more that must not be read.
  const std::string bytes = pings(1, 3) + raw_header('X', 'Z', 1, 1, 0, 1, 9, 0) +
                            pings(4, 2);
  ASSERT_EQ(raw.try_send(bytes), static_cast<ssize_t>(bytes.size()));
  expect_replies_then_goodbye(read_until_closed(raw.fd()), 1, 3,
                              Goodbye::kProtocol);
}

TEST_F(GoodbyeLast, TooLargeFollowsTheRepliesDueAndNothingFollowsIt) {
  RawSocket raw;
  ASSERT_TRUE(raw.connect_v4(server().port()));
  const std::string bytes =
      pings(1, 2) + raw_header(0x48, 0x5A, 1, 1, 0, 1, 3, kDefaultMaxFrame + 1);
  ASSERT_EQ(raw.try_send(bytes), static_cast<ssize_t>(bytes.size()));
  expect_replies_then_goodbye(read_until_closed(raw.fd()), 1, 2,
                              Goodbye::kTooLarge);
}

// A client that sends the body of its too-large frame anyway (as a naive
// client would) still reads the GOODBYE: the server does not reset the
// connection under it while it is still sending, it reads and drops the
// rest after its last frame, then closes.
TEST_F(GoodbyeLast, TooLargeReachesAClientStillSendingTheBody) {
  RawSocket raw;
  ASSERT_TRUE(raw.connect_v4(server().port()));
  const uint32_t len = kDefaultMaxFrame + 1;
  std::string bytes = pings(1, 2) + raw_header(0x48, 0x5A, 1, 1, 0, 1, 3, len) +
                      std::string(len, 'b');
  std::thread writer([&] {
    // Blocking sends of the whole body; the server may close before the
    // end (EPIPE is no failure here: the GOODBYE is what counts).
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(raw.fd(), bytes.data() + off, bytes.size() - off,
                         MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
  });
  RawStream s = read_until_closed(raw.fd());
  writer.join();
  expect_replies_then_goodbye(s, 1, 2, Goodbye::kTooLarge);
}

TEST_F(GoodbyeLast, IdleIsTheOnlyFrameASilentClientGets) {
  Config cfg = test_config();
  cfg.idle_timeout_ms = 200;
  RawSocket raw;
  ASSERT_NO_FATAL_FAILURE(raw_client_of(cfg, raw));
  expect_replies_then_goodbye(read_until_closed(raw.fd()), 0, 0,
                              Goodbye::kIdle);
}

TEST_F(GoodbyeLast, FullIsTheOnlyFrameAClientOverTheLimitGets) {
  Config cfg = test_config();
  cfg.max_clients = 1;
  start_server(cfg);
  auto first = connect();
  ASSERT_TRUE(ping_ok(*first));
  RawSocket raw;
  ASSERT_TRUE(raw.connect_v4(server().port()));
  const std::string bytes = pings(1, 2);
  ASSERT_EQ(raw.try_send(bytes), static_cast<ssize_t>(bytes.size()));
  expect_replies_then_goodbye(read_until_closed(raw.fd()), 0, 0,
                              Goodbye::kFull);
}

TEST_F(GoodbyeLast, KickedFollowsTheReplyDueAndNothingFollowsIt) {
  Kicker kicker;
  TestServer s;
  ASSERT_TRUE(s.daemon().mount(kicker));
  s.start();
  RawSocket raw;
  ASSERT_TRUE(raw.connect_v4(s.port()));
  // The kick comes while the second request is being answered; the third
  // is never answered.
  const std::string bytes = pings(1, 1) + request(kKickerId, 1, 2, "") +
                            pings(3, 1);
  ASSERT_EQ(raw.try_send(bytes), static_cast<ssize_t>(bytes.size()));
  RawStream got = read_until_closed(raw.fd());
  expect_replies_then_goodbye(got, 1, 2, Goodbye::kKicked);
  if (!got.frames.empty()) {
    EXPECT_EQ(got.frames.back().body, "asked for it");
  }
}

TEST_F(GoodbyeLast, ShutdownIsTheLastFrameEveryClientGets) {
  TestServer s;
  s.start();
  RawSocket a, b;
  ASSERT_TRUE(a.connect_v4(s.port()));
  ASSERT_TRUE(b.connect_v4(s.port()));
  const std::string one = pings(1, 1);
  ASSERT_EQ(a.try_send(one), static_cast<ssize_t>(one.size()));
  ASSERT_EQ(b.try_send(one), static_cast<ssize_t>(one.size()));
  // Both are answered before the stop, so each has one reply ahead of it.
  const size_t reply_size = kHeaderSize + 1;
  ASSERT_TRUE(eventually([&] {
    return bytes_waiting(a.fd()) >= reply_size && bytes_waiting(b.fd()) >= reply_size;
  }));
  s.stop();
  EXPECT_EQ(s.exit_code(), 0);
  expect_replies_then_goodbye(read_until_closed(a.fd()), 1, 1,
                              Goodbye::kShutdown);
  expect_replies_then_goodbye(read_until_closed(b.fd()), 1, 1,
                              Goodbye::kShutdown);
}
