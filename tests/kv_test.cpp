// kv (service 2) against PROTOCOL.md, over real loopback sockets: every op,
// every BAD_REQUEST layout, key length limits, INCR arithmetic, TTL expiry
// (lazy and active), binary data, sharing between clients, INFO figures.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <thread>

#include "kv_room_util.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;
using namespace hazel::test::kvroom;

namespace {

// SET through `c`; fails the test unless the reply is OK with an empty body.
void kv_set(BlockingClient& c, std::string_view key, std::string_view value,
            uint32_t ttl_ms = 0) {
  Frame f = call(c, kKv, kSet, set_body(key, ttl_ms, value));
  EXPECT_TRUE(f.ok()) << "SET status " << f.header.code << ": " << f.body;
  EXPECT_TRUE(f.body.empty());
}

// The body of the reply to kv `op`; fails the test unless the reply is OK.
std::string kv_ok_body(BlockingClient& c, uint16_t op, std::string_view body) {
  Frame f = call(c, kKv, op, body);
  EXPECT_TRUE(f.ok()) << "kv op " << op << " status " << f.header.code << ": "
                      << f.body;
  return f.body;
}

std::string kv_get(BlockingClient& c, std::string_view key) {
  return kv_ok_body(c, kGet, key);
}

// The u8 count DEL answers, as its one-byte body.
std::string kv_del(BlockingClient& c, std::string_view key) {
  return kv_ok_body(c, kDel, key);
}

// The decimal value INCR answers.
std::string kv_incr(BlockingClient& c, std::string_view key, int64_t delta) {
  return kv_ok_body(c, kIncr, incr_body(key, delta));
}

class Kv : public ServerTest {};

}  // namespace

// ---- GET / SET --------------------------------------------------------------

TEST_F(Kv, GetAbsentKeyIsNotFound) {
  auto c = connect();
  expect_status(call(*c, kKv, kGet, "nope"), Status::kNotFound);
  EXPECT_TRUE(ping_ok(*c)) << "connection unusable after NOT_FOUND";
}

TEST_F(Kv, SetThenGetReturnsValue) {
  auto c = connect();
  kv_set(*c, "k", "hello");
  Frame f = call(*c, kKv, kGet, "k");
  ASSERT_TRUE(f.ok()) << f.body;
  EXPECT_EQ(f.body, "hello");
  EXPECT_EQ(f.header.service, kKv);
}

TEST_F(Kv, SetOverwritesValue) {
  auto c = connect();
  kv_set(*c, "k", "first, longer value");
  kv_set(*c, "k", "2nd");
  EXPECT_EQ(kv_get(*c, "k"), "2nd");
}

TEST_F(Kv, SetWithEmptyValueStoresEmptyValue) {
  auto c = connect();
  kv_set(*c, "k", "");
  EXPECT_EQ(kv_get(*c, "k"), "");
}

TEST_F(Kv, SetWithEmptyKeyIsBadRequest) {
  auto c = connect();
  expect_status(call(*c, kKv, kSet, set_body("", 0, "v")), Status::kBadRequest);
  EXPECT_TRUE(ping_ok(*c));
}

TEST_F(Kv, SetWith513ByteKeyIsBadRequest) {
  auto c = connect();
  std::string key(513, 'k');
  expect_status(call(*c, kKv, kSet, set_body(key, 0, "v")),
                Status::kBadRequest);
  EXPECT_EQ(info_value(*c, "kv_keys"), 0);
}

TEST_F(Kv, Key512BytesLongWorksForSetGetAndDel) {
  auto c = connect();
  std::string key(512, 'k');
  kv_set(*c, key, "v");
  EXPECT_EQ(kv_get(*c, key), "v");
  EXPECT_EQ(kv_del(*c, key), u8_bytes(1));
}

TEST_F(Kv, SetBodyShorterThanDeclaredKeyLengthIsBadRequest) {
  auto c = connect();
  std::string b;
  append_u16(b, 10);
  b += "short";  // 5 of the 10 declared key bytes, no ttl
  expect_status(call(*c, kKv, kSet, b), Status::kBadRequest);
  EXPECT_EQ(info_value(*c, "kv_keys"), 0);
}

TEST_F(Kv, SetWithoutTtlIsBadRequest) {
  auto c = connect();
  std::string b;
  append_u16(b, 3);
  b += "key";  // complete key, no ttl at all
  expect_status(call(*c, kKv, kSet, b), Status::kBadRequest);
  EXPECT_EQ(info_value(*c, "kv_keys"), 0);
}

TEST_F(Kv, SetWithTruncatedTtlIsBadRequest) {
  auto c = connect();
  std::string b;
  append_u16(b, 3);
  b += "key";
  b += std::string(3, '\0');  // 3 of the 4 ttl bytes
  expect_status(call(*c, kKv, kSet, b), Status::kBadRequest);
  EXPECT_EQ(info_value(*c, "kv_keys"), 0);
}

TEST_F(Kv, SetBodyTooShortForKeyLengthFieldIsBadRequest) {
  auto c = connect();
  expect_status(call(*c, kKv, kSet, std::string(1, '\0')), Status::kBadRequest);
  expect_status(call(*c, kKv, kSet, ""), Status::kBadRequest);
}

TEST_F(Kv, GetWithEmptyKeyIsBadRequest) {
  auto c = connect();
  expect_status(call(*c, kKv, kGet, ""), Status::kBadRequest);
}

TEST_F(Kv, GetWith513ByteKeyIsBadRequest) {
  auto c = connect();
  expect_status(call(*c, kKv, kGet, std::string(513, 'k')),
                Status::kBadRequest);
}

TEST_F(Kv, ValueWrittenByOneClientIsReadByAnother) {
  auto a = connect();
  auto b = connect();
  kv_set(*a, "shared", "from a");
  EXPECT_EQ(kv_get(*b, "shared"), "from a");
}

TEST_F(Kv, ValueSurvivesItsWriterDisconnecting) {
  auto a = connect();
  kv_set(*a, "k", "v");
  a->close();
  auto b = connect();
  EXPECT_EQ(kv_get(*b, "k"), "v");
}

TEST_F(Kv, BinaryValueWithEveryByteRoundTrips) {
  auto c = connect();
  std::string value;
  for (int rep = 0; rep < 3; ++rep)
    for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
  kv_set(*c, "bin", value);
  EXPECT_EQ(kv_get(*c, "bin"), value);
}

TEST_F(Kv, KeysWithZeroBytesAreDistinct) {
  auto c = connect();
  const std::string k1("a\0b", 3);
  const std::string k2("a\0c", 3);
  kv_set(*c, k1, "one");
  kv_set(*c, k2, "two");
  EXPECT_EQ(kv_get(*c, k1), "one");
  EXPECT_EQ(kv_get(*c, k2), "two");
  expect_status(call(*c, kKv, kGet, std::string("a", 1)), Status::kNotFound);
}

TEST_F(Kv, LargestValueThatFitsMaxFrameRoundTrips) {
  auto c = connect();  // default max_frame, 1 MiB
  const std::string key = "big";
  // SET body = u16 + key + u32 + value = exactly max_frame.
  const size_t vlen = kDefaultMaxFrame - 2 - key.size() - 4;
  std::string value(vlen, '\0');
  for (size_t i = 0; i < vlen; ++i) value[i] = static_cast<char>(i * 31 + 7);
  Frame sf = call(*c, kKv, kSet, set_body(key, 0, value), 10000);
  ASSERT_TRUE(sf.ok()) << "status " << sf.header.code << ": " << sf.body;
  Frame f = call(*c, kKv, kGet, key, 10000);
  ASSERT_TRUE(f.ok()) << "status " << f.header.code << ": " << f.body;
  EXPECT_EQ(f.body.size(), vlen);
  EXPECT_TRUE(f.body == value);
}

TEST_F(Kv, SetAsSendIsPerformedWithoutReply) {
  auto c = connect();
  std::string err;
  ASSERT_TRUE(c->send(kKv, kSet, set_body("k", 0, "sent"), &err)) << err;
  // The next frame on the wire must be the GET's REPLY, not one for the SEND.
  write_all(*c, request(kKv, kGet, 77, "k"));
  Frame f = read_any(*c);
  EXPECT_EQ(f.header.kind, Kind::kReply);
  EXPECT_EQ(f.header.session, 77u);
  EXPECT_EQ(f.status(), Status::kOk);
  EXPECT_EQ(f.body, "sent");
}

TEST_F(Kv, UnknownOpIsNoOp) {
  auto c = connect();
  expect_status(call(*c, kKv, 5, "k"), Status::kNoOp);
  expect_status(call(*c, kKv, 0, "k"), Status::kNoOp);
  expect_status(call(*c, kKv, 0xFFFF, ""), Status::kNoOp);
  EXPECT_TRUE(ping_ok(*c));
}

// ---- DEL --------------------------------------------------------------------

TEST_F(Kv, DelReturnsOneThenZero) {
  auto c = connect();
  kv_set(*c, "k", "v");
  EXPECT_EQ(kv_del(*c, "k"), u8_bytes(1));
  EXPECT_EQ(kv_del(*c, "k"), u8_bytes(0));
}

TEST_F(Kv, DelAbsentKeyReturnsZero) {
  auto c = connect();
  EXPECT_EQ(kv_del(*c, "never"), u8_bytes(0));
}

TEST_F(Kv, GetAfterDelIsNotFound) {
  auto c = connect();
  kv_set(*c, "k", "v");
  ASSERT_TRUE(call(*c, kKv, kDel, "k").ok());
  expect_status(call(*c, kKv, kGet, "k"), Status::kNotFound);
}

TEST_F(Kv, DelWithEmptyKeyIsBadRequest) {
  auto c = connect();
  expect_status(call(*c, kKv, kDel, ""), Status::kBadRequest);
}

TEST_F(Kv, DelWith513ByteKeyIsBadRequest) {
  auto c = connect();
  expect_status(call(*c, kKv, kDel, std::string(513, 'k')),
                Status::kBadRequest);
}

// ---- INCR -------------------------------------------------------------------

TEST_F(Kv, IncrAbsentKeyCountsFromZero) {
  auto c = connect();
  EXPECT_EQ(kv_incr(*c, "n", 5), "5");
  EXPECT_EQ(kv_get(*c, "n"), "5");
}

TEST_F(Kv, IncrAddsToStoredDecimalValue) {
  auto c = connect();
  kv_set(*c, "n", "41");
  EXPECT_EQ(kv_incr(*c, "n", 1), "42");
  EXPECT_EQ(kv_get(*c, "n"), "42");
}

TEST_F(Kv, IncrNegativeDeltaIsTwosComplement) {
  auto c = connect();
  EXPECT_EQ(kv_incr(*c, "n", -3), "-3");
  EXPECT_EQ(kv_incr(*c, "n", -7), "-10");
  EXPECT_EQ(kv_incr(*c, "n", 10), "0");
}

TEST_F(Kv, IncrOnNonIntegerValueIsBadRequestAndKeepsValue) {
  auto c = connect();
  kv_set(*c, "n", "abc");
  expect_status(call(*c, kKv, kIncr, incr_body("n", 1)), Status::kBadRequest);
  EXPECT_EQ(kv_get(*c, "n"), "abc");
}

TEST_F(Kv, IncrOnDecimalWithTrailingBytesIsBadRequest) {
  auto c = connect();
  kv_set(*c, "n", std::string("12\0", 3));
  expect_status(call(*c, kKv, kIncr, incr_body("n", 1)), Status::kBadRequest);
}

TEST_F(Kv, IncrOnEmptyValueIsBadRequest) {
  auto c = connect();
  kv_set(*c, "n", "");
  expect_status(call(*c, kKv, kIncr, incr_body("n", 1)), Status::kBadRequest);
}

TEST_F(Kv, IncrReachingI64MaxWorks) {
  auto c = connect();
  kv_set(*c, "n", "9223372036854775806");
  EXPECT_EQ(kv_incr(*c, "n", 1), "9223372036854775807");
}

TEST_F(Kv, IncrOverflowingI64IsBadRequestAndKeepsValue) {
  auto c = connect();
  kv_set(*c, "n", "9223372036854775807");
  expect_status(call(*c, kKv, kIncr, incr_body("n", 1)), Status::kBadRequest);
  EXPECT_EQ(kv_get(*c, "n"), "9223372036854775807");
}

TEST_F(Kv, IncrUnderflowingI64IsBadRequest) {
  auto c = connect();
  kv_set(*c, "n", "-9223372036854775808");
  expect_status(call(*c, kKv, kIncr, incr_body("n", -1)), Status::kBadRequest);
}

TEST_F(Kv, IncrAbsentKeyByI64MinWorks) {
  auto c = connect();
  EXPECT_EQ(kv_incr(*c, "n", std::numeric_limits<int64_t>::min()),
            "-9223372036854775808");
}

TEST_F(Kv, IncrWithSevenByteDeltaIsBadRequest) {
  auto c = connect();
  std::string b = incr_body("n", 1);
  b.pop_back();
  expect_status(call(*c, kKv, kIncr, b), Status::kBadRequest);
  expect_status(call(*c, kKv, kGet, "n"), Status::kNotFound);
}

TEST_F(Kv, IncrWithNineByteDeltaIsBadRequest) {
  auto c = connect();
  std::string b = incr_body("n", 1);
  b.push_back('\0');
  expect_status(call(*c, kKv, kIncr, b), Status::kBadRequest);
  expect_status(call(*c, kKv, kGet, "n"), Status::kNotFound);
}

TEST_F(Kv, IncrWithEmptyKeyIsBadRequest) {
  auto c = connect();
  expect_status(call(*c, kKv, kIncr, incr_body("", 1)), Status::kBadRequest);
}

TEST_F(Kv, IncrWith513ByteKeyIsBadRequest) {
  auto c = connect();
  expect_status(call(*c, kKv, kIncr, incr_body(std::string(513, 'k'), 1)),
                Status::kBadRequest);
}

TEST_F(Kv, PipelinedIncrsAreEachCounted) {
  auto c = connect();
  constexpr uint32_t kN = 200;
  std::string burst;
  for (uint32_t i = 0; i < kN; ++i)
    burst += request(kKv, kIncr, i, incr_body("ctr", 1));
  write_all(*c, burst);
  auto replies = read_replies(*c, kN);
  ASSERT_EQ(replies.size(), kN);
  for (uint32_t i = 0; i < kN; ++i) {
    ASSERT_TRUE(replies[i].ok()) << "session " << i;
    EXPECT_EQ(replies[i].body, std::to_string(i + 1)) << "session " << i;
  }
}

// ---- TTL --------------------------------------------------------------------

TEST_F(Kv, KeyWithTtlIsVisibleBeforeAndNotFoundAfterExpiry) {
  start_server(manual_clock_config());
  auto c = connect();
  kv_set(*c, "t", "v", 200);
  server().advance_clock(199);
  Frame g = call(*c, kKv, kGet, "t");
  ASSERT_TRUE(g.ok()) << "expired too early: status " << g.header.code;
  EXPECT_EQ(g.body, "v");
  server().advance_clock(1);  // the TTL is over at 200 ms
  expect_status(call(*c, kKv, kGet, "t"), Status::kNotFound);
}

TEST_F(Kv, DelOfExpiredKeyReturnsZero) {
  start_server(manual_clock_config());
  auto c = connect();
  kv_set(*c, "t", "v", 50);
  server().advance_clock(150);
  EXPECT_EQ(kv_del(*c, "t"), u8_bytes(0));
}

TEST_F(Kv, SetWithTtlZeroClearsEarlierTtl) {
  start_server(manual_clock_config());
  auto c = connect();
  kv_set(*c, "t", "short-lived", 50);
  kv_set(*c, "t", "forever", 0);
  server().advance_clock(300);  // past the old deadline and a sweep
  EXPECT_EQ(kv_get(*c, "t"), "forever") << "key vanished";
}

TEST_F(Kv, SetWithLongerTtlOutlivesEarlierShortTtl) {
  start_server(manual_clock_config());
  auto c = connect();
  kv_set(*c, "t", "a", 50);
  kv_set(*c, "t", "b", 60000);
  server().advance_clock(300);
  EXPECT_EQ(kv_get(*c, "t"), "b") << "key vanished";
}

TEST_F(Kv, IncrOnExpiredKeyCountsFromZeroWithoutTtl) {
  start_server(manual_clock_config());
  auto c = connect();
  kv_set(*c, "n", "100", 50);
  server().advance_clock(150);
  EXPECT_EQ(kv_incr(*c, "n", 1), "1");
  server().advance_clock(250);  // an absent key "has no TTL"
  EXPECT_EQ(kv_get(*c, "n"), "1");
}

TEST_F(Kv, ExpiredKeysAreSweptWithoutBeingTouched) {
  start_server(manual_clock_config());
  auto c = connect();
  kv_set(*c, "keeper", "no ttl");
  constexpr uint32_t kN = 100;
  std::string burst;
  for (uint32_t i = 0; i < kN; ++i)
    burst += request(kKv, kSet, i, set_body("e" + std::to_string(i), 50, "v"));
  write_all(*c, burst);
  auto replies = read_replies(*c, kN);
  for (auto& [sess, f] : replies) EXPECT_TRUE(f.ok()) << "session " << sess;
  // INFO does not touch keys: only an active sweep can bring the count down.
  for (int i = 0; i < 4; ++i) server().advance_clock(100);  // four sweeps
  EXPECT_EQ(info_value(*c, "kv_keys"), 1);
  EXPECT_EQ(kv_get(*c, "keeper"), "no ttl");
}

// ---- INFO -------------------------------------------------------------------

TEST_F(Kv, InfoKvKeysCountsSetsAndDels) {
  auto c = connect();
  EXPECT_EQ(info_value(*c, "kv_keys"), 0);
  kv_set(*c, "a", "1");
  kv_set(*c, "b", "2");
  kv_set(*c, "c", "3");
  EXPECT_EQ(info_value(*c, "kv_keys"), 3);
  kv_set(*c, "a", "overwrite");
  EXPECT_EQ(info_value(*c, "kv_keys"), 3);
  ASSERT_TRUE(call(*c, kKv, kDel, "b").ok());
  EXPECT_EQ(info_value(*c, "kv_keys"), 2);
  ASSERT_TRUE(call(*c, kKv, kIncr, incr_body("d", 1)).ok());
  EXPECT_EQ(info_value(*c, "kv_keys"), 3);
}

TEST_F(Kv, InfoKvBytesGrowsWithSetsAndShrinksWithDels) {
  auto c = connect();
  const int64_t empty = info_value(*c, "kv_bytes");
  ASSERT_GE(empty, 0) << "INFO has no kv_bytes";
  kv_set(*c, "k", std::string(1000, 'v'));
  const int64_t big = info_value(*c, "kv_bytes");
  EXPECT_GE(big - empty, 1000);
  kv_set(*c, "k", std::string(10, 'v'));
  const int64_t small = info_value(*c, "kv_bytes");
  EXPECT_EQ(big - small, 990) << "overwrite not accounted";
  ASSERT_TRUE(call(*c, kKv, kDel, "k").ok());
  EXPECT_EQ(info_value(*c, "kv_bytes"), empty);
}

TEST_F(Kv, InfoKvBytesReturnsToZeroAfterIncrAndDel) {
  auto c = connect();
  const int64_t empty = info_value(*c, "kv_bytes");
  ASSERT_TRUE(call(*c, kKv, kIncr, incr_body("n", 9)).ok());
  ASSERT_TRUE(call(*c, kKv, kIncr, incr_body("n", 991)).ok());  // "1000"
  EXPECT_GT(info_value(*c, "kv_bytes"), empty);
  ASSERT_TRUE(call(*c, kKv, kDel, "n").ok());
  EXPECT_EQ(info_value(*c, "kv_bytes"), empty);
}

TEST_F(Kv, InfoKvBytesReturnsToZeroAfterExpiry) {
  auto c = connect();
  const int64_t empty = info_value(*c, "kv_bytes");
  kv_set(*c, "t", std::string(500, 'v'), 50);
  EXPECT_TRUE(
      eventually([&] { return info_value(*c, "kv_bytes") == empty; }))
      << "kv_bytes still " << info_value(*c, "kv_bytes");
}
