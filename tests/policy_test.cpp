// The permission hook for embedders (hazel/policy.h): policies added to a
// daemon or by a service, over real sockets.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "hazel/policy.h"
#include "kv_room_util.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;
using namespace hazel::test::kvroom;

namespace {

// Keys under "admin:" may only be written by the user "root".
class AdminKeys final : public Policy {
 public:
  Verdict allow(const Access& a) override {
    ++asked;
    if (a.service != kv::kId || a.op == kv::kGet) return Verdict::allow();
    if (a.body.find("admin:") == std::string_view::npos) return Verdict::allow();
    if (a.user() == "root") return Verdict::allow();
    return Verdict::deny("admin keys are root's");
  }
  // Tokens are "pw:<user>" (an embedder's own scheme, not a JWT).
  AuthResult authenticate(ClientId, std::string_view token, int64_t,
                          Identity* who, std::string* reason) override {
    if (token.substr(0, 3) != "pw:") return AuthResult::kPass;
    if (token.size() == 3) {
      *reason = "no user";
      return AuthResult::kRefused;
    }
    who->user = std::string(token.substr(3));
    return AuthResult::kAccepted;
  }
  int asked = 0;
};

TEST(PolicyHook, AnEmbeddersPolicyDeniesWithItsReason) {
  TestServer server;
  AdminKeys policy;
  server.daemon().add_policy(policy);
  server.start();
  auto c = server.connect();
  expect_status(call(*c, kKv, kSet, set_body("player:1", 0, "x")), Status::kOk);
  Frame f = call(*c, kKv, kSet, set_body("admin:motd", 0, "pwned"));
  expect_status(f, Status::kDenied);
  EXPECT_EQ(f.body, "admin keys are root's");
  // A SEND it denies is dropped.
  std::string err;
  ASSERT_TRUE(c->send(kKv, kSet, set_body("admin:motd", 0, "pwned"), &err));
  expect_status(call(*c, kKv, kGet, "admin:motd"), Status::kNotFound);
  EXPECT_EQ(info_value(*c, "sends_dropped"), 1);
  server.stop();
}

TEST(PolicyHook, AnEmbeddersAuthenticationGivesTheUserItsRights) {
  TestServer server;
  AdminKeys policy;
  server.daemon().add_policy(policy);
  server.start();
  auto c = server.connect();
  Frame f = call(*c, kSys, sys::kAuth, "pw:");
  expect_status(f, Status::kDenied);
  EXPECT_EQ(f.body, "no user");
  f = call(*c, kSys, sys::kAuth, "pw:root");
  ASSERT_TRUE(f.ok()) << f.body;
  EXPECT_EQ(f.body, "user=root\nexpires=0\n");
  EXPECT_NE(call(*c, kSys, kHello, "").body.find("user=root\n"), std::string::npos);
  expect_status(call(*c, kKv, kSet, set_body("admin:motd", 0, "hi")), Status::kOk);
  server.stop();
}

TEST(PolicyHook, RequestsFromServicesAreNotAskedAbout) {
  // A service calling kv on behalf of nobody is not a client request.
  class Writer final : public Service {
   public:
    Writer() : Service("writer", 101) {}
    void on_request(const Request&, Reply reply) override {
      auto r = std::make_shared<Reply>(std::move(reply));
      ctx().call(kv::kId, kv::kSet, set_body("admin:x", 0, "v"), 0,
                 [r](Status st, std::string_view) { r->send(st, ""); });
    }
  };
  TestServer server;
  AdminKeys policy;
  Writer writer;
  server.daemon().add_policy(policy);
  ASSERT_TRUE(server.daemon().mount(writer));
  server.start();
  auto c = server.connect();
  expect_status(call(*c, 101, 1, ""), Status::kOk);  // the client asked writer
  expect_status(call(*c, kKv, kGet, "admin:x"), Status::kOk);
  server.stop();
}

// A service that brings its own policy: it only lets clients that said
// HELLO first use it.
class HelloFirst final : public Service, public Policy {
 public:
  HelloFirst() : Service("hellofirst", 102, kEventDisconnect) {}
  void on_mount() override { ctx().add_policy(*this); }
  void on_request(const Request&, Reply reply) override { reply.ok("in"); }
  void on_event(Event, ClientId c) override { greeted_.erase(c); }
  Verdict allow(const Access& a) override {
    ++asked;
    if (a.service == sys::kId && a.op == sys::kHello) greeted_.insert(a.client);
    if (a.service != id() || greeted_.count(a.client)) return Verdict::allow();
    return Verdict::deny("say HELLO first");
  }
  int asked = 0;

 private:
  std::set<ClientId> greeted_;
};

TEST(PolicyHook, AServiceCanGuardItselfWithAPolicy) {
  TestServer server;
  HelloFirst svc;
  ASSERT_TRUE(server.daemon().mount(svc));
  server.start();
  auto c = server.connect();
  Frame f = call(*c, 102, 1, "");
  expect_status(f, Status::kDenied);
  EXPECT_EQ(f.body, "say HELLO first");
  expect_status(call(*c, kSys, kHello, ""), Status::kOk);
  expect_status(call(*c, 102, 1, ""), Status::kOk);
  server.stop();
}

TEST(PolicyHook, AServicesPolicyGoesWithItsUnmount) {
  TestServer server;
  HelloFirst svc;
  ASSERT_TRUE(server.daemon().mount(svc));
  server.daemon().unmount(svc);
  server.start();
  auto c = server.connect();
  EXPECT_TRUE(ping_ok(*c));
  expect_status(call(*c, 102, 1, ""), Status::kNoService);
  server.stop();
  EXPECT_EQ(svc.asked, 0);  // nothing asks a policy whose service is gone
}

TEST(PolicyHook, OnlyAClientOfThisWorkerCanBeAuthenticated) {
  // A service that tries to authenticate a client id that is not connected.
  class Impostor final : public Service {
   public:
    Impostor() : Service("impostor", 103) {}
    void on_request(const Request& req, Reply reply) override {
      std::string why;
      const Identity* who = ctx().authenticate(req.client + 1000, "pw:root", &why);
      reply.ok(who ? "accepted" : why);
    }
  };
  TestServer server;
  AdminKeys policy;
  Impostor impostor;
  server.daemon().add_policy(policy);
  ASSERT_TRUE(server.daemon().mount(impostor));
  server.start();
  auto c = server.connect();
  Frame f = call(*c, 103, 1, "");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.body.rfind("no client ", 0), 0u) << f.body;
  EXPECT_NE(f.body.find(" on this worker"), std::string::npos) << f.body;
  server.stop();
}

}  // namespace
