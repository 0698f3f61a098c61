// The numbers of the wire contract, pinned to what docs/PROTOCOL.md writes —
// not to hazel's own enums, so renumbering one in frame.h or builtins.h
// fails here. Each number is checked in the bytes hazel puts on the wire
// where a test can provoke it, and against the literal from the document.
#include <gtest/gtest.h>

#include <string>

#include "hazel/builtins.h"
#include "hazel/frame.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;

namespace {

uint8_t kind_byte(Kind k) {
  return static_cast<uint8_t>(encode_frame(k, 0, 0, 0, "")[3]);
}

TEST(WireNumbers, FrameHeaderIsMagicHzVersionOne) {
  std::string f = encode_frame(Kind::kRequest, 0x0102, 0x0304, 0x05060708, "ab");
  ASSERT_EQ(f.size(), 18u);
  EXPECT_EQ(std::string(f.data(), 2), "HZ");
  EXPECT_EQ(f[2], 1);
  EXPECT_EQ(std::string(f.data() + 4, 12),
            std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x00\x02", 12));
}

TEST(WireNumbers, KindsAreTheDocumentsNumbers) {
  EXPECT_EQ(kind_byte(Kind::kRequest), 1);
  EXPECT_EQ(kind_byte(Kind::kReply), 2);
  EXPECT_EQ(kind_byte(Kind::kSend), 3);
  EXPECT_EQ(kind_byte(Kind::kPush), 4);
  EXPECT_EQ(kind_byte(Kind::kGoodbye), 5);
}

TEST(WireNumbers, StatusesAreTheDocumentsNumbers) {
  const std::pair<Status, int> table[] = {
      {Status::kOk, 0},          {Status::kBadRequest, 1}, {Status::kNoService, 2},
      {Status::kNoOp, 3},        {Status::kNotFound, 4},   {Status::kTimeout, 5},
      {Status::kUnavailable, 6}, {Status::kTooLarge, 7},   {Status::kBusy, 8},
      {Status::kInternal, 9},    {Status::kDenied, 10},
  };
  for (auto [s, n] : table) EXPECT_EQ(static_cast<int>(s), n) << status_name(s);
}

TEST(WireNumbers, GoodbyeCodesAreTheDocumentsNumbers) {
  const std::pair<Goodbye, int> table[] = {
      {Goodbye::kProtocol, 1}, {Goodbye::kTooLarge, 2}, {Goodbye::kIdle, 3},
      {Goodbye::kSlow, 4},     {Goodbye::kShutdown, 5}, {Goodbye::kFull, 6},
      {Goodbye::kKicked, 7},   {Goodbye::kLimit, 8},
  };
  for (auto [g, n] : table) EXPECT_EQ(static_cast<int>(g), n) << goodbye_name(g);
}

TEST(WireNumbers, ServiceIdsAndOpsAreTheDocumentsNumbers) {
  EXPECT_EQ(sys::kId, 0);
  EXPECT_EQ(sys::kPing, 1);
  EXPECT_EQ(sys::kHello, 2);
  EXPECT_EQ(sys::kResolve, 3);
  EXPECT_EQ(sys::kServices, 4);
  EXPECT_EQ(sys::kInfo, 5);
  EXPECT_EQ(sys::kTell, 6);
  EXPECT_EQ(sys::kAuth, 7);
  EXPECT_EQ(echo::kId, 1);
  EXPECT_EQ(echo::kEcho, 1);
  EXPECT_EQ(kv::kId, 2);
  EXPECT_EQ(kv::kGet, 1);
  EXPECT_EQ(kv::kSet, 2);
  EXPECT_EQ(kv::kDel, 3);
  EXPECT_EQ(kv::kIncr, 4);
  EXPECT_EQ(kv::kMaxKey, 512u);
  EXPECT_EQ(room::kId, 3);
  EXPECT_EQ(room::kJoin, 1);
  EXPECT_EQ(room::kLeave, 2);
  EXPECT_EQ(room::kPublish, 3);
  EXPECT_EQ(room::kMembers, 4);
  EXPECT_EQ(room::kMaxName, 255u);
}

class WireNumbersOnTheWire : public ServerTest {};

// The reply's raw header: kind at byte 3, service at 4..5, status at 6..7.
std::string raw_reply_header(BlockingClient& c, uint16_t service, uint16_t op,
                             std::string_view body) {
  Frame f = call(c, service, op, body);
  std::string h(kHeaderSize, '\0');
  encode_header(f.header, reinterpret_cast<uint8_t*>(h.data()));
  return h;
}

TEST_F(WireNumbersOnTheWire, ServicesAnswerUnderTheDocumentsIdsAndOps) {
  auto c = connect();
  // sys 0 PING 1 echoes; echo 1 ECHO 1 echoes; kv 2 GET 1 of nothing is
  // NOT_FOUND 4; room 3 MEMBERS 4 of an empty room is OK 0.
  EXPECT_EQ(call(*c, 0, 1, "x").body, "x");
  EXPECT_EQ(call(*c, 1, 1, "y").body, "y");
  std::string h = raw_reply_header(*c, 2, 1, "absent");
  EXPECT_EQ(h[3], 2);                               // REPLY
  EXPECT_EQ(std::string(h.data() + 4, 2), std::string("\x00\x02", 2));
  EXPECT_EQ(std::string(h.data() + 6, 2), std::string("\x00\x04", 2));
  h = raw_reply_header(*c, 3, 4, "empty");
  EXPECT_EQ(std::string(h.data() + 6, 2), std::string("\x00\x00", 2));
  // sys RESOLVE 3 names the ids.
  EXPECT_EQ(call(*c, 0, 3, "kv").body, std::string("\x00\x02", 2));
  EXPECT_EQ(call(*c, 0, 3, "room").body, std::string("\x00\x03", 2));
}

TEST_F(WireNumbersOnTheWire, ErrorStatusesCarryTheDocumentsNumbers) {
  auto c = connect();
  auto status_bytes = [&](uint16_t service, uint16_t op, std::string_view body) {
    return raw_reply_header(*c, service, op, body).substr(6, 2);
  };
  EXPECT_EQ(status_bytes(999, 1, ""), std::string("\x00\x02", 2));  // NO_SERVICE
  EXPECT_EQ(status_bytes(0, 99, ""), std::string("\x00\x03", 2));   // NO_OP
  EXPECT_EQ(status_bytes(2, 1, ""), std::string("\x00\x01", 2));    // BAD_REQUEST
}

TEST_F(WireNumbersOnTheWire, AuthIsSysOpSevenAndARefusalIsDeniedTen) {
  // A server without authentication refuses every AUTH: sys 0 op 7 is
  // there (not NO_OP 3) and answers DENIED 10.
  auto c = connect();
  std::string h = raw_reply_header(*c, 0, 7, "a.token.here");
  EXPECT_EQ(std::string(h.data() + 4, 2), std::string("\x00\x00", 2));
  EXPECT_EQ(std::string(h.data() + 6, 2), std::string("\x00\x0a", 2));
}

}  // namespace
