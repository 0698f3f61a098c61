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

void expect_status(const Frame& f, Status want) {
  EXPECT_EQ(f.header.kind, Kind::kReply);
  EXPECT_EQ(f.status(), want)
      << "status " << f.header.code << " body '" << f.body << "'";
}

}  // namespace

// ---- GET / SET --------------------------------------------------------------

TEST(Kv, GetAbsentKeyIsNotFound) {
  TestServer s;
  s.start();
  auto c = s.connect();
  expect_status(call(*c, kKv, kGet, "nope"), Status::kNotFound);
  EXPECT_TRUE(ping_ok(*c)) << "connection unusable after NOT_FOUND";
}

TEST(Kv, SetThenGetReturnsValue) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "k", "hello");
  Frame f = call(*c, kKv, kGet, "k");
  ASSERT_TRUE(f.ok()) << f.body;
  EXPECT_EQ(f.body, "hello");
  EXPECT_EQ(f.header.service, kKv);
}

TEST(Kv, SetOverwritesValue) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "k", "first, longer value");
  kv_set(*c, "k", "2nd");
  Frame f = call(*c, kKv, kGet, "k");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.body, "2nd");
}

TEST(Kv, SetWithEmptyValueStoresEmptyValue) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "k", "");
  Frame f = call(*c, kKv, kGet, "k");
  ASSERT_TRUE(f.ok()) << "status " << f.header.code;
  EXPECT_TRUE(f.body.empty());
}

TEST(Kv, SetWithEmptyKeyIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  expect_status(call(*c, kKv, kSet, set_body("", 0, "v")), Status::kBadRequest);
  EXPECT_TRUE(ping_ok(*c));
}

TEST(Kv, SetWith513ByteKeyIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  std::string key(513, 'k');
  expect_status(call(*c, kKv, kSet, set_body(key, 0, "v")),
                Status::kBadRequest);
  EXPECT_EQ(info_value(*c, "kv_keys"), 0);
}

TEST(Kv, Key512BytesLongWorksForSetGetAndDel) {
  TestServer s;
  s.start();
  auto c = s.connect();
  std::string key(512, 'k');
  kv_set(*c, key, "v");
  Frame g = call(*c, kKv, kGet, key);
  ASSERT_TRUE(g.ok()) << "status " << g.header.code;
  EXPECT_EQ(g.body, "v");
  Frame d = call(*c, kKv, kDel, key);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.body, u8_bytes(1));
}

TEST(Kv, SetBodyShorterThanDeclaredKeyLengthIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  std::string b;
  append_u16(b, 10);
  b += "short";  // 5 of the 10 declared key bytes, no ttl
  expect_status(call(*c, kKv, kSet, b), Status::kBadRequest);
  EXPECT_EQ(info_value(*c, "kv_keys"), 0);
}

TEST(Kv, SetWithoutTtlIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  std::string b;
  append_u16(b, 3);
  b += "key";  // complete key, no ttl at all
  expect_status(call(*c, kKv, kSet, b), Status::kBadRequest);
  EXPECT_EQ(info_value(*c, "kv_keys"), 0);
}

TEST(Kv, SetWithTruncatedTtlIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  std::string b;
  append_u16(b, 3);
  b += "key";
  b += std::string(3, '\0');  // 3 of the 4 ttl bytes
  expect_status(call(*c, kKv, kSet, b), Status::kBadRequest);
  EXPECT_EQ(info_value(*c, "kv_keys"), 0);
}

TEST(Kv, SetBodyTooShortForKeyLengthFieldIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  expect_status(call(*c, kKv, kSet, std::string(1, '\0')), Status::kBadRequest);
  expect_status(call(*c, kKv, kSet, ""), Status::kBadRequest);
}

TEST(Kv, GetWithEmptyKeyIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  expect_status(call(*c, kKv, kGet, ""), Status::kBadRequest);
}

TEST(Kv, GetWith513ByteKeyIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  expect_status(call(*c, kKv, kGet, std::string(513, 'k')),
                Status::kBadRequest);
}

TEST(Kv, ValueWrittenByOneClientIsReadByAnother) {
  TestServer s;
  s.start();
  auto a = s.connect();
  auto b = s.connect();
  kv_set(*a, "shared", "from a");
  Frame f = call(*b, kKv, kGet, "shared");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.body, "from a");
}

TEST(Kv, ValueSurvivesItsWriterDisconnecting) {
  TestServer s;
  s.start();
  auto a = s.connect();
  kv_set(*a, "k", "v");
  a->close();
  auto b = s.connect();
  Frame f = call(*b, kKv, kGet, "k");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.body, "v");
}

TEST(Kv, BinaryValueWithEveryByteRoundTrips) {
  TestServer s;
  s.start();
  auto c = s.connect();
  std::string value;
  for (int rep = 0; rep < 3; ++rep)
    for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
  kv_set(*c, "bin", value);
  Frame f = call(*c, kKv, kGet, "bin");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.body, value);
}

TEST(Kv, KeysWithZeroBytesAreDistinct) {
  TestServer s;
  s.start();
  auto c = s.connect();
  const std::string k1("a\0b", 3);
  const std::string k2("a\0c", 3);
  kv_set(*c, k1, "one");
  kv_set(*c, k2, "two");
  Frame f1 = call(*c, kKv, kGet, k1);
  Frame f2 = call(*c, kKv, kGet, k2);
  ASSERT_TRUE(f1.ok());
  ASSERT_TRUE(f2.ok());
  EXPECT_EQ(f1.body, "one");
  EXPECT_EQ(f2.body, "two");
  expect_status(call(*c, kKv, kGet, std::string("a", 1)), Status::kNotFound);
}

TEST(Kv, LargestValueThatFitsMaxFrameRoundTrips) {
  TestServer s;  // default max_frame, 1 MiB
  s.start();
  auto c = s.connect();
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

TEST(Kv, SetAsSendIsPerformedWithoutReply) {
  TestServer s;
  s.start();
  auto c = s.connect();
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

TEST(Kv, UnknownOpIsNoOp) {
  TestServer s;
  s.start();
  auto c = s.connect();
  expect_status(call(*c, kKv, 5, "k"), Status::kNoOp);
  expect_status(call(*c, kKv, 0, "k"), Status::kNoOp);
  expect_status(call(*c, kKv, 0xFFFF, ""), Status::kNoOp);
  EXPECT_TRUE(ping_ok(*c));
}

// ---- DEL --------------------------------------------------------------------

TEST(Kv, DelReturnsOneThenZero) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "k", "v");
  Frame d1 = call(*c, kKv, kDel, "k");
  ASSERT_TRUE(d1.ok());
  EXPECT_EQ(d1.body, u8_bytes(1));
  Frame d2 = call(*c, kKv, kDel, "k");
  ASSERT_TRUE(d2.ok());
  EXPECT_EQ(d2.body, u8_bytes(0));
}

TEST(Kv, DelAbsentKeyReturnsZero) {
  TestServer s;
  s.start();
  auto c = s.connect();
  Frame d = call(*c, kKv, kDel, "never");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.body, u8_bytes(0));
}

TEST(Kv, GetAfterDelIsNotFound) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "k", "v");
  ASSERT_TRUE(call(*c, kKv, kDel, "k").ok());
  expect_status(call(*c, kKv, kGet, "k"), Status::kNotFound);
}

TEST(Kv, DelWithEmptyKeyIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  expect_status(call(*c, kKv, kDel, ""), Status::kBadRequest);
}

TEST(Kv, DelWith513ByteKeyIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  expect_status(call(*c, kKv, kDel, std::string(513, 'k')),
                Status::kBadRequest);
}

// ---- INCR -------------------------------------------------------------------

TEST(Kv, IncrAbsentKeyCountsFromZero) {
  TestServer s;
  s.start();
  auto c = s.connect();
  Frame f = call(*c, kKv, kIncr, incr_body("n", 5));
  ASSERT_TRUE(f.ok()) << "status " << f.header.code << ": " << f.body;
  EXPECT_EQ(f.body, "5");
  Frame g = call(*c, kKv, kGet, "n");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g.body, "5");
}

TEST(Kv, IncrAddsToStoredDecimalValue) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "n", "41");
  Frame f = call(*c, kKv, kIncr, incr_body("n", 1));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.body, "42");
  Frame g = call(*c, kKv, kGet, "n");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g.body, "42");
}

TEST(Kv, IncrNegativeDeltaIsTwosComplement) {
  TestServer s;
  s.start();
  auto c = s.connect();
  Frame f1 = call(*c, kKv, kIncr, incr_body("n", -3));
  ASSERT_TRUE(f1.ok());
  EXPECT_EQ(f1.body, "-3");
  Frame f2 = call(*c, kKv, kIncr, incr_body("n", -7));
  ASSERT_TRUE(f2.ok());
  EXPECT_EQ(f2.body, "-10");
  Frame f3 = call(*c, kKv, kIncr, incr_body("n", 10));
  ASSERT_TRUE(f3.ok());
  EXPECT_EQ(f3.body, "0");
}

TEST(Kv, IncrOnNonIntegerValueIsBadRequestAndKeepsValue) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "n", "abc");
  expect_status(call(*c, kKv, kIncr, incr_body("n", 1)), Status::kBadRequest);
  Frame g = call(*c, kKv, kGet, "n");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g.body, "abc");
}

TEST(Kv, IncrOnDecimalWithTrailingBytesIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "n", std::string("12\0", 3));
  expect_status(call(*c, kKv, kIncr, incr_body("n", 1)), Status::kBadRequest);
}

TEST(Kv, IncrOnEmptyValueIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "n", "");
  expect_status(call(*c, kKv, kIncr, incr_body("n", 1)), Status::kBadRequest);
}

TEST(Kv, IncrReachingI64MaxWorks) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "n", "9223372036854775806");
  Frame f = call(*c, kKv, kIncr, incr_body("n", 1));
  ASSERT_TRUE(f.ok()) << "status " << f.header.code;
  EXPECT_EQ(f.body, "9223372036854775807");
}

TEST(Kv, IncrOverflowingI64IsBadRequestAndKeepsValue) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "n", "9223372036854775807");
  expect_status(call(*c, kKv, kIncr, incr_body("n", 1)), Status::kBadRequest);
  Frame g = call(*c, kKv, kGet, "n");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g.body, "9223372036854775807");
}

TEST(Kv, IncrUnderflowingI64IsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "n", "-9223372036854775808");
  expect_status(call(*c, kKv, kIncr, incr_body("n", -1)), Status::kBadRequest);
}

TEST(Kv, IncrAbsentKeyByI64MinWorks) {
  TestServer s;
  s.start();
  auto c = s.connect();
  Frame f =
      call(*c, kKv, kIncr, incr_body("n", std::numeric_limits<int64_t>::min()));
  ASSERT_TRUE(f.ok()) << "status " << f.header.code;
  EXPECT_EQ(f.body, "-9223372036854775808");
}

TEST(Kv, IncrWithSevenByteDeltaIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  std::string b = incr_body("n", 1);
  b.pop_back();
  expect_status(call(*c, kKv, kIncr, b), Status::kBadRequest);
  expect_status(call(*c, kKv, kGet, "n"), Status::kNotFound);
}

TEST(Kv, IncrWithNineByteDeltaIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  std::string b = incr_body("n", 1);
  b.push_back('\0');
  expect_status(call(*c, kKv, kIncr, b), Status::kBadRequest);
  expect_status(call(*c, kKv, kGet, "n"), Status::kNotFound);
}

TEST(Kv, IncrWithEmptyKeyIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  expect_status(call(*c, kKv, kIncr, incr_body("", 1)), Status::kBadRequest);
}

TEST(Kv, IncrWith513ByteKeyIsBadRequest) {
  TestServer s;
  s.start();
  auto c = s.connect();
  expect_status(call(*c, kKv, kIncr, incr_body(std::string(513, 'k'), 1)),
                Status::kBadRequest);
}

TEST(Kv, PipelinedIncrsAreEachCounted) {
  TestServer s;
  s.start();
  auto c = s.connect();
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

TEST(Kv, KeyWithTtlIsVisibleBeforeAndNotFoundAfterExpiry) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "t", "v", 100);
  Frame before = call(*c, kKv, kGet, "t");
  ASSERT_TRUE(before.ok()) << "expired too early, status "
                           << before.header.code;
  EXPECT_EQ(before.body, "v");
  std::this_thread::sleep_for(Ms(250));
  expect_status(call(*c, kKv, kGet, "t"), Status::kNotFound);
}

TEST(Kv, DelOfExpiredKeyReturnsZero) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "t", "v", 50);
  std::this_thread::sleep_for(Ms(150));
  Frame d = call(*c, kKv, kDel, "t");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.body, u8_bytes(0));
}

TEST(Kv, SetWithTtlZeroClearsEarlierTtl) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "t", "short-lived", 50);
  kv_set(*c, "t", "forever", 0);
  std::this_thread::sleep_for(Ms(300));  // past the old deadline and a sweep
  Frame f = call(*c, kKv, kGet, "t");
  ASSERT_TRUE(f.ok()) << "key vanished, status " << f.header.code;
  EXPECT_EQ(f.body, "forever");
}

TEST(Kv, SetWithLongerTtlOutlivesEarlierShortTtl) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "t", "a", 50);
  kv_set(*c, "t", "b", 60000);
  std::this_thread::sleep_for(Ms(300));
  Frame f = call(*c, kKv, kGet, "t");
  ASSERT_TRUE(f.ok()) << "key vanished, status " << f.header.code;
  EXPECT_EQ(f.body, "b");
}

TEST(Kv, IncrOnExpiredKeyCountsFromZeroWithoutTtl) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "n", "100", 50);
  std::this_thread::sleep_for(Ms(150));
  Frame f = call(*c, kKv, kIncr, incr_body("n", 1));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.body, "1");
  std::this_thread::sleep_for(Ms(250));  // an absent key "has no TTL"
  Frame g = call(*c, kKv, kGet, "n");
  ASSERT_TRUE(g.ok()) << "status " << g.header.code;
  EXPECT_EQ(g.body, "1");
}

TEST(Kv, ExpiredKeysAreSweptWithoutBeingTouched) {
  TestServer s;
  s.start();
  auto c = s.connect();
  kv_set(*c, "keeper", "no ttl");
  constexpr uint32_t kN = 100;
  std::string burst;
  for (uint32_t i = 0; i < kN; ++i)
    burst += request(kKv, kSet, i, set_body("e" + std::to_string(i), 50, "v"));
  write_all(*c, burst);
  auto replies = read_replies(*c, kN);
  for (auto& [sess, f] : replies) EXPECT_TRUE(f.ok()) << "session " << sess;
  // INFO does not touch keys: only an active sweep can bring the count down.
  std::this_thread::sleep_for(Ms(400));
  EXPECT_TRUE(eventually([&] { return info_value(*c, "kv_keys") == 1; }, 1000))
      << "kv_keys still " << info_value(*c, "kv_keys");
  Frame f = call(*c, kKv, kGet, "keeper");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.body, "no ttl");
}

// ---- INFO -------------------------------------------------------------------

TEST(Kv, InfoKvKeysCountsSetsAndDels) {
  TestServer s;
  s.start();
  auto c = s.connect();
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

TEST(Kv, InfoKvBytesGrowsWithSetsAndShrinksWithDels) {
  TestServer s;
  s.start();
  auto c = s.connect();
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

TEST(Kv, InfoKvBytesReturnsToZeroAfterIncrAndDel) {
  TestServer s;
  s.start();
  auto c = s.connect();
  const int64_t empty = info_value(*c, "kv_bytes");
  ASSERT_TRUE(call(*c, kKv, kIncr, incr_body("n", 9)).ok());
  ASSERT_TRUE(call(*c, kKv, kIncr, incr_body("n", 991)).ok());  // "1000"
  EXPECT_GT(info_value(*c, "kv_bytes"), empty);
  ASSERT_TRUE(call(*c, kKv, kDel, "n").ok());
  EXPECT_EQ(info_value(*c, "kv_bytes"), empty);
}

TEST(Kv, InfoKvBytesReturnsToZeroAfterExpiry) {
  TestServer s;
  s.start();
  auto c = s.connect();
  const int64_t empty = info_value(*c, "kv_bytes");
  kv_set(*c, "t", std::string(500, 'v'), 50);
  EXPECT_TRUE(
      eventually([&] { return info_value(*c, "kv_bytes") == empty; }, 2000))
      << "kv_bytes still " << info_value(*c, "kv_bytes");
}
