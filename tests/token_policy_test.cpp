// The built-in token policy on its own: patterns, what each claim allows,
// expiry on a clock the test sets, and the secret file checks.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "auth_util.h"
#include "hazel/builtins.h"
#include "hazel/frame.h"
#include "hazel/policy.h"
#include "jwt.h"
#include "services/token_policy.h"

namespace hazel {
namespace {

using services::key_allowed;
using services::room_allowed;
using test::kTestKey;
using test::TempFile;

constexpr int64_t kNow = 1800000000;

TEST(TokenPatterns, RoomPatternsAreExactOrEndInAStar) {
  std::vector<std::string> p = {"lobby", "game:*"};
  EXPECT_TRUE(room_allowed(p, "lobby"));
  EXPECT_FALSE(room_allowed(p, "lobby2"));
  EXPECT_FALSE(room_allowed(p, "lobb"));
  EXPECT_TRUE(room_allowed(p, "game:"));
  EXPECT_TRUE(room_allowed(p, "game:1"));
  EXPECT_TRUE(room_allowed(p, "game:a:b"));
  EXPECT_FALSE(room_allowed(p, "game"));
  EXPECT_FALSE(room_allowed(p, "xgame:1"));
  EXPECT_FALSE(room_allowed({}, "lobby"));
  EXPECT_TRUE(room_allowed({"*"}, "anything"));
  // A star elsewhere is a character like any other.
  EXPECT_TRUE(room_allowed({"a*b"}, "a*b"));
  EXPECT_FALSE(room_allowed({"a*b"}, "axb"));
}

TEST(TokenPatterns, KvEntriesArePrefixes) {
  std::vector<std::string> p = {"score:alice:", "tmp*"};
  EXPECT_TRUE(key_allowed(p, "score:alice:"));
  EXPECT_TRUE(key_allowed(p, "score:alice:level1"));
  EXPECT_FALSE(key_allowed(p, "score:alice"));
  EXPECT_FALSE(key_allowed(p, "score:bob:level1"));
  EXPECT_TRUE(key_allowed(p, "tmp"));
  EXPECT_TRUE(key_allowed(p, "tmpfile"));
  EXPECT_FALSE(key_allowed({}, "x"));
  EXPECT_TRUE(key_allowed({"*"}, "x"));
  EXPECT_TRUE(key_allowed({""}, "x"));
}

std::string kv_body(std::string_view key, std::string_view rest = "") {
  std::string b;
  append_u16(b, static_cast<uint16_t>(key.size()));
  b.append(key);
  b.append(rest);
  return b;
}

std::string publish_body(std::string_view room) {
  std::string b;
  append_u8(b, static_cast<uint8_t>(room.size()));
  b.append(room);
  b.append("payload");
  return b;
}

class TokenPolicyTest : public ::testing::Test {
 protected:
  TokenPolicyTest() : policy_(services::make_token_policy({kTestKey})) {}

  // Authenticates with a token of these claims (exp defaults to kNow + 60).
  void login(TokenClaims c) {
    if (c.sub.empty()) c.sub = "alice";
    if (c.exp == 0) c.exp = kNow + 60;
    std::string why;
    who_ = Identity{};
    ASSERT_EQ(policy_->authenticate(7, jwt_mint(c, kTestKey), kNow, &who_, &why),
              AuthResult::kAccepted)
        << why;
    who_.issuer = policy_.get();
    logged_in_ = true;
  }

  Verdict ask(uint16_t service, uint16_t op, std::string_view body = "",
              int64_t now = kNow) {
    Access a;
    a.client = 7;
    a.identity = logged_in_ ? &who_ : nullptr;
    a.service = service;
    a.op = op;
    a.body = body;
    a.now_s = now;
    return policy_->allow(a);
  }
  bool allowed(uint16_t service, uint16_t op, std::string_view body = "",
               int64_t now = kNow) {
    return ask(service, op, body, now).allowed();
  }

  std::unique_ptr<Policy> policy_;
  Identity who_;
  bool logged_in_ = false;
};

TEST_F(TokenPolicyTest, BeforeAuthOnlyPingHelloAndAuthAreAllowed) {
  EXPECT_TRUE(allowed(sys::kId, sys::kPing));
  EXPECT_TRUE(allowed(sys::kId, sys::kHello));
  EXPECT_TRUE(allowed(sys::kId, sys::kAuth));
  for (uint16_t op : {sys::kResolve, sys::kServices, sys::kInfo, sys::kTell})
    EXPECT_FALSE(allowed(sys::kId, op)) << op;
  EXPECT_FALSE(allowed(echo::kId, echo::kEcho));
  EXPECT_FALSE(allowed(kv::kId, kv::kGet, "k"));
  EXPECT_FALSE(allowed(room::kId, room::kJoin, "lobby"));
  EXPECT_FALSE(allowed(100, 1));  // an embedder's service too
  EXPECT_EQ(ask(kv::kId, kv::kGet, "k").reason(),
            "not authenticated: send sys AUTH with a token first");
}

TEST_F(TokenPolicyTest, AuthenticateFillsTheIdentityFromTheClaims) {
  TokenClaims c;
  c.sub = "bob";
  c.exp = kNow + 99;
  login(c);
  EXPECT_EQ(who_.user, "bob");
  EXPECT_EQ(who_.expires_s, kNow + 99);
  EXPECT_NE(who_.grant, nullptr);
}

TEST_F(TokenPolicyTest, AuthenticateRefusesABadTokenWithAReason) {
  Identity who;
  std::string why;
  EXPECT_EQ(policy_->authenticate(7, "not-a-token", kNow, &who, &why),
            AuthResult::kRefused);
  EXPECT_EQ(why, "token is not three dot-separated parts");
  TokenClaims c;
  c.sub = "a";
  c.exp = kNow + 60;
  EXPECT_EQ(policy_->authenticate(7, jwt_mint(c, std::string(40, 'z')), kNow, &who, &why),
            AuthResult::kRefused);
  EXPECT_EQ(why, "token signature does not match");
}

TEST_F(TokenPolicyTest, RoomsAllowExactlyTheirPatterns) {
  TokenClaims c;
  c.rooms = {"lobby", "game:*"};
  login(c);
  EXPECT_TRUE(allowed(room::kId, room::kJoin, "lobby"));
  EXPECT_TRUE(allowed(room::kId, room::kJoin, "game:7"));
  EXPECT_FALSE(allowed(room::kId, room::kJoin, "admin"));
  EXPECT_TRUE(allowed(room::kId, room::kPublish, publish_body("game:7")));
  EXPECT_FALSE(allowed(room::kId, room::kPublish, publish_body("gamex")));
  EXPECT_TRUE(allowed(room::kId, room::kMembers, "lobby"));
  EXPECT_FALSE(allowed(room::kId, room::kMembers, "admin"));
  EXPECT_EQ(ask(room::kId, room::kJoin, "admin").reason(),
            "the token does not allow this room");
  // Leaving is always allowed (a refreshed token may allow fewer rooms).
  EXPECT_TRUE(allowed(room::kId, room::kLeave, "admin"));
}

TEST_F(TokenPolicyTest, KvWritesNeedAPrefixReadsAreOpenUnlessNarrowed) {
  TokenClaims c;
  c.kv = {"score:alice:"};
  login(c);
  std::string ttl_value = std::string(4, '\0') + "v";
  std::string delta(8, '\0');
  EXPECT_TRUE(allowed(kv::kId, kv::kSet, kv_body("score:alice:1", ttl_value)));
  EXPECT_FALSE(allowed(kv::kId, kv::kSet, kv_body("score:bob:1", ttl_value)));
  EXPECT_TRUE(allowed(kv::kId, kv::kIncr, kv_body("score:alice:n", delta)));
  EXPECT_FALSE(allowed(kv::kId, kv::kIncr, kv_body("other", delta)));
  EXPECT_TRUE(allowed(kv::kId, kv::kDel, "score:alice:1"));
  EXPECT_FALSE(allowed(kv::kId, kv::kDel, "score:bob:1"));
  EXPECT_EQ(ask(kv::kId, kv::kDel, "x").reason(),
            "the token does not allow writing this key");
  EXPECT_TRUE(allowed(kv::kId, kv::kGet, "score:bob:1"));  // no kv_read
  c.has_kv_read = true;
  c.kv_read = {"public:"};
  login(c);
  EXPECT_TRUE(allowed(kv::kId, kv::kGet, "public:news"));
  EXPECT_FALSE(allowed(kv::kId, kv::kGet, "score:bob:1"));
  EXPECT_EQ(ask(kv::kId, kv::kGet, "x").reason(),
            "the token does not allow reading this key");
}

TEST_F(TokenPolicyTest, TellNeedsTheTellClaim) {
  login(TokenClaims{});
  EXPECT_FALSE(allowed(sys::kId, sys::kTell, std::string(9, 'x')));
  EXPECT_EQ(ask(sys::kId, sys::kTell).reason(), "the token does not allow TELL");
  TokenClaims c;
  c.tell = true;
  login(c);
  EXPECT_TRUE(allowed(sys::kId, sys::kTell, std::string(9, 'x')));
}

TEST_F(TokenPolicyTest, AuthenticatedClientsMayUseTheRestOfSysEchoAndOtherServices) {
  login(TokenClaims{});
  for (uint16_t op : {sys::kPing, sys::kHello, sys::kResolve, sys::kServices,
                      sys::kInfo, sys::kAuth})
    EXPECT_TRUE(allowed(sys::kId, op)) << op;
  EXPECT_TRUE(allowed(echo::kId, echo::kEcho));
  EXPECT_TRUE(allowed(100, 42));
}

TEST_F(TokenPolicyTest, OpsOfBuiltInsItDoesNotKnowAreDenied) {
  login(TokenClaims{});
  EXPECT_FALSE(allowed(sys::kId, 99));
  EXPECT_FALSE(allowed(echo::kId, 2));
  EXPECT_FALSE(allowed(kv::kId, 9, "k"));
  EXPECT_FALSE(allowed(room::kId, 0x8001, "lobby"));
  EXPECT_EQ(ask(kv::kId, 9).reason(), "this op is not covered by tokens");
}

TEST_F(TokenPolicyTest, MalformedBodiesAreLeftToTheServiceToRefuse) {
  login(TokenClaims{});  // allows no room and no key
  EXPECT_TRUE(allowed(kv::kId, kv::kGet, ""));
  EXPECT_TRUE(allowed(kv::kId, kv::kDel, std::string(513, 'k')));
  EXPECT_TRUE(allowed(kv::kId, kv::kSet, "\x00"));
  EXPECT_TRUE(allowed(kv::kId, kv::kSet, std::string("\x00\x09short", 7)));
  EXPECT_TRUE(allowed(kv::kId, kv::kSet, kv_body("")));
  EXPECT_TRUE(allowed(room::kId, room::kJoin, ""));
  EXPECT_TRUE(allowed(room::kId, room::kJoin, std::string(256, 'r')));
  EXPECT_TRUE(allowed(room::kId, room::kPublish, ""));
  EXPECT_TRUE(allowed(room::kId, room::kPublish, std::string("\x00x", 2)));
  EXPECT_TRUE(allowed(room::kId, room::kPublish, "\x05" "ab"));
  // Well-formed, they are judged.
  EXPECT_FALSE(allowed(kv::kId, kv::kSet, kv_body("k", std::string(4, '\0'))));
  EXPECT_FALSE(allowed(room::kId, room::kPublish, "\x02" "ab"));
}

TEST_F(TokenPolicyTest, AfterExpDeniedUntilAFreshAuth) {
  TokenClaims c;
  c.exp = kNow + 60;
  c.rooms = {"lobby"};
  login(c);
  EXPECT_TRUE(allowed(room::kId, room::kJoin, "lobby", kNow + 59));
  EXPECT_FALSE(allowed(room::kId, room::kJoin, "lobby", kNow + 60));
  EXPECT_EQ(ask(room::kId, room::kJoin, "lobby", kNow + 60).reason(),
            "token expired: send sys AUTH with a fresh token");
  // PING, HELLO and AUTH still work, so the client can refresh.
  EXPECT_TRUE(allowed(sys::kId, sys::kAuth, "", kNow + 60));
  EXPECT_TRUE(allowed(sys::kId, sys::kPing, "", kNow + 60));
  c.exp = kNow + 120;
  login(c);
  EXPECT_TRUE(allowed(room::kId, room::kJoin, "lobby", kNow + 60));
}

TEST_F(TokenPolicyTest, AnIdentityFromAnotherPolicyIsNotAToken) {
  login(TokenClaims{});
  who_.issuer = nullptr;
  who_.grant.reset();
  EXPECT_FALSE(allowed(echo::kId, echo::kEcho));
}

// ---- the secret file ----------------------------------------------------------

bool load(const std::string& path, std::vector<std::string>* keys, std::string* err) {
  return services::load_secret_file(path, keys, err);
}

TEST(SecretFile, ReadsOneKeyALineSkippingBlanksAndComments) {
  std::string a(32, 'a'), b(40, 'b');
  TempFile f("# hazel keys\n\n  " + a + "  \r\n" + b);
  std::vector<std::string> keys;
  std::string err;
  ASSERT_TRUE(load(f.path(), &keys, &err)) << err;
  EXPECT_EQ(keys, (std::vector<std::string>{a, b}));
}

TEST(SecretFile, RefusesAFileGroupOrOthersMayReadOrWrite) {
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0660, 0666}) {
    TempFile f(kTestKey + "\n", mode);
    std::vector<std::string> keys;
    std::string err;
    EXPECT_FALSE(load(f.path(), &keys, &err)) << std::oct << mode;
    EXPECT_NE(err.find("lets group or others read or write it (chmod 600 it)"),
              std::string::npos)
        << err;
    EXPECT_TRUE(keys.empty());
  }
  for (mode_t mode : {0600, 0400}) {
    TempFile f(kTestKey + "\n", mode);
    std::vector<std::string> keys;
    std::string err;
    EXPECT_TRUE(load(f.path(), &keys, &err)) << std::oct << mode << ": " << err;
  }
}

TEST(SecretFile, RefusesAShortKey) {
  TempFile f(kTestKey + "\n" + std::string(31, 's') + "\n");
  std::vector<std::string> keys;
  std::string err;
  EXPECT_FALSE(load(f.path(), &keys, &err));
  EXPECT_NE(err.find("the key on line 2 is shorter than 32 bytes"), std::string::npos)
      << err;
  // The error never shows a key.
  EXPECT_EQ(err.find("sss"), std::string::npos) << err;
}

TEST(SecretFile, RefusesAFileWithoutAKey) {
  TempFile f("# nothing yet\n\n");
  std::vector<std::string> keys;
  std::string err;
  EXPECT_FALSE(load(f.path(), &keys, &err));
  EXPECT_NE(err.find("no key in it"), std::string::npos) << err;
}

TEST(SecretFile, RefusesAMissingFileAndADirectory) {
  std::vector<std::string> keys;
  std::string err;
  EXPECT_FALSE(load("/nonexistent/hazel/secret", &keys, &err));
  EXPECT_NE(err.find("No such file or directory"), std::string::npos) << err;
  EXPECT_FALSE(load("/tmp", &keys, &err));
  EXPECT_NE(err.find("not a regular file"), std::string::npos) << err;
}

}  // namespace
}  // namespace hazel
