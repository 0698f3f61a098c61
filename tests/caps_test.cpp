// Per-client caps over real sockets: what one client may hold of what
// belongs to everyone, the error it gets past the cap, and that the other
// clients are unharmed.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "hazel/service.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;

namespace {

constexpr uint16_t kHolderId = 120;
constexpr uint16_t kHoldOp = 1;  // keeps the Reply (answered at unmount)

class Holder final : public Service {
 public:
  Holder() : Service("holder", kHolderId) {}
  void on_request(const Request&, Reply reply) override {
    held_.push_back(std::move(reply));
  }
  void on_unmount() override { held_.clear(); }

 private:
  std::vector<Reply> held_;
};

class Caps : public ::testing::Test {
 protected:
  void SetUp() override {
    Config cfg = test_config();
    cfg.max_client_sessions = 4;
    server_ = std::make_unique<TestServer>(cfg);
    server_->daemon().mount(holder_);
    server_->start();
  }
  void TearDown() override { server_.reset(); }
  std::unique_ptr<BlockingClient> client() { return server_->connect(); }

  Holder holder_;
  std::unique_ptr<TestServer> server_;
};

TEST_F(Caps, SendsAnsweredLaterCountAgainstTheClientsSessionCap) {
  auto greedy = client();
  std::string err;
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(greedy->send(kHolderId, kHoldOp, "x", &err)) << err;
  // Its four held SENDs fill its cap: its own REQUEST is refused...
  Frame f = call(*greedy, kHolderId, kHoldOp, "y", 5000);
  expect_status(f, Status::kBusy);
  // ...another client's requests are answered as ever...
  auto other = client();
  EXPECT_TRUE(ping_ok(*other));
  // ...and the six SENDs past the cap were dropped and counted.
  EXPECT_EQ(info_value(*other, "sends_dropped"), 6);
  EXPECT_EQ(info_value(*other, "sessions_pending"), 4);
}

}  // namespace

namespace {

class ThrowingInfo final : public Service {
 public:
  ThrowingInfo() : Service("throwing_info", 121) {}
  void on_request(const Request&, Reply reply) override { reply.ok(); }
  void on_info(InfoSink& sink) override {
    sink.add("throwing_info_seen", 1);
    throw std::runtime_error("on_info broke");
  }
};

// An exception from on_info is contained like one from on_request: INFO is
// still answered, with everyone else's figures, and the server keeps going.
TEST(ServiceCode, ExceptionFromOnInfoLeavesInfoAnswered) {
  ThrowingInfo bad;
  TestServer s;
  s.daemon().mount(bad);
  s.start();
  auto c = s.connect();
  Frame f = call(*c, kSys, kInfo, "", 5000);
  expect_status(f, Status::kOk);
  auto m = parse_info(f.body);
  EXPECT_EQ(m["kv_keys"], "0");
  EXPECT_EQ(m["rooms"], "0");
  EXPECT_TRUE(ping_ok(*c));
}

}  // namespace
