// The RESP2 parser (src/resp.h) the cluster's Redis client reads replies
// with, and the redis:// URL of --cluster.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "redis.h"
#include "resp.h"

namespace {

using hazel::resp::Limits;
using hazel::resp::Type;
using hazel::resp::Value;

long parse(const std::string& s, Value* v = nullptr, Limits lim = Limits()) {
  return hazel::resp::parse(reinterpret_cast<const uint8_t*>(s.data()),
                            s.size(), lim, v);
}

// Every proper prefix of a complete value needs more, and the whole value
// measures exactly its size.
void expect_whole_only_when_complete(const std::string& s) {
  for (size_t cut = 0; cut < s.size(); ++cut)
    EXPECT_EQ(parse(s.substr(0, cut)), 0) << "cut at " << cut << " of '" << s << "'";
  EXPECT_EQ(parse(s), static_cast<long>(s.size()));
}

TEST(RespParser, EveryKindNeedsMoreAtEverySplitPoint) {
  for (const char* s : {"+OK\r\n", "-ERR wrong\r\n", ":-42\r\n", "$5\r\nhe\r\no\r\n",
                        "$0\r\n\r\n", "$-1\r\n", "*-1\r\n", "*0\r\n",
                        "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nabc\r\n",
                        "*2\r\n*2\r\n:1\r\n:2\r\n*1\r\n+x\r\n"})
    expect_whole_only_when_complete(s);
}

TEST(RespParser, SimpleStringAndError) {
  // Values point into the bytes parsed: those must outlive them.
  Value v;
  const std::string pong = "+PONG\r\n";
  EXPECT_EQ(parse(pong, &v), 7);
  EXPECT_EQ(v.type, Type::kSimple);
  EXPECT_EQ(v.str, "PONG");
  const std::string err =
      "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
  EXPECT_EQ(parse(err, &v), static_cast<long>(err.size()));
  EXPECT_TRUE(v.is_error());
  EXPECT_EQ(v.str, err.substr(1, err.size() - 3));
}

TEST(RespParser, IntegersIncludingTheExtremes) {
  Value v;
  EXPECT_GT(parse(":9223372036854775807\r\n", &v), 0);
  EXPECT_EQ(v.integer, INT64_MAX);
  EXPECT_GT(parse(":-9223372036854775808\r\n", &v), 0);
  EXPECT_EQ(v.integer, INT64_MIN);
  EXPECT_EQ(parse(":9223372036854775808\r\n"), -1);
  EXPECT_EQ(parse(":-9223372036854775809\r\n"), -1);
  EXPECT_EQ(parse(":+1\r\n"), -1);
  EXPECT_EQ(parse(":\r\n"), -1);
  EXPECT_EQ(parse(":-\r\n"), -1);
  EXPECT_EQ(parse(":1x\r\n"), -1);
}

TEST(RespParser, BulkIsBinarySafe) {
  Value v;
  std::string body("a\r\n\0b", 5);
  std::string s = "$5\r\n" + body + "\r\n";
  EXPECT_EQ(parse(s, &v), static_cast<long>(s.size()));
  EXPECT_EQ(v.type, Type::kBulk);
  EXPECT_EQ(v.str, body);
}

TEST(RespParser, NullBulkAndNullArray) {
  Value v;
  v.type = Type::kInteger;
  EXPECT_EQ(parse("$-1\r\n", &v), 5);
  EXPECT_TRUE(v.is_null());
  v.type = Type::kInteger;
  EXPECT_EQ(parse("*-1\r\n", &v), 5);
  EXPECT_TRUE(v.is_null());
}

TEST(RespParser, NestedArrays) {
  Value v;
  std::string s = "*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+end\r\n";
  EXPECT_EQ(parse(s, &v), static_cast<long>(s.size()));
  ASSERT_EQ(v.type, Type::kArray);
  ASSERT_EQ(v.items.size(), 3u);
  EXPECT_EQ(v.items[0].integer, 1);
  ASSERT_EQ(v.items[1].items.size(), 2u);
  EXPECT_EQ(v.items[1].items[0].str, "a");
  EXPECT_TRUE(v.items[1].items[1].is_null());
  EXPECT_EQ(v.items[2].str, "end");
}

TEST(RespParser, OnlyTheFirstValueIsTaken) {
  Value v;
  EXPECT_EQ(parse(":1\r\n:2\r\n", &v), 4);
  EXPECT_EQ(v.integer, 1);
}

TEST(RespParser, PubSubMessageIsRecognised) {
  Value v;
  std::string s = "*3\r\n$7\r\nmessage\r\n$8\r\nhazel:to\r\n$3\r\n" + std::string("x\0y", 3) + "\r\n";
  ASSERT_EQ(parse(s, &v), static_cast<long>(s.size()));
  std::string_view ch, payload;
  ASSERT_TRUE(hazel::resp::as_message(v, &ch, &payload));
  EXPECT_EQ(ch, "hazel:to");
  EXPECT_EQ(payload, std::string_view("x\0y", 3));
}

TEST(RespParser, SubscribeConfirmationIsNotAMessage) {
  Value v;
  std::string s = "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n";
  ASSERT_GT(parse(s, &v), 0);
  std::string_view ch, payload;
  EXPECT_FALSE(hazel::resp::as_message(v, &ch, &payload));
}

TEST(RespParser, RejectsBulkAboveItsLimitBeforeItsBytesArrive) {
  Limits lim;
  lim.max_bulk = 10;
  EXPECT_EQ(parse("$11\r\n", nullptr, lim), -1);
  EXPECT_EQ(parse("$10\r\n", nullptr, lim), 0);
  EXPECT_EQ(parse("$99999999999999999999\r\n"), -1);
}

TEST(RespParser, RejectsArrayWithMoreItemsThanItsLimit) {
  Limits lim;
  lim.max_items = 2;
  EXPECT_EQ(parse("*3\r\n", nullptr, lim), -1);
  EXPECT_EQ(parse("*2\r\n:1\r\n:2\r\n", nullptr, lim), 12);
}

TEST(RespParser, RejectsNestingDeeperThanItsLimit) {
  Limits lim;
  lim.max_depth = 2;
  EXPECT_EQ(parse("*1\r\n*1\r\n:1\r\n", nullptr, lim), 12);
  EXPECT_EQ(parse("*1\r\n*1\r\n*1\r\n:1\r\n", nullptr, lim), -1);
}

TEST(RespParser, RejectsHeaderLineLongerThanItsLimit) {
  Limits lim;
  lim.max_line = 8;
  EXPECT_EQ(parse("+1234567\r\n", nullptr, lim), 10);
  EXPECT_EQ(parse("+12345678\r\n", nullptr, lim), -1);
  EXPECT_EQ(parse("+12345678", nullptr, lim), -1);  // no need to wait for more
}

TEST(RespParser, RejectsMalformedStreams) {
  EXPECT_EQ(parse("?x\r\n"), -1);
  EXPECT_EQ(parse("\r\n"), -1);
  EXPECT_EQ(parse("+OK\rX"), -1);
  EXPECT_EQ(parse("$2\r\nabcd"), -1);
  EXPECT_EQ(parse("$-2\r\n"), -1);
  EXPECT_EQ(parse("*-2\r\n"), -1);
  EXPECT_EQ(parse("*1\r\n?\r\n"), -1);
}

TEST(RespParser, CommandIsAnArrayOfBulkStrings) {
  EXPECT_EQ(hazel::resp::command({"SET", "k", ""}),
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

TEST(RedisUrl, HostPortUserPasswordAndDb) {
  hazel::RedisAddress a;
  std::string err;
  ASSERT_TRUE(hazel::parse_redis_url("redis://alice:s3cr:t@10.0.0.5:6380/2", &a, &err)) << err;
  EXPECT_EQ(a.host, "10.0.0.5");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.user, "alice");
  EXPECT_EQ(a.password, "s3cr:t");
  EXPECT_EQ(a.db, 2u);
}

TEST(RedisUrl, DefaultsAndIpv6) {
  hazel::RedisAddress a;
  std::string err;
  ASSERT_TRUE(hazel::parse_redis_url("redis://localhost", &a, &err)) << err;
  EXPECT_EQ(a.port, 6379);
  EXPECT_EQ(a.db, 0u);
  ASSERT_TRUE(hazel::parse_redis_url("redis://[::1]:7000", &a, &err)) << err;
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 7000);
}

TEST(RedisUrl, RejectsOtherSchemesAndBadPorts) {
  hazel::RedisAddress a;
  std::string err;
  EXPECT_FALSE(hazel::parse_redis_url("rediss://h:1", &a, &err));
  EXPECT_FALSE(hazel::parse_redis_url("http://h:1", &a, &err));
  EXPECT_FALSE(hazel::parse_redis_url("redis://h:0", &a, &err));
  EXPECT_FALSE(hazel::parse_redis_url("redis://h:70000", &a, &err));
  EXPECT_FALSE(hazel::parse_redis_url("redis://:1", &a, &err));
  EXPECT_FALSE(hazel::parse_redis_url("redis://h:1/x", &a, &err));
}

}  // namespace
