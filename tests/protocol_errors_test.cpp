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

// Reads the next frame on `c`: GOODBYE `code`, after which the server closes.
void expect_closed_with_goodbye(BlockingClient& c, Goodbye code) {
  expect_goodbye(read_any(c), code);
  EXPECT_TRUE(c.wait_closed(3000));
}

class ProtocolErrors : public ServerTest {
 protected:
  // Sends `bad` on a fresh connection while another (opened first) is up;
  // expects GOODBYE `code` then close on the bad one, and the other one to
  // keep working.
  void expect_goodbye_then_close(std::string_view bad, Goodbye code) {
    auto bystander = connect();
    ASSERT_TRUE(ping_ok(*bystander));
    auto c = connect();
    ASSERT_TRUE(ping_ok(*c));
    write_all(*c, bad);
    Frame f = read_any(*c);
    expect_goodbye(f, code);
    EXPECT_EQ(f.header.session, 0u);
    EXPECT_TRUE(c->wait_closed(3000)) << "connection not closed after GOODBYE";
    EXPECT_TRUE(ping_ok(*bystander)) << "another connection was affected";
  }
};

}  // namespace

TEST_F(ProtocolErrors, BadMagicIsGoodbyeProtocol) {
  expect_goodbye_then_close(raw_header('X', 'Y', 1, 1, 0, 1, 1, 0),
                            Goodbye::kProtocol);
}

TEST_F(ProtocolErrors, BadSecondMagicByteIsGoodbyeProtocol) {
  expect_goodbye_then_close(raw_header(kM0, 0x00, 1, 1, 0, 1, 1, 0),
                            Goodbye::kProtocol);
}

TEST_F(ProtocolErrors, HttpRequestIsGoodbyeProtocol) {
  expect_goodbye_then_close("GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                            Goodbye::kProtocol);
}

TEST_F(ProtocolErrors, UnsupportedVersionIsGoodbyeProtocol) {
  expect_goodbye_then_close(raw_header(kM0, kM1, 2, 1, 0, 1, 1, 0),
                            Goodbye::kProtocol);
}

TEST_F(ProtocolErrors, VersionZeroIsGoodbyeProtocol) {
  expect_goodbye_then_close(raw_header(kM0, kM1, 0, 1, 0, 1, 1, 0),
                            Goodbye::kProtocol);
}

TEST_F(ProtocolErrors, ClientSentReplyIsGoodbyeProtocol) {
  expect_goodbye_then_close(encode_frame(Kind::kReply, 0, 0, 1, "x"),
                            Goodbye::kProtocol);
}

TEST_F(ProtocolErrors, ClientSentPushIsGoodbyeProtocol) {
  expect_goodbye_then_close(encode_frame(Kind::kPush, 0, 1, 0, "x"),
                            Goodbye::kProtocol);
}

TEST_F(ProtocolErrors, ClientSentGoodbyeIsGoodbyeProtocol) {
  expect_goodbye_then_close(encode_frame(Kind::kGoodbye, 0, 1, 0, "bye"),
                            Goodbye::kProtocol);
}

TEST_F(ProtocolErrors, KindZeroIsGoodbyeProtocol) {
  expect_goodbye_then_close(raw_header(kM0, kM1, 1, 0, 0, 1, 1, 0),
                            Goodbye::kProtocol);
}

TEST_F(ProtocolErrors, KindNineIsGoodbyeProtocol) {
  expect_goodbye_then_close(raw_header(kM0, kM1, 1, 9, 0, 1, 1, 0),
                            Goodbye::kProtocol);
}

TEST_F(ProtocolErrors, LengthAboveMaxFrameHeaderOnlyIsGoodbyeTooLarge) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  start_server(cfg);
  // No body byte follows: the server must not wait for one.
  expect_goodbye_then_close(raw_header(kM0, kM1, 1, 1, 0, 1, 1, 4097),
                            Goodbye::kTooLarge);
}

TEST_F(ProtocolErrors, LengthAboveMaxFrameWithSomeBodyIsGoodbyeTooLarge) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  start_server(cfg);
  expect_goodbye_then_close(
      raw_header(kM0, kM1, 1, 1, 0, 1, 1, 5000) + std::string(1000, 'b'),
      Goodbye::kTooLarge);
}

TEST_F(ProtocolErrors, HugeLengthWithDefaultMaxFrameIsGoodbyeTooLarge) {
  expect_goodbye_then_close(
      raw_header(kM0, kM1, 1, 1, 0, 1, 1, 0xFFFFFFFFu) + "abc",
      Goodbye::kTooLarge);
}

TEST_F(ProtocolErrors, SendAboveMaxFrameIsGoodbyeTooLarge) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  start_server(cfg);
  expect_goodbye_then_close(raw_header(kM0, kM1, 1, 3, 1, 1, 0, 4097),
                            Goodbye::kTooLarge);
}

TEST_F(ProtocolErrors, BadHeaderAfterPartialWritesIsGoodbyeProtocol) {
  auto c = connect();
  std::string bad = raw_header(kM0, kM1, 7, 1, 0, 1, 1, 0);
  // The header arrives in pieces, so the server decodes it from its buffer.
  write_all(*c, bad.substr(0, 3));
  std::this_thread::sleep_for(Ms(20));
  write_all(*c, bad.substr(3, 5));
  std::this_thread::sleep_for(Ms(20));
  write_all(*c, bad.substr(8));
  expect_closed_with_goodbye(*c, Goodbye::kProtocol);
}

TEST_F(ProtocolErrors, FramesBeforeBadOneAreAnsweredBeforeGoodbye) {
  auto c = connect();
  std::string bytes = request(0, 1, 11, "first") + request(0, 1, 12, "second") +
                      raw_header('?', '?', 1, 1, 0, 1, 13, 0);
  write_all(*c, bytes);
  expect_reply(read_any(*c), 11u, "first");
  expect_reply(read_any(*c), 12u, "second");
  expect_closed_with_goodbye(*c, Goodbye::kProtocol);
}

TEST_F(ProtocolErrors, FramesBeforeTooLargeOneAreAnsweredBeforeGoodbye) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  start_server(cfg);
  auto c = connect();
  write_all(*c, request(1, 1, 21, "ok") +
                    raw_header(kM0, kM1, 1, 1, 0, 1, 22, 4097));
  Frame a = read_any(*c);
  EXPECT_EQ(a.header.kind, Kind::kReply);
  EXPECT_EQ(a.header.session, 21u);
  expect_closed_with_goodbye(*c, Goodbye::kTooLarge);
}

TEST_F(ProtocolErrors, SendToUnknownServiceIsDroppedSilently) {
  auto c = connect();
  std::string err;
  ASSERT_TRUE(c->send(4321, 1, "lost", &err)) << err;
  ASSERT_TRUE(c->send(0, 999, "lost op", &err)) << err;  // unknown op too
  // The very next frame on the wire must be the PING's reply: nothing was
  // sent back for the SENDs.
  write_all(*c, request(0, 1, 77, "after"));
  expect_reply(read_any(*c), 77u, "after");
  EXPECT_TRUE(ping_ok(*c));
}

TEST_F(ProtocolErrors, FrameCompletedFromBufferIsAnsweredBeforeGoodbye) {
  auto c = connect();
  std::string ping = request(0, 1, 31, "buffered");
  write_all(*c, std::string_view(ping).substr(0, 10));
  std::this_thread::sleep_for(Ms(20));
  write_all(*c, ping.substr(10) +
                    raw_header(kM0, kM1, 1, 2, 0, 0, 0, 0));
  expect_reply(read_any(*c), 31u, "buffered");
  expect_closed_with_goodbye(*c, Goodbye::kProtocol);
}
