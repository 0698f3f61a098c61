// The gate in front of the services: rate buckets and policies on a clock
// the test moves, identities kept per client.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "auth_util.h"
#include "gate.h"
#include "hazel/builtins.h"
#include "jwt.h"
#include "services/token_policy.h"

namespace hazel::detail {
namespace {

using Outcome = Gate::Outcome;
constexpr int64_t kNow = 1800000000;

// Allows everything but one service, counts what it saw, accepts tokens
// "user:<name>".
class FakePolicy : public Policy {
 public:
  explicit FakePolicy(uint16_t deny_service = 0xffff, const char* prefix = "user:")
      : deny_(deny_service), prefix_(prefix) {}
  Verdict allow(const Access& a) override {
    ++asked;
    last_user = std::string(a.user());
    if (a.service == deny_) return Verdict::deny("fake says no");
    return Verdict::allow();
  }
  AuthResult authenticate(ClientId, std::string_view token, int64_t now_s,
                          Identity* who, std::string* reason) override {
    if (token.substr(0, prefix_.size()) != prefix_) return AuthResult::kPass;
    std::string_view name = token.substr(prefix_.size());
    if (name == "bad") {
      *reason = "bad user";
      return AuthResult::kRefused;
    }
    who->user = std::string(name);
    who->expires_s = now_s + 10;
    return AuthResult::kAccepted;
  }
  int asked = 0;
  std::string last_user;

 private:
  uint16_t deny_;
  std::string prefix_;
};

class Throws : public Policy {
 public:
  Verdict allow(const Access&) override { throw std::runtime_error("boom"); }
  AuthResult authenticate(ClientId, std::string_view, int64_t, Identity*,
                          std::string*) override {
    throw std::runtime_error("boom");
  }
};

class GateTest : public ::testing::Test {
 protected:
  explicit GateTest(uint32_t rate = 0, uint32_t burst = 0) {
    cfg_.rate_limit = rate;
    cfg_.rate_burst = burst;
    cfg_.rate_close_ms = 3000;
    cfg_.rate_pause_ms = 1000;
    // Unix time kNow when the loop clock reads 0.
    gate_ = std::make_unique<Gate>(cfg_, clock_, kNow * 1000);
  }

  Outcome check(ClientId client, uint16_t service = 1, uint16_t op = 1,
                std::string_view body = "", bool one_way = false) {
    Request r;
    r.client = client;
    r.service = service;
    r.op = op;
    r.body = body;
    r.one_way = one_way;
    std::string_view why;
    Outcome o = gate_->check(&r, &why);
    last_user_ = std::string(r.user);
    last_reason_ = std::string(why);
    return o;
  }
  const Identity* login(ClientId client, std::string_view token) {
    std::string why;
    const Identity* who = gate_->authenticate(client, token, &why);
    last_reason_ = why;
    return who;
  }

  Config cfg_;
  uint64_t clock_ = 0;
  std::unique_ptr<Gate> gate_;
  std::string last_user_;
  std::string last_reason_;
};

class RateGateTest : public GateTest {
 protected:
  RateGateTest() : GateTest(10, 2) {}
};

TEST_F(GateTest, InactiveWithoutAPolicyOrARateLimit) {
  EXPECT_FALSE(gate_->active());
  FakePolicy p;
  gate_->add_policy(p, nullptr);
  EXPECT_TRUE(gate_->active());
  gate_->remove_policy(p);
  EXPECT_FALSE(gate_->active());
}

TEST_F(GateTest, UnixTimeFollowsTheLoopClock) {
  EXPECT_EQ(gate_->unix_now_s(), kNow);
  clock_ = 61999;
  EXPECT_EQ(gate_->unix_now_s(), kNow + 61);
}

TEST_F(GateTest, PoliciesAreAskedInOrderAndTheFirstDenyWins) {
  FakePolicy first(3), second(2);
  gate_->add_policy(first, nullptr);
  gate_->add_policy(second, nullptr);
  EXPECT_EQ(check(1, 1), Outcome::kPass);
  EXPECT_EQ(first.asked, 1);
  EXPECT_EQ(second.asked, 1);
  EXPECT_EQ(check(1, 3), Outcome::kDenied);
  EXPECT_EQ(last_reason_, "fake says no");
  EXPECT_EQ(second.asked, 1);  // not asked after a deny
  EXPECT_EQ(check(1, 2), Outcome::kDenied);
  EXPECT_EQ(gate_->denied(), 2u);
}

TEST_F(GateTest, APolicyThatThrowsDenies) {
  Throws t;
  gate_->add_policy(t, nullptr);
  EXPECT_EQ(check(1), Outcome::kDenied);
  EXPECT_EQ(last_reason_, "the server's policy failed");
  EXPECT_EQ(login(1, "user:alice"), nullptr);
  EXPECT_EQ(last_reason_, "the server's policy failed");
}

TEST_F(GateTest, AnAuthenticatedClientsRequestsCarryItsUser) {
  FakePolicy p;
  gate_->add_policy(p, nullptr);
  EXPECT_EQ(check(1), Outcome::kPass);
  EXPECT_EQ(last_user_, "");
  EXPECT_EQ(p.last_user, "");
  const Identity* who = login(1, "user:alice");
  ASSERT_NE(who, nullptr) << last_reason_;
  EXPECT_EQ(who->user, "alice");
  EXPECT_EQ(who->issuer, &p);
  EXPECT_EQ(check(1), Outcome::kPass);
  EXPECT_EQ(last_user_, "alice");
  EXPECT_EQ(p.last_user, "alice");
  EXPECT_EQ(check(2), Outcome::kPass);  // another client is not alice
  EXPECT_EQ(last_user_, "");
  EXPECT_EQ(gate_->identity(1)->user, "alice");
  EXPECT_EQ(gate_->identity(2), nullptr);
}

TEST_F(GateTest, AuthenticateAsksUntilAPolicyRecognisesTheToken) {
  FakePolicy a(0xffff, "a:"), b(0xffff, "b:");
  gate_->add_policy(a, nullptr);
  gate_->add_policy(b, nullptr);
  ASSERT_NE(login(1, "b:bob"), nullptr);
  EXPECT_EQ(gate_->identity(1)->issuer, &b);
  EXPECT_EQ(login(2, "c:carol"), nullptr);
  EXPECT_EQ(last_reason_, "no policy of this server accepts this token");
  EXPECT_EQ(login(3, "a:bad"), nullptr);
  EXPECT_EQ(last_reason_, "bad user");
  EXPECT_EQ(gate_->auth_ok(), 1u);
  EXPECT_EQ(gate_->auth_refused(), 2u);
}

TEST_F(GateTest, WithoutAPolicyAuthIsRefused) {
  EXPECT_EQ(login(1, "user:alice"), nullptr);
  EXPECT_EQ(last_reason_, "this server does not authenticate clients");
}

TEST_F(GateTest, ARefusedRefreshKeepsTheEarlierIdentity) {
  FakePolicy p;
  gate_->add_policy(p, nullptr);
  ASSERT_NE(login(1, "user:alice"), nullptr);
  EXPECT_EQ(login(1, "user:bad"), nullptr);
  ASSERT_NE(gate_->identity(1), nullptr);
  EXPECT_EQ(gate_->identity(1)->user, "alice");
}

TEST_F(GateTest, AConnectionsUserCannotChange) {
  FakePolicy p;
  gate_->add_policy(p, nullptr);
  ASSERT_NE(login(1, "user:alice"), nullptr);
  EXPECT_EQ(login(1, "user:mallory"), nullptr);
  EXPECT_EQ(last_reason_, "a connection's user cannot change (it is alice)");
  EXPECT_EQ(gate_->identity(1)->user, "alice");
  EXPECT_NE(login(1, "user:alice"), nullptr);  // a refresh as itself is fine
}

TEST_F(GateTest, ForgettingAClientDropsItsIdentity) {
  FakePolicy p;
  gate_->add_policy(p, nullptr);
  ASSERT_NE(login(1, "user:alice"), nullptr);
  EXPECT_EQ(gate_->tracked(), 1u);
  gate_->forget(1);
  EXPECT_EQ(gate_->identity(1), nullptr);
  EXPECT_EQ(gate_->tracked(), 0u);
  EXPECT_EQ(check(1), Outcome::kPass);
  EXPECT_EQ(last_user_, "");
}

TEST_F(GateTest, RemovingAPolicyDropsTheIdentitiesItIssued) {
  FakePolicy a(0xffff, "a:"), b(0xffff, "b:");
  gate_->add_policy(a, nullptr);
  gate_->add_policy(b, nullptr);
  ASSERT_NE(login(1, "a:alice"), nullptr);
  ASSERT_NE(login(2, "b:bob"), nullptr);
  gate_->remove_policy(a);
  EXPECT_EQ(gate_->identity(1), nullptr);
  ASSERT_NE(gate_->identity(2), nullptr);
  int owner = 0;
  gate_->add_policy(a, &owner);
  gate_->remove_owned_by(&owner);
  EXPECT_EQ(a.asked, 0);
  EXPECT_EQ(check(3), Outcome::kPass);
  EXPECT_EQ(a.asked, 0);
  EXPECT_EQ(b.asked, 1);
}

TEST_F(GateTest, TokensExpireOnTheLoopClockUntilAFreshAuth) {
  auto tokens = services::make_token_policy({test::kTestKey});
  gate_->add_policy(*tokens, nullptr);
  TokenClaims c;
  c.sub = "alice";
  c.exp = kNow + 60;
  ASSERT_NE(login(1, jwt_mint(c, test::kTestKey)), nullptr) << last_reason_;
  EXPECT_EQ(check(1, echo::kId, echo::kEcho), Outcome::kPass);
  clock_ = 59999;
  EXPECT_EQ(check(1, echo::kId, echo::kEcho), Outcome::kPass);
  clock_ = 60000;
  EXPECT_EQ(check(1, echo::kId, echo::kEcho), Outcome::kDenied);
  EXPECT_EQ(last_reason_, "token expired: send sys AUTH with a fresh token");
  // A token that expired is refused by AUTH too; a fresh one brings it back.
  EXPECT_EQ(login(1, jwt_mint(c, test::kTestKey)), nullptr);
  EXPECT_EQ(last_reason_, "token expired");
  c.exp = kNow + 120;
  ASSERT_NE(login(1, jwt_mint(c, test::kTestKey)), nullptr) << last_reason_;
  EXPECT_EQ(check(1, echo::kId, echo::kEcho), Outcome::kPass);
}

TEST_F(RateGateTest, OverTheRateIsBusyAndForTooLongClosed) {
  EXPECT_TRUE(gate_->active());
  EXPECT_EQ(check(1), Outcome::kPass);
  EXPECT_EQ(check(1), Outcome::kPass);
  EXPECT_EQ(check(1), Outcome::kBusy);
  EXPECT_EQ(last_reason_, "over the rate limit of 10 requests per second");
  // Asking every 50 ms: one in two is served, the rest refused, no pause.
  // Refused at 0, 50, 150, 250, ...: the first refusal 3 s on closes.
  Outcome last = Outcome::kBusy;
  while (clock_ < 10000 && last != Outcome::kClose) {
    clock_ += 50;
    last = check(1);
  }
  EXPECT_EQ(last, Outcome::kClose);
  EXPECT_EQ(clock_, 3050u);
  EXPECT_EQ(gate_->rate_closed(), 1u);
}

TEST_F(RateGateTest, EachClientHasItsOwnBucket) {
  EXPECT_EQ(check(1), Outcome::kPass);
  EXPECT_EQ(check(1), Outcome::kPass);
  EXPECT_EQ(check(1), Outcome::kBusy);
  EXPECT_EQ(check(2), Outcome::kPass);
  EXPECT_EQ(check(2), Outcome::kPass);
}

TEST_F(RateGateTest, TheRateIsCheckedBeforeThePolicies) {
  FakePolicy p;
  gate_->add_policy(p, nullptr);
  check(1);
  check(1);
  EXPECT_EQ(p.asked, 2);
  EXPECT_EQ(check(1), Outcome::kBusy);
  EXPECT_EQ(p.asked, 2);
}

TEST_F(RateGateTest, ChargeSpendsTheClientsBucket) {
  EXPECT_EQ(check(1), Outcome::kPass);  // 1 left
  gate_->charge(1, 5);                  // 4 in debt
  gate_->charge(99, 5);                 // unknown client: nothing
  clock_ = 400;                         // refilled 4: at zero
  EXPECT_EQ(check(1), Outcome::kBusy);
  clock_ = 500;
  EXPECT_EQ(check(1), Outcome::kPass);
  EXPECT_EQ(check(99), Outcome::kPass);
}

TEST_F(RateGateTest, StoppedSendsAreCounted) {
  check(1, 1, 1, "", true);
  check(1, 1, 1, "", true);
  EXPECT_EQ(check(1, 1, 1, "", true), Outcome::kBusy);
  EXPECT_EQ(check(1, 1, 1, "", false), Outcome::kBusy);
  EXPECT_EQ(gate_->sends_stopped(), 1u);
  EXPECT_EQ(gate_->rate_limited(), 2u);
}

TEST_F(RateGateTest, ForgettingAClientRefillsNothingForIt) {
  check(1);
  check(1);
  EXPECT_EQ(check(1), Outcome::kBusy);
  gate_->forget(1);
  // A new connection starts full; the id is never reused in a run anyway.
  EXPECT_EQ(check(1), Outcome::kPass);
}

}  // namespace
}  // namespace hazel::detail
