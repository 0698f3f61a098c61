// hazel-bench's RESP2 support (tools/bench/bench_resp.h): commands as arrays of
// bulk strings, and where each reply ends.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "bench/bench_resp.h"

namespace {

using hazel_bench::kMaxRespBulk;
using hazel_bench::kMaxRespLine;
using hazel_bench::resp_bulk;
using hazel_bench::resp_command;

long length_of(const std::string& s) {
  return hazel_bench::resp_length(reinterpret_cast<const uint8_t*>(s.data()),
                                  s.size());
}

TEST(Resp, CommandIsAnArrayOfBulkStrings) {
  EXPECT_EQ(resp_command({"GET", "k"}), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  EXPECT_EQ(resp_command({"PING"}), "*1\r\n$4\r\nPING\r\n");
}

TEST(Resp, BulkOfEmptyString) { EXPECT_EQ(resp_bulk(""), "$0\r\n\r\n"); }

TEST(Resp, SimpleStringErrorAndIntegerEndAtTheirLine) {
  EXPECT_EQ(length_of("+PONG\r\n"), 7);
  EXPECT_EQ(length_of("-ERR no\r\n"), 9);
  EXPECT_EQ(length_of(":42\r\n"), 5);
}

TEST(Resp, LengthCoversOnlyTheFirstValue) {
  EXPECT_EQ(length_of("+OK\r\n+OK\r\n"), 5);
}

TEST(Resp, EmptyInputNeedsMore) { EXPECT_EQ(length_of(""), 0); }

TEST(Resp, PartialLineNeedsMore) {
  EXPECT_EQ(length_of("+PON"), 0);
  EXPECT_EQ(length_of("+PONG\r"), 0);
}

TEST(Resp, BulkIncludesItsTrailer) {
  EXPECT_EQ(length_of("$5\r\nhello\r\n"), 11);
}

TEST(Resp, PartialBulkNeedsMore) {
  EXPECT_EQ(length_of("$5\r\nhel"), 0);
  EXPECT_EQ(length_of("$5\r\nhello\r"), 0);
}

TEST(Resp, NullBulkAndNullArrayAreTheirHeaderOnly) {
  EXPECT_EQ(length_of("$-1\r\n"), 5);
  EXPECT_EQ(length_of("*-1\r\n"), 5);
}

TEST(Resp, ArrayCoversItsElements) {
  std::string sub = "*3\r\n$9\r\nsubscribe\r\n$5\r\nbench\r\n:1\r\n";
  EXPECT_EQ(length_of(sub), static_cast<long>(sub.size()));
  EXPECT_EQ(length_of(sub.substr(0, sub.size() - 1)), 0);
}

TEST(Resp, RejectsBulkLengthAboveLimit) {
  EXPECT_EQ(length_of("$" + std::to_string(kMaxRespBulk + 1) + "\r\n"), -1);
  EXPECT_EQ(length_of("$" + std::to_string(kMaxRespBulk) + "\r\n"), 0);
}

TEST(Resp, RejectsBulkWithoutTrailer) {
  EXPECT_EQ(length_of("$2\r\nhiXY"), -1);
}

TEST(Resp, RejectsCrWithoutLf) { EXPECT_EQ(length_of("+OK\rX"), -1); }

TEST(Resp, RejectsUnknownType) { EXPECT_EQ(length_of("?what\r\n"), -1); }

TEST(Resp, RejectsCountThatIsNotANumber) {
  EXPECT_EQ(length_of("$x\r\n"), -1);
  EXPECT_EQ(length_of("$\r\n"), -1);
  EXPECT_EQ(length_of("*-2\r\n"), -1);
}

TEST(Resp, RejectsLineLongerThanLimit) {
  EXPECT_EQ(length_of("+" + std::string(kMaxRespLine, 'a') + "\r\n"), -1);
  EXPECT_EQ(length_of("+" + std::string(kMaxRespLine - 4, 'a') + "\r\n"),
            static_cast<long>(kMaxRespLine - 1));
}

TEST(Resp, RejectsNestingDeeperThanLimit) {
  std::string nested;
  for (int i = 0; i <= hazel_bench::kMaxRespNesting; ++i) nested += "*1\r\n";
  EXPECT_EQ(length_of(nested + ":1\r\n"), -1);
  EXPECT_EQ(length_of(nested.substr(4) + ":1\r\n"),
            static_cast<long>(nested.size()));
}

}  // namespace
