// BlockingClient against a scripted peer: REPLYs it did not wait for (late,
// duplicate, or read by next_push) are kept and reported, never dropped.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <string>
#include <thread>

#include "hazel/client.h"
#include "net_util.h"

using namespace hazel;
using namespace hazel::test;

namespace {

// A listening socket on 127.0.0.1 whose one connection the test drives by
// hand: it reads the client's frames and writes whatever the test says.
class ScriptedPeer {
 public:
  ScriptedPeer() {
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(lfd_, 1), 0);
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~ScriptedPeer() {
    if (fd_ >= 0) ::close(fd_);
    if (lfd_ >= 0) ::close(lfd_);
  }

  // Connects `c` and accepts its connection.
  void attach(BlockingClient& c) {
    std::string err;
    ASSERT_TRUE(c.connect("127.0.0.1", port_, &err)) << err;
    fd_ = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
    ASSERT_GE(fd_, 0) << strerror(errno);
  }

  // The next whole frame the client sent.
  FrameHeader next_request() {
    for (;;) {
      Decoded d = decode(reinterpret_cast<const uint8_t*>(in_.data()),
                         in_.size(), kDefaultMaxFrame, Peer::kServer);
      if (d.status == DecodeStatus::kFrame) {
        in_.erase(0, kHeaderSize + d.header.length);
        return d.header;
      }
      EXPECT_NE(d.status, DecodeStatus::kError);
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        ADD_FAILURE() << "client closed before its request";
        return {};
      }
      in_.append(buf, static_cast<size_t>(n));
    }
  }

  void send(Kind kind, uint16_t service, uint16_t code, uint32_t session,
            std::string_view body) {
    std::string f = encode_frame(kind, service, code, session, body);
    ASSERT_EQ(::send(fd_, f.data(), f.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(f.size()));
  }
  void reply(uint32_t session, std::string_view body) {
    send(Kind::kReply, 0, 0, session, body);
  }

 private:
  int lfd_ = -1;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::string in_;
};

// A client connected to a scripted peer; unexpected REPLYs are counted in
// `allow` instead of failing the test.
class BlockingClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(peer.attach(c)); }
  AllowUnexpectedReplies allow;
  ScriptedPeer peer;
  BlockingClient c;
};

}  // namespace

TEST_F(BlockingClientTest, KeepsALateReplyToACallThatGaveUp) {
  Frame f;
  std::string err;
  // Nothing answers the first call: it gives up.
  EXPECT_FALSE(c.call(0, 1, "first", &f, 50, &err));
  const uint32_t first = peer.next_request().session;
  // Its answer comes in front of the second call's.
  std::thread answer([&] {
    FrameHeader second = peer.next_request();
    peer.reply(first, "late");
    peer.reply(second.session, "second");
  });
  EXPECT_TRUE(c.call(0, 1, "second", &f, 3000, &err)) << err;
  answer.join();
  EXPECT_EQ(f.body, "second");
  ASSERT_EQ(c.unexpected_replies().size(), 1u);
  EXPECT_EQ(c.unexpected_replies().front().header.session, first);
  EXPECT_EQ(c.unexpected_replies().front().body, "late");
  EXPECT_EQ(allow.count(), 1) << "the hook was not told";
}

TEST_F(BlockingClientTest, KeepsASecondReplyToOneSession) {
  std::thread answer([&] {
    uint32_t s = peer.next_request().session;
    peer.reply(s, "one");
    peer.reply(s, "again");
    peer.send(Kind::kPush, 3, 3, 0, "after");
  });
  Frame f;
  std::string err;
  EXPECT_TRUE(c.call(0, 1, "x", &f, 3000, &err)) << err;
  EXPECT_EQ(f.body, "one");
  // next_push() passes over the duplicate to the PUSH, and keeps it.
  Frame p;
  EXPECT_TRUE(c.next_push(&p, 3000, &err)) << err;
  answer.join();
  EXPECT_EQ(p.body, "after");
  std::deque<Frame> kept = c.take_unexpected_replies();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept.front().body, "again");
  EXPECT_TRUE(c.unexpected_replies().empty());
  EXPECT_EQ(allow.count(), 1);
}

TEST_F(BlockingClientTest, ReadFrameReturnsKeptRepliesAfterQueuedPushes) {
  std::thread answer([&] {
    uint32_t s = peer.next_request().session;
    peer.reply(s + 100, "stray");
    peer.send(Kind::kPush, 3, 3, 0, "push");
    peer.reply(s, "mine");
  });
  Frame f;
  std::string err;
  EXPECT_TRUE(c.call(0, 1, "x", &f, 3000, &err)) << err;
  answer.join();
  EXPECT_EQ(f.body, "mine");
  Frame a, b;
  ASSERT_TRUE(c.read_frame(&a, 0, &err)) << err;
  ASSERT_TRUE(c.read_frame(&b, 0, &err)) << err;
  EXPECT_EQ(a.header.kind, Kind::kPush);
  EXPECT_EQ(b.header.kind, Kind::kReply);
  EXPECT_EQ(b.body, "stray");
  EXPECT_FALSE(c.read_frame(&a, 0, &err)) << "nothing else was sent";
}

TEST_F(BlockingClientTest, WithoutAHookAStrayReplyIsStillKept) {
  auto old = BlockingClient::set_unexpected_reply_hook(nullptr);
  std::thread answer([&] {
    uint32_t s = peer.next_request().session;
    peer.reply(s + 1, "stray");
    peer.reply(s, "mine");
  });
  Frame f;
  std::string err;
  EXPECT_TRUE(c.call(0, 1, "x", &f, 3000, &err)) << err;
  answer.join();
  BlockingClient::set_unexpected_reply_hook(old);
  EXPECT_EQ(c.unexpected_replies().size(), 1u);
  EXPECT_EQ(allow.count(), 0);
}
