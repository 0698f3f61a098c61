// hazel-bench's reply checks (tools/bench/verify.h) against workloads built
// as the real command line builds them.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/options.h"
#include "bench/verify.h"
#include "bench/workload.h"
#include "hazel/builtins.h"
#include "hazel/frame.h"

namespace {

using hazel::FrameHeader;
using hazel::Kind;
using hazel_bench::Workload;

Workload workload_for(std::vector<std::string> args) {
  std::vector<char*> argv{const_cast<char*>("hazel-bench")};
  for (std::string& a : args) argv.push_back(a.data());
  hazel_bench::Options o =
      hazel_bench::parse_args(static_cast<int>(argv.size()), argv.data());
  return hazel_bench::make_workload(o);
}

FrameHeader reply(uint16_t service, hazel::Status status) {
  FrameHeader f;
  f.kind = Kind::kReply;
  f.service = service;
  f.code = static_cast<uint16_t>(status);
  return f;
}

FrameHeader push(uint16_t service, uint16_t code) {
  FrameHeader f;
  f.kind = Kind::kPush;
  f.service = service;
  f.code = code;
  return f;
}

// What a member receives for publish number `seq` from publisher 0.
std::string delivery(const Workload& w, uint64_t seq) {
  std::string d = w.delivery;
  hazel::put_u64(reinterpret_cast<uint8_t*>(d.data() + w.delivery_seq_at), seq);
  return d;
}

TEST(Verify, PingReplyMustEchoThePayload) {
  Workload w = workload_for({"-m", "ping", "-s", "5"});
  std::string why;
  EXPECT_TRUE(check_reply(w, reply(hazel::sys::kId, hazel::Status::kOk),
                          w.payload, &why));
  EXPECT_FALSE(check_reply(w, reply(hazel::sys::kId, hazel::Status::kOk),
                           w.payload + "!", &why));
  EXPECT_NE(why.find("expected"), std::string::npos) << why;
}

TEST(Verify, ErrorStatusIsNamedByTheLibrary) {
  Workload w = workload_for({"-m", "kv-get"});
  std::string why;
  EXPECT_FALSE(check_reply(w, reply(hazel::kv::kId, hazel::Status::kNotFound),
                           "", &why));
  EXPECT_NE(why.find("NOT_FOUND"), std::string::npos) << why;
}

TEST(Verify, ReplyFromAnotherServiceIsWrong) {
  Workload w = workload_for({"-m", "echo"});
  std::string why;
  EXPECT_FALSE(check_reply(w, reply(hazel::sys::kId, hazel::Status::kOk),
                           w.payload, &why));
}

TEST(Verify, DeliveriesMustComeInSequence) {
  Workload w = workload_for({"-m", "publish", "-s", "16"});
  uint64_t expect = 0;
  std::string why;
  EXPECT_TRUE(check_delivery(w, &expect, delivery(w, 0), &why)) << why;
  EXPECT_TRUE(check_delivery(w, &expect, delivery(w, 1), &why)) << why;
  EXPECT_EQ(expect, 2u);
}

TEST(Verify, ADeliveryGapIsReportedOnceThenResynchronised) {
  Workload w = workload_for({"-m", "publish", "-s", "16"});
  uint64_t expect = 0;
  std::string why;
  EXPECT_FALSE(check_delivery(w, &expect, delivery(w, 3), &why));
  EXPECT_NE(why.find("#3 arrived where #0 was due"), std::string::npos) << why;
  EXPECT_TRUE(check_delivery(w, &expect, delivery(w, 4), &why)) << why;
}

TEST(Verify, TellPushMustComeFromAKnownSender) {
  Workload w = workload_for({"-m", "tell"});
  std::string body(8, '\0');
  hazel::put_u64(reinterpret_cast<uint8_t*>(body.data()), 77);
  body += w.payload;
  std::vector<uint64_t> senders{77};
  std::vector<uint64_t> others{78};
  FrameHeader f = push(hazel::sys::kId, hazel::sys::kTell);
  std::string why;
  EXPECT_TRUE(check_tell_push(w, f, body, senders, &why)) << why;
  EXPECT_FALSE(check_tell_push(w, f, body, others, &why));
  EXPECT_FALSE(check_tell_push(w, push(hazel::echo::kId, hazel::echo::kEcho),
                               body, senders, &why));
  EXPECT_FALSE(check_tell_push(w, f, body + "x", senders, &why));
}

TEST(Workload, KeysSpreadRequestsOverDistinctKeys) {
  Workload one = workload_for({"-m", "kv-get"});
  ASSERT_EQ(one.requests.size(), 1u);
  EXPECT_NE(one.requests[0].find("bench:key"), std::string::npos);

  Workload many = workload_for({"-m", "kv-set", "--keys", "3"});
  ASSERT_EQ(many.requests.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NE(many.requests[i].find(hazel_bench::key_name(i, 3)),
              std::string::npos);
  }
  EXPECT_EQ(hazel_bench::key_name(2, 3), "bench:key:2");
  EXPECT_EQ(hazel_bench::key_name(0, 1), "bench:key");
}

}  // namespace
