// sys and echo over real loopback sockets.
#include <gtest/gtest.h>

#include "test_server.h"

using namespace hazel;
using hazel::test::call;
using hazel::test::ServerTest;

namespace {
class Sys : public ServerTest {};
class Echo : public ServerTest {};
}  // namespace

TEST_F(Sys, PingEchoesBody) {
  auto c = connect();
  Frame f = call(*c, 0, 1, "abc");
  EXPECT_EQ(f.header.kind, Kind::kReply);
  EXPECT_EQ(f.status(), Status::kOk);
  EXPECT_EQ(f.body, "abc");
}

TEST_F(Sys, HelloReportsClientIdAndLimits) {
  auto c = connect();
  Frame f = call(*c, 0, 2, "");
  ASSERT_TRUE(f.ok());
  EXPECT_NE(f.body.find("protocol=1\n"), std::string::npos);
  EXPECT_NE(f.body.find("server=hazel/"), std::string::npos);
  EXPECT_NE(f.body.find("client=1\n"), std::string::npos);
  EXPECT_NE(f.body.find("worker=0\n"), std::string::npos);
  EXPECT_NE(f.body.find("max_frame=1048576\n"), std::string::npos);
  EXPECT_NE(f.body.find("idle_timeout_ms=60000\n"), std::string::npos);
}

TEST_F(Echo, EchoReturnsBody) {
  auto c = connect();
  Frame f = call(*c, 1, 1, std::string("a\0b", 3));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.body, std::string("a\0b", 3));
}
