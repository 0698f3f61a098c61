// sys RESOLVE, SERVICES, INFO, TELL; echo as SEND; unknown ops and services;
// client ids; session and service echoed in replies. Real loopback sockets.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;

namespace {

class SysOps : public ServerTest {};

}  // namespace

TEST_F(SysOps, ResolveEchoReturnsU16One) {
  auto c = connect();
  Frame f = call(*c, kSys, kResolve, "echo");
  ASSERT_TRUE(f.ok()) << f.body;
  EXPECT_EQ(f.body, std::string("\x00\x01", 2));
}

TEST_F(SysOps, ResolveSysReturnsU16Zero) {
  auto c = connect();
  Frame f = call(*c, kSys, kResolve, "sys");
  ASSERT_TRUE(f.ok()) << f.body;
  EXPECT_EQ(f.body, std::string("\x00\x00", 2));
}

TEST_F(SysOps, ResolveUnknownNameIsNotFound) {
  auto c = connect();
  Frame f = call(*c, kSys, kResolve, "no-such-service");
  expect_status(f, Status::kNotFound);
  EXPECT_TRUE(ping_ok(*c));
}

TEST_F(SysOps, ServicesListsIdAndNameLines) {
  auto c = connect();
  Frame f = call(*c, kSys, kServices, "");
  ASSERT_TRUE(f.ok()) << f.body;
  ASSERT_FALSE(f.body.empty());
  EXPECT_EQ(f.body.back(), '\n') << "lines must be \\n-terminated";
  EXPECT_NE(("\n" + f.body).find("\n0 sys\n"), std::string::npos) << f.body;
  EXPECT_NE(("\n" + f.body).find("\n1 echo\n"), std::string::npos) << f.body;
  // Every line is "<decimal id> <name>".
  size_t pos = 0;
  while (pos < f.body.size()) {
    size_t nl = f.body.find('\n', pos);
    ASSERT_NE(nl, std::string::npos);
    std::string line = f.body.substr(pos, nl - pos);
    size_t sp = line.find(' ');
    ASSERT_NE(sp, std::string::npos) << line;
    ASSERT_GT(sp, 0u) << line;
    EXPECT_EQ(line.find_first_not_of("0123456789"), sp) << line;
    EXPECT_LT(sp + 1, line.size()) << "empty name: " << line;
    pos = nl + 1;
  }
}

TEST_F(SysOps, InfoHasEveryRequiredKeyWithNumericValue) {
  auto c = connect();
  Frame f = call(*c, kSys, kInfo, "");
  ASSERT_TRUE(f.ok()) << f.body;
  ASSERT_FALSE(f.body.empty());
  EXPECT_EQ(f.body.back(), '\n');
  auto m = parse_info(f.body);
  for (const char* key :
       {"uptime_s", "workers", "clients", "clients_total", "frames_in",
        "frames_out", "sessions_pending", "sessions_timed_out", "kv_keys",
        "rooms"}) {
    auto it = m.find(key);
    ASSERT_NE(it, m.end()) << "missing INFO key " << key << " in:\n"
                           << f.body;
    ASSERT_FALSE(it->second.empty()) << key;
    EXPECT_EQ(it->second.find_first_not_of("0123456789"), std::string::npos)
        << key << " = '" << it->second << "'";
  }
  EXPECT_EQ(m["workers"], "1");
}

TEST_F(SysOps, InfoClientsCountsOpenConnections) {
  auto a = connect();
  EXPECT_EQ(info_value(*a, "clients"), 1);
  auto b = connect();
  auto c = connect();
  ASSERT_TRUE(ping_ok(*b));
  ASSERT_TRUE(ping_ok(*c));
  EXPECT_EQ(info_value(*a, "clients"), 3);
  EXPECT_EQ(info_value(*a, "clients_total"), 3);
  c->close();
  EXPECT_TRUE(eventually([&] { return info_value(*a, "clients") == 2; }))
      << "clients still " << info_value(*a, "clients");
  EXPECT_EQ(info_value(*a, "clients_total"), 3);
}

TEST_F(SysOps, TellDeliversPushWithSenderIdAndPayload) {
  auto a = connect();
  auto b = connect();
  uint64_t a_id = hello_id(*a);
  uint64_t b_id = hello_id(*b);
  ASSERT_NE(a_id, 0u);
  ASSERT_NE(b_id, 0u);
  Frame r = call(*a, kSys, kTell, u64_bytes(b_id) + std::string("hi\0x", 4));
  ASSERT_TRUE(r.ok()) << r.body;
  EXPECT_TRUE(r.body.empty());
  Frame p;
  std::string err;
  ASSERT_TRUE(b->next_push(&p, 3000, &err)) << err;
  expect_push_frame(p, kSys, kTell, u64_bytes(a_id) + std::string("hi\0x", 4));
}

TEST_F(SysOps, TellToUnknownClientIsNotFound) {
  auto a = connect();
  Frame r = call(*a, kSys, kTell, u64_bytes(0xDEADBEEF12345ull) + "x");
  expect_status(r, Status::kNotFound);
  EXPECT_TRUE(ping_ok(*a));
}

TEST_F(SysOps, TellToDisconnectedClientIsNotFound) {
  auto a = connect();
  auto b = connect();
  uint64_t b_id = hello_id(*b);
  b->close();
  EXPECT_TRUE(eventually([&] { return info_value(*a, "clients") == 1; }));
  Frame r = call(*a, kSys, kTell, u64_bytes(b_id));
  EXPECT_EQ(r.status(), Status::kNotFound);
}

TEST_F(SysOps, TellWithBodyShorterThanEightBytesIsBadRequest) {
  auto a = connect();
  Frame r = call(*a, kSys, kTell, std::string(7, '\0'));
  expect_status(r, Status::kBadRequest);
  Frame e = call(*a, kSys, kTell, "");
  EXPECT_EQ(e.status(), Status::kBadRequest);
  EXPECT_TRUE(ping_ok(*a));
}

TEST_F(SysOps, EchoSendComesBackAsPushOneOne) {
  auto c = connect();
  std::string err;
  ASSERT_TRUE(c->send(kEcho, 1, std::string("one\0way", 7), &err)) << err;
  Frame p;
  ASSERT_TRUE(c->next_push(&p, 3000, &err)) << err;
  expect_push_frame(p, kEcho, 1, std::string("one\0way", 7));
}

TEST_F(SysOps, UnknownSysOpIsNoOpAndConnectionStaysUsable) {
  auto c = connect();
  Frame f = call(*c, kSys, 999, "x");
  expect_status(f, Status::kNoOp);
  EXPECT_EQ(f.header.service, kSys);
  EXPECT_TRUE(ping_ok(*c));
}

TEST_F(SysOps, UnknownEchoOpIsNoOpAndConnectionStaysUsable) {
  auto c = connect();
  Frame f = call(*c, kEcho, 2, "x");
  EXPECT_EQ(f.status(), Status::kNoOp);
  EXPECT_EQ(f.header.service, kEcho);
  EXPECT_TRUE(ping_ok(*c));
}

TEST_F(SysOps, UnknownServiceIsNoServiceWithServiceCopied) {
  auto c = connect();
  Frame f = call(*c, 777, 1, "x");
  expect_status(f, Status::kNoService);
  EXPECT_EQ(f.header.service, 777);
  Frame g = call(*c, 0xFFFF, 1, "");
  EXPECT_EQ(g.status(), Status::kNoService);
  EXPECT_EQ(g.header.service, 0xFFFF);
  EXPECT_TRUE(ping_ok(*c));
}

TEST_F(SysOps, ClientIdsAreDistinctAndNeverZero) {
  std::set<uint64_t> seen;
  std::vector<std::unique_ptr<BlockingClient>> open;
  for (int i = 0; i < 30; ++i) {
    auto c = connect();
    uint64_t id = hello_id(*c);
    EXPECT_NE(id, 0u);
    EXPECT_TRUE(seen.insert(id).second) << "id " << id << " reused";
    // Close every other one: ids must not be recycled either.
    if (i % 2 == 0) open.push_back(std::move(c));
  }
  EXPECT_EQ(seen.size(), 30u);
}

TEST_F(SysOps, ReplyCarriesRequestSessionIncludingZeroAndMax) {
  auto c = connect();
  for (uint32_t session : {0u, 1u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu}) {
    write_all(*c, request(kSys, kPing, session, "s"));
    Frame f = read_any(*c);
    EXPECT_EQ(f.header.kind, Kind::kReply);
    EXPECT_EQ(f.header.session, session);
    EXPECT_EQ(f.header.service, kSys);
    EXPECT_EQ(f.status(), Status::kOk);
    EXPECT_EQ(f.body, "s");
  }
}

TEST_F(SysOps, ReplyCarriesRequestServiceAndSessionForEcho) {
  auto c = connect();
  write_all(*c, request(kEcho, 1, 0xFFFFFFFFu, "e"));
  Frame f = read_any(*c);
  EXPECT_EQ(f.header.kind, Kind::kReply);
  EXPECT_EQ(f.header.service, kEcho);
  EXPECT_EQ(f.header.session, 0xFFFFFFFFu);
  EXPECT_EQ(f.body, "e");
  // An error reply carries them too.
  write_all(*c, request(kEcho, 42, 0, ""));
  Frame g = read_any(*c);
  EXPECT_EQ(g.status(), Status::kNoOp);
  EXPECT_EQ(g.header.service, kEcho);
  EXPECT_EQ(g.header.session, 0u);
}

TEST_F(SysOps, TellAsSendDeliversPushAndAnswersNothing) {
  auto a = connect();
  auto b = connect();
  uint64_t a_id = hello_id(*a);
  uint64_t b_id = hello_id(*b);
  std::string err;
  ASSERT_TRUE(a->send(kSys, kTell, u64_bytes(b_id) + "fire", &err)) << err;
  Frame p;
  ASSERT_TRUE(b->next_push(&p, 3000, &err)) << err;
  EXPECT_EQ(p.header.kind, Kind::kPush);
  EXPECT_EQ(p.header.code, kTell);
  EXPECT_EQ(p.body, u64_bytes(a_id) + "fire");
  // Nothing came back to the sender: its next frame answers its next request.
  write_all(*a, request(kSys, kPing, 42, "x"));
  Frame f = read_any(*a);
  EXPECT_EQ(f.header.kind, Kind::kReply);
  EXPECT_EQ(f.header.session, 42u);
}

TEST_F(SysOps, PingAsSendAnswersNothing) {
  auto c = connect();
  std::string err;
  ASSERT_TRUE(c->send(kSys, kPing, "one-way", &err)) << err;
  write_all(*c, request(kSys, kPing, 43, "two-way"));
  expect_reply(read_any(*c), 43u, "two-way");
}

TEST_F(SysOps, HelloReflectsConfiguredLimits) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  cfg.idle_timeout_ms = 0;
  start_server(cfg);
  auto c = connect();
  Frame f = call(*c, kSys, kHello, "");
  ASSERT_TRUE(f.ok());
  EXPECT_NE(f.body.find("max_frame=4096\n"), std::string::npos) << f.body;
  EXPECT_NE(f.body.find("idle_timeout_ms=0\n"), std::string::npos) << f.body;
}

TEST_F(SysOps, InfoFrameCountersCountEachFrameOnce) {
  auto c = connect();  // the only client of this server
  auto frames = [&] {
    Frame f = call(*c, kSys, kInfo, "");
    EXPECT_TRUE(f.ok());
    auto m = parse_info(f.body);
    return std::make_pair(std::stoll(m["frames_in"]), std::stoll(m["frames_out"]));
  };
  const auto [in0, out0] = frames();
  // A frame is counted as it is read, so this INFO counted itself; a reply
  // as it is queued, after its INFO body was made.
  EXPECT_EQ(in0, 1);
  EXPECT_EQ(out0, 0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ping_ok(*c));
  // In: 5 PINGs and this INFO. Out: the first INFO's reply and 5 PING
  // replies. Counting anything twice, or not at all, breaks the equality.
  const auto [in1, out1] = frames();
  EXPECT_EQ(in1, in0 + 6);
  EXPECT_EQ(out1, out0 + 6);
}
