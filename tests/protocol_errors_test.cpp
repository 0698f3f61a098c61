// Errors on the stream: one GOODBYE, then the connection closes; no other
// connection is affected; frames before the bad one are answered first.
#include <gtest/gtest.h>

#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;

namespace {

constexpr uint8_t kM0 = 0x48;
constexpr uint8_t kM1 = 0x5A;

// Sends `bad` on a fresh connection while another (opened first) is up;
// expects GOODBYE `code` then close on the bad one, and the other one to
// keep working.
void expect_goodbye_then_close(TestServer& s, std::string_view bad,
                               Goodbye code) {
  auto bystander = s.connect();
  ASSERT_TRUE(ping_ok(*bystander));
  auto c = s.connect();
  ASSERT_TRUE(ping_ok(*c));
  write_all(*c, bad);
  Frame f = read_any(*c);
  EXPECT_EQ(f.header.kind, Kind::kGoodbye);
  EXPECT_EQ(f.header.code, static_cast<uint16_t>(code))
      << "GOODBYE code " << f.header.code << " body '" << f.body << "'";
  EXPECT_EQ(f.header.session, 0u);
  EXPECT_TRUE(c->wait_closed(3000)) << "connection not closed after GOODBYE";
  EXPECT_TRUE(ping_ok(*bystander)) << "another connection was affected";
}

}  // namespace

TEST(ProtocolErrors, BadMagicIsGoodbyeProtocol) {
  TestServer s;
  s.start();
  expect_goodbye_then_close(s, raw_header('X', 'Y', 1, 1, 0, 1, 1, 0),
                            Goodbye::kProtocol);
}

TEST(ProtocolErrors, BadSecondMagicByteIsGoodbyeProtocol) {
  TestServer s;
  s.start();
  expect_goodbye_then_close(s, raw_header(kM0, 0x00, 1, 1, 0, 1, 1, 0),
                            Goodbye::kProtocol);
}

TEST(ProtocolErrors, HttpRequestIsGoodbyeProtocol) {
  TestServer s;
  s.start();
  expect_goodbye_then_close(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                            Goodbye::kProtocol);
}

TEST(ProtocolErrors, UnsupportedVersionIsGoodbyeProtocol) {
  TestServer s;
  s.start();
  expect_goodbye_then_close(s, raw_header(kM0, kM1, 2, 1, 0, 1, 1, 0),
                            Goodbye::kProtocol);
}

TEST(ProtocolErrors, VersionZeroIsGoodbyeProtocol) {
  TestServer s;
  s.start();
  expect_goodbye_then_close(s, raw_header(kM0, kM1, 0, 1, 0, 1, 1, 0),
                            Goodbye::kProtocol);
}

TEST(ProtocolErrors, ClientSentReplyIsGoodbyeProtocol) {
  TestServer s;
  s.start();
  expect_goodbye_then_close(s, encode_frame(Kind::kReply, 0, 0, 1, "x"),
                            Goodbye::kProtocol);
}

TEST(ProtocolErrors, ClientSentPushIsGoodbyeProtocol) {
  TestServer s;
  s.start();
  expect_goodbye_then_close(s, encode_frame(Kind::kPush, 0, 1, 0, "x"),
                            Goodbye::kProtocol);
}

TEST(ProtocolErrors, ClientSentGoodbyeIsGoodbyeProtocol) {
  TestServer s;
  s.start();
  expect_goodbye_then_close(s, encode_frame(Kind::kGoodbye, 0, 1, 0, "bye"),
                            Goodbye::kProtocol);
}

TEST(ProtocolErrors, KindZeroIsGoodbyeProtocol) {
  TestServer s;
  s.start();
  expect_goodbye_then_close(s, raw_header(kM0, kM1, 1, 0, 0, 1, 1, 0),
                            Goodbye::kProtocol);
}

TEST(ProtocolErrors, KindNineIsGoodbyeProtocol) {
  TestServer s;
  s.start();
  expect_goodbye_then_close(s, raw_header(kM0, kM1, 1, 9, 0, 1, 1, 0),
                            Goodbye::kProtocol);
}

TEST(ProtocolErrors, LengthAboveMaxFrameHeaderOnlyIsGoodbyeTooLarge) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  TestServer s(cfg);
  s.start();
  // No body byte follows: the server must not wait for one.
  expect_goodbye_then_close(s, raw_header(kM0, kM1, 1, 1, 0, 1, 1, 4097),
                            Goodbye::kTooLarge);
}

TEST(ProtocolErrors, LengthAboveMaxFrameWithSomeBodyIsGoodbyeTooLarge) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  TestServer s(cfg);
  s.start();
  expect_goodbye_then_close(
      s, raw_header(kM0, kM1, 1, 1, 0, 1, 1, 5000) + std::string(1000, 'b'),
      Goodbye::kTooLarge);
}

TEST(ProtocolErrors, HugeLengthWithDefaultMaxFrameIsGoodbyeTooLarge) {
  TestServer s;
  s.start();
  expect_goodbye_then_close(
      s, raw_header(kM0, kM1, 1, 1, 0, 1, 1, 0xFFFFFFFFu) + "abc",
      Goodbye::kTooLarge);
}

TEST(ProtocolErrors, SendAboveMaxFrameIsGoodbyeTooLarge) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  TestServer s(cfg);
  s.start();
  expect_goodbye_then_close(s, raw_header(kM0, kM1, 1, 3, 1, 1, 0, 4097),
                            Goodbye::kTooLarge);
}

TEST(ProtocolErrors, BadHeaderAfterPartialWritesIsGoodbyeProtocol) {
  TestServer s;
  s.start();
  auto c = s.connect();
  std::string bad = raw_header(kM0, kM1, 7, 1, 0, 1, 1, 0);
  // The header arrives in pieces, so the server decodes it from its buffer.
  write_all(*c, bad.substr(0, 3));
  std::this_thread::sleep_for(Ms(20));
  write_all(*c, bad.substr(3, 5));
  std::this_thread::sleep_for(Ms(20));
  write_all(*c, bad.substr(8));
  Frame f = read_any(*c);
  EXPECT_EQ(f.header.kind, Kind::kGoodbye);
  EXPECT_EQ(f.header.code, static_cast<uint16_t>(Goodbye::kProtocol));
  EXPECT_TRUE(c->wait_closed(3000));
}

TEST(ProtocolErrors, FramesBeforeBadOneAreAnsweredBeforeGoodbye) {
  TestServer s;
  s.start();
  auto c = s.connect();
  std::string bytes = request(0, 1, 11, "first") + request(0, 1, 12, "second") +
                      raw_header('?', '?', 1, 1, 0, 1, 13, 0);
  write_all(*c, bytes);
  Frame a = read_any(*c);
  EXPECT_EQ(a.header.kind, Kind::kReply);
  EXPECT_EQ(a.header.session, 11u);
  EXPECT_EQ(a.body, "first");
  Frame b = read_any(*c);
  EXPECT_EQ(b.header.kind, Kind::kReply);
  EXPECT_EQ(b.header.session, 12u);
  EXPECT_EQ(b.body, "second");
  Frame g = read_any(*c);
  EXPECT_EQ(g.header.kind, Kind::kGoodbye);
  EXPECT_EQ(g.header.code, static_cast<uint16_t>(Goodbye::kProtocol));
  EXPECT_TRUE(c->wait_closed(3000));
}

TEST(ProtocolErrors, FramesBeforeTooLargeOneAreAnsweredBeforeGoodbye) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  TestServer s(cfg);
  s.start();
  auto c = s.connect();
  write_all(*c, request(1, 1, 21, "ok") +
                    raw_header(kM0, kM1, 1, 1, 0, 1, 22, 4097));
  Frame a = read_any(*c);
  EXPECT_EQ(a.header.kind, Kind::kReply);
  EXPECT_EQ(a.header.session, 21u);
  Frame g = read_any(*c);
  EXPECT_EQ(g.header.kind, Kind::kGoodbye);
  EXPECT_EQ(g.header.code, static_cast<uint16_t>(Goodbye::kTooLarge));
  EXPECT_TRUE(c->wait_closed(3000));
}

TEST(ProtocolErrors, SendToUnknownServiceIsDroppedSilently) {
  TestServer s;
  s.start();
  auto c = s.connect();
  std::string err;
  ASSERT_TRUE(c->send(4321, 1, "lost", &err)) << err;
  ASSERT_TRUE(c->send(0, 999, "lost op", &err)) << err;  // unknown op too
  // The very next frame on the wire must be the PING's reply: nothing was
  // sent back for the SENDs.
  write_all(*c, request(0, 1, 77, "after"));
  Frame f = read_any(*c);
  EXPECT_EQ(f.header.kind, Kind::kReply);
  EXPECT_EQ(f.header.session, 77u);
  EXPECT_EQ(f.body, "after");
  EXPECT_TRUE(ping_ok(*c));
}

TEST(ProtocolErrors, FrameCompletedFromBufferIsAnsweredBeforeGoodbye) {
  TestServer s;
  s.start();
  auto c = s.connect();
  std::string ping = request(0, 1, 31, "buffered");
  write_all(*c, std::string_view(ping).substr(0, 10));
  std::this_thread::sleep_for(Ms(20));
  write_all(*c, ping.substr(10) +
                    raw_header(kM0, kM1, 1, 2, 0, 0, 0, 0));
  Frame a = read_any(*c);
  EXPECT_EQ(a.header.kind, Kind::kReply);
  EXPECT_EQ(a.header.session, 31u);
  EXPECT_EQ(a.body, "buffered");
  Frame g = read_any(*c);
  EXPECT_EQ(g.header.kind, Kind::kGoodbye);
  EXPECT_EQ(g.header.code, static_cast<uint16_t>(Goodbye::kProtocol));
  EXPECT_TRUE(c->wait_closed(3000));
}
