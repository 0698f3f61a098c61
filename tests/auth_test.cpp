// Token authentication over real sockets: an in-process server started with
// a secret file (Config::auth_secret_file), clients that AUTH with tokens
// minted by the tests.
#include <gtest/gtest.h>

#include <string>

#include "auth_util.h"
#include "kv_room_util.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;
using namespace hazel::test::kvroom;

namespace {

class AuthTest : public ServerTest {
 protected:
  AuthTest() : secret_(kTestKey + "\n") {}
  void SetUp() override {
    Config cfg = test_config();
    cfg.auth_secret_file = secret_.path();
    start_server(cfg);
  }
  // A client that authenticated with a token of `spec`.
  std::unique_ptr<BlockingClient> login(const TokenSpec& spec) {
    auto c = connect();
    Frame f = auth(*c, mint(spec));
    EXPECT_TRUE(f.ok()) << "AUTH: " << f.body;
    return c;
  }
  std::unique_ptr<BlockingClient> login() { return login(TokenSpec{}); }

  TempFile secret_;
};

void expect_denied(const Frame& f, std::string_view reason = {}) {
  expect_status(f, Status::kDenied);
  if (!reason.empty()) {
    EXPECT_EQ(f.body, reason);
  }
}

TEST_F(AuthTest, BeforeAuthOnlyPingHelloAndAuthAreServed) {
  auto c = connect();
  EXPECT_TRUE(ping_ok(*c));
  expect_status(call(*c, kSys, kHello, ""), Status::kOk);
  const std::string why = "not authenticated: send sys AUTH with a token first";
  expect_denied(call(*c, kSys, kResolve, "kv"), why);
  expect_denied(call(*c, kSys, kServices, ""), why);
  expect_denied(call(*c, kSys, kInfo, ""), why);
  expect_denied(call(*c, kSys, kTell, u64_bytes(1) + "hi"), why);
  expect_denied(call(*c, kEcho, echo::kEcho, "x"), why);
  expect_denied(call(*c, kKv, kGet, "k"), why);
  expect_denied(call(*c, kKv, kSet, set_body("k", 0, "v")), why);
  expect_denied(call(*c, kRoom, kJoin, "lobby"), why);
  expect_denied(call(*c, kRoom, kMembers, "lobby"), why);
  // The connection is still usable, and AUTH opens it.
  expect_status(auth(*c, mint({})), Status::kOk);
  expect_status(call(*c, kEcho, echo::kEcho, "x"), Status::kOk);
}

TEST_F(AuthTest, ASendBeforeAuthIsDroppedAndCounted) {
  auto c = connect();
  std::string err;
  ASSERT_TRUE(c->send(kEcho, echo::kEcho, "one-way", &err)) << err;
  EXPECT_TRUE(no_push_pending(*c));  // no echo PUSH came back
  auto admin = login();
  EXPECT_EQ(info_value(*admin, "sends_dropped"), 1);
  EXPECT_EQ(info_value(*admin, "denied"), 1);
}

TEST_F(AuthTest, AuthAnswersUserAndExpiryAndHelloShowsTheUser) {
  auto c = connect();
  Frame hello = call(*c, kSys, kHello, "");
  EXPECT_EQ(hello.body.find("user="), std::string::npos) << hello.body;
  TokenSpec spec;
  spec.sub = "alice";
  int64_t before = unix_now();
  Frame f = auth(*c, mint(spec));
  ASSERT_TRUE(f.ok()) << f.body;
  ASSERT_EQ(f.body.rfind("user=alice\nexpires=", 0), 0u) << f.body;
  int64_t expires = atoll(f.body.c_str() + f.body.find("expires=") + 8);
  EXPECT_GE(expires, before + spec.ttl_s);
  EXPECT_LE(expires, unix_now() + spec.ttl_s);
  hello = call(*c, kSys, kHello, "");
  EXPECT_NE(hello.body.find("\nuser=alice\n"), std::string::npos) << hello.body;
}

TEST_F(AuthTest, ATokenAllowsExactlyItsRoomsAndNoOthers) {
  TokenSpec spec;
  spec.rooms = {"lobby", "game:*"};
  auto c = login(spec);
  expect_status(call(*c, kRoom, kJoin, "lobby"), Status::kOk);
  expect_status(call(*c, kRoom, kJoin, "game:7"), Status::kOk);
  expect_status(call(*c, kRoom, kPublish, publish_body("game:7", "hi")), Status::kOk);
  RoomPush push;
  EXPECT_TRUE(parse_room_push(expect_push(*c), &push));
  expect_status(call(*c, kRoom, kMembers, "lobby"), Status::kOk);
  const std::string why = "the token does not allow this room";
  expect_denied(call(*c, kRoom, kJoin, "admin"), why);
  expect_denied(call(*c, kRoom, kJoin, "lobby2"), why);
  expect_denied(call(*c, kRoom, kJoin, "game"), why);
  expect_denied(call(*c, kRoom, kPublish, publish_body("admin", "hi")), why);
  expect_denied(call(*c, kRoom, kMembers, "admin"), why);
  expect_status(call(*c, kRoom, kLeave, "lobby"), Status::kOk);
}

TEST_F(AuthTest, MembersOfARoomAreListedOnlyToUsersAllowedInIt) {
  TokenSpec insider;
  insider.sub = "insider";
  insider.rooms = {"secret"};
  auto in = login(insider);
  expect_status(call(*in, kRoom, kJoin, "secret"), Status::kOk);
  auto out = login();
  expect_denied(call(*out, kRoom, kMembers, "secret"));
  EXPECT_EQ(body_ids(call(*in, kRoom, kMembers, "secret")).size(), 1u);
}

TEST_F(AuthTest, ATokenAllowsWritingExactlyItsKvPrefixes) {
  TokenSpec spec;
  spec.kv = {"score:alice:"};
  auto c = login(spec);
  expect_status(call(*c, kKv, kSet, set_body("score:alice:1", 0, "10")), Status::kOk);
  expect_status(call(*c, kKv, kIncr, incr_body("score:alice:1", 5)), Status::kOk);
  expect_status(call(*c, kKv, kDel, "score:alice:1"), Status::kOk);
  const std::string why = "the token does not allow writing this key";
  expect_denied(call(*c, kKv, kSet, set_body("score:bob:1", 0, "99")), why);
  expect_denied(call(*c, kKv, kIncr, incr_body("score:bob:1", 1)), why);
  expect_denied(call(*c, kKv, kDel, "score:bob:1"), why);
  expect_denied(call(*c, kKv, kSet, set_body("score:alice", 0, "x")), why);
  // Reads are open without kv_read.
  expect_status(call(*c, kKv, kGet, "score:bob:1"), Status::kNotFound);
}

TEST_F(AuthTest, KvReadNarrowsWhatMayBeRead) {
  TokenSpec writer;
  writer.kv = {""};
  auto w = login(writer);
  expect_status(call(*w, kKv, kSet, set_body("public:news", 0, "hi")), Status::kOk);
  expect_status(call(*w, kKv, kSet, set_body("private:x", 0, "no")), Status::kOk);
  TokenSpec reader;
  reader.sub = "reader";
  reader.has_kv_read = true;
  reader.kv_read = {"public:"};
  auto r = login(reader);
  Frame f = call(*r, kKv, kGet, "public:news");
  EXPECT_TRUE(f.ok());
  EXPECT_EQ(f.body, "hi");
  expect_denied(call(*r, kKv, kGet, "private:x"),
                "the token does not allow reading this key");
}

TEST_F(AuthTest, TellNeedsTheTellClaim) {
  auto target = login();
  uint64_t id = hello_id(*target);
  auto quiet = login();
  expect_denied(call(*quiet, kSys, kTell, u64_bytes(id) + "hi"),
                "the token does not allow TELL");
  TokenSpec talker;
  talker.sub = "talker";
  talker.tell = true;
  auto loud = login(talker);
  expect_status(call(*loud, kSys, kTell, u64_bytes(id) + "hi"), Status::kOk);
  Frame p = expect_push(*target);
  EXPECT_EQ(p.header.code, kTell);
  EXPECT_EQ(p.body.substr(8), "hi");
}

TEST_F(AuthTest, ABadTokenIsDeniedAndTheConnectionStaysUsable) {
  auto c = connect();
  TokenSpec wrong_key;
  wrong_key.key = std::string(40, 'w');
  Frame f = auth(*c, mint(wrong_key));
  expect_denied(f, "token signature does not match");
  expect_denied(auth(*c, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJyb290IiwiZXhwIjo5OTk5OTk5OTk5fQ."),
                "token algorithm is not HS256");
  expect_denied(auth(*c, std::string(9000, 'x')), "token longer than 8192 bytes");
  TokenSpec expired;
  expired.ttl_s = -10;
  expect_denied(auth(*c, mint(expired)), "token expired");
  EXPECT_TRUE(ping_ok(*c));
  expect_status(auth(*c, mint({})), Status::kOk);
}

TEST_F(AuthTest, AfterExpiryDeniedUntilARefreshOnTheSameConnection) {
  TokenSpec brief;
  brief.ttl_s = 2;
  auto c = connect();
  Frame f = auth(*c, mint(brief));
  ASSERT_TRUE(f.ok()) << f.body;
  // Served until exp (unless this machine took 2 s to get here), then not.
  ASSERT_TRUE(eventually(
      [&] { return call(*c, kEcho, echo::kEcho, "x").status() == Status::kDenied; },
      15000));
  expect_denied(call(*c, kEcho, echo::kEcho, "x"),
                "token expired: send sys AUTH with a fresh token");
  EXPECT_TRUE(ping_ok(*c));
  expect_status(auth(*c, mint({})), Status::kOk);
  expect_status(call(*c, kEcho, echo::kEcho, "x"), Status::kOk);
}

TEST_F(AuthTest, AConnectionsUserCannotChange) {
  auto c = login();
  TokenSpec other;
  other.sub = "mallory";
  expect_denied(auth(*c, mint(other)), "a connection's user cannot change (it is alice)");
  Frame hello = call(*c, kSys, kHello, "");
  EXPECT_NE(hello.body.find("user=alice\n"), std::string::npos);
}

TEST_F(AuthTest, MalformedBodiesAreStillBadRequest) {
  auto c = login();  // allows no key and no room
  expect_status(call(*c, kKv, kGet, ""), Status::kBadRequest);
  expect_status(call(*c, kKv, kSet, "\x00"), Status::kBadRequest);
  expect_status(call(*c, kRoom, kJoin, ""), Status::kBadRequest);
  expect_status(call(*c, kRoom, kPublish, std::string("\x00x", 2)), Status::kBadRequest);
}

TEST_F(AuthTest, InfoCountsAuthsAndDenials) {
  auto c = connect();
  expect_denied(auth(*c, "nonsense"));
  expect_denied(call(*c, kKv, kGet, "k"));
  auto admin = login();
  EXPECT_EQ(info_value(*admin, "auth_refused"), 1);
  EXPECT_EQ(info_value(*admin, "auth_ok"), 1);
  EXPECT_EQ(info_value(*admin, "denied"), 1);
}

// An embedder's service sees who is asking.
class WhoAmI final : public Service {
 public:
  WhoAmI() : Service("whoami", 100) {}
  void on_request(const Request& req, Reply reply) override {
    reply.ok(req.user);
  }
};

TEST(AuthEmbedding, AServiceSeesTheAuthenticatedUserName) {
  TempFile secret(kTestKey + "\n");
  Config cfg = test_config();
  cfg.auth_secret_file = secret.path();
  TestServer server(cfg);
  WhoAmI who;
  ASSERT_TRUE(server.daemon().mount(who));
  server.start();
  auto c = server.connect();
  expect_denied(call(*c, 100, 1, ""));
  TokenSpec spec;
  spec.sub = "bob";
  ASSERT_TRUE(auth(*c, mint(spec)).ok());
  Frame f = call(*c, 100, 1, "");
  EXPECT_TRUE(f.ok());
  EXPECT_EQ(f.body, "bob");
  server.stop();
}

TEST(AuthEmbedding, WithoutAuthTheUserIsEmptyAndAuthIsDenied) {
  TestServer server;
  WhoAmI who;
  ASSERT_TRUE(server.daemon().mount(who));
  server.start();
  auto c = server.connect();
  Frame f = call(*c, 100, 1, "");
  EXPECT_TRUE(f.ok());
  EXPECT_EQ(f.body, "");
  expect_denied(auth(*c, mint({})), "this server does not authenticate clients");
  EXPECT_EQ(call(*c, kSys, kHello, "").body.find("user="), std::string::npos);
  server.stop();
}

TEST(AuthEmbedding, StartFailsWhenTheSecretFileIsOpenToOthers) {
  TempFile secret(kTestKey + "\n", 0644);
  Config cfg = test_config();
  cfg.auth_secret_file = secret.path();
  Daemon d(cfg);
  std::string err;
  EXPECT_FALSE(d.start(&err));
  EXPECT_NE(err.find("mode 0644 lets group or others read or write it"),
            std::string::npos)
      << err;
}

}  // namespace
