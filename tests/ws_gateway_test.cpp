// The WebSocket port's HTTP side over real sockets: a loop of its own on a
// thread with a WsGateway, and a recording UpgradeSink in place of the
// message module.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "http_util.h"
#include "loop.h"
#include "net_util.h"
#include "web_assets.h"
#include "websocket.h"
#include "ws_gateway.h"

namespace hazel::test {
namespace {

// Takes upgraded sockets and says "hi" on each.
class RecordingSink final : public UpgradeSink {
 public:
  ~RecordingSink() {
    for (int fd : fds_) ::close(fd);
  }
  void on_upgrade(int fd, std::string_view leftover) override {
    std::lock_guard<std::mutex> lock(mu_);
    fds_.push_back(fd);
    leftover_ = std::string(leftover);
    ssize_t rc = ::send(fd, "hi", 2, MSG_NOSIGNAL);
    (void)rc;
    count_ = count_ + 1;
  }
  int count() const { return count_; }
  std::string leftover() {
    std::lock_guard<std::mutex> lock(mu_);
    return leftover_;
  }

 private:
  std::mutex mu_;
  std::vector<int> fds_;
  std::string leftover_;
  std::atomic<int> count_{0};
};

Config port_config(uint32_t timeout_ms = 5000) {
  Config cfg;
  cfg.http_timeout_ms = timeout_ms;
  return cfg;
}

// A WsGateway on 127.0.0.1, its own loop running on a thread.
class WsPort {
 public:
  WsPort(Config cfg, UpgradeSink* sink) : cfg_(std::move(cfg)) {
    std::string err;
    EXPECT_TRUE(loop_.init(&err)) << err;
    ws_ = std::make_unique<WsGateway>(loop_, cfg_, sink);
    EXPECT_TRUE(ws_->http().listen("127.0.0.1", 0, false, &err)) << err;
    EXPECT_TRUE(ws_->http().start(&err)) << err;
    loop_.set_end_of_turn([](void* a) { static_cast<WsPort*>(a)->ws_->http().end_turn(); },
                          this);
    loop_.set_on_wake([](void* a) { static_cast<WsPort*>(a)->loop_.stop(); }, this);
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~WsPort() {
    loop_.wake();
    thread_.join();
  }
  uint16_t port() const { return ws_->http().port(); }

 private:
  Config cfg_;
  Loop loop_;
  std::unique_ptr<WsGateway> ws_;
  std::thread thread_;
};

class WsGatewayTest : public ::testing::Test {
 protected:
  RecordingSink sink_;
};

TEST_F(WsGatewayTest, ServesTheChatPage) {
  WsPort p(port_config(), &sink_);
  HttpReply r = http_exchange(p.port(), http_get("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.fields["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(r.fields["content-length"], std::to_string(web::kIndexHtml.size()));
  EXPECT_EQ(r.fields["connection"], "close");
  EXPECT_EQ(r.body, web::kIndexHtml);
  EXPECT_TRUE(r.closed);
}

TEST_F(WsGatewayTest, ServesTheJavaScriptClient) {
  WsPort p(port_config(), &sink_);
  HttpReply r = http_exchange(p.port(), http_get("/hazel.js"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.fields["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(r.body, web::kHazelJs);
}

TEST_F(WsGatewayTest, AnswersHeadWithTheLengthButNoBody) {
  WsPort p(port_config(), &sink_);
  HttpReply r = http_exchange(p.port(), http_get("/", {}, "HEAD"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.fields["content-length"], std::to_string(web::kIndexHtml.size()));
  EXPECT_EQ(r.body, "");
}

TEST_F(WsGatewayTest, Answers404ToOtherPaths) {
  WsPort p(port_config(), &sink_);
  EXPECT_EQ(http_exchange(p.port(), http_get("/favicon.ico")).status, 404);
  EXPECT_EQ(http_exchange(p.port(), http_get("/index.html")).status, 404);
  EXPECT_EQ(http_exchange(p.port(), http_get("/ws/x")).status, 404);
}

TEST_F(WsGatewayTest, Answers405ToOtherMethods) {
  WsPort p(port_config(), &sink_);
  HttpReply r = http_exchange(p.port(), http_get("/", "Content-Length: 0\r\n", "POST"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.fields["allow"], "GET, HEAD");
  r = http_exchange(p.port(), ws_upgrade().replace(0, 3, "PUT"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.fields["allow"], "GET");
}

TEST_F(WsGatewayTest, Answers400ToAMalformedRequest) {
  WsPort p(port_config(), &sink_);
  HttpReply r = http_exchange(p.port(), "GET / HTTP/1.1\nHost: x\n\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("CRLF"), std::string::npos) << r.body;
  EXPECT_EQ(http_exchange(p.port(), "GET / HTTP/1.1\r\n\r\n").status, 400);  // no Host
  EXPECT_EQ(http_exchange(p.port(), std::string("\x16\x03\x01\x02\x00", 5)).status, 400);
  EXPECT_EQ(http_exchange(p.port(), "GET / HTTP/2.0\r\nHost: x\r\n\r\n").status, 505);
}

TEST_F(WsGatewayTest, Answers431ToAHeadOver8KiB) {
  WsPort p(port_config(), &sink_);
  std::string big = "GET / HTTP/1.1\r\nHost: x\r\nX-Fill: " + std::string(9000, 'a');
  HttpReply r = http_exchange(p.port(), big);
  EXPECT_EQ(r.status, 431);
  EXPECT_TRUE(r.closed);
}

TEST_F(WsGatewayTest, AnswersInFullWhenTheClientSendsMoreThanItsHead) {
  WsPort p(port_config(), &sink_);
  // A body nobody reads: the lingering close must not reset the answer.
  std::string req = http_get("/hazel.js", "Content-Length: 32768\r\n", "POST") +
                    std::string(32768, 'b');
  HttpReply r = http_exchange(p.port(), req);
  EXPECT_EQ(r.status, 405);
  EXPECT_TRUE(r.closed);
  req = http_get("/", "Content-Length: 32768\r\n") + std::string(32768, 'b');
  r = http_exchange(p.port(), req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, web::kIndexHtml);
}

TEST_F(WsGatewayTest, Answers408WhenTheHeadDoesNotArriveInTime) {
  WsPort p(port_config(300), &sink_);
  HttpConn c(p.port());
  ASSERT_TRUE(c.send_all("GET / HTTP/1.1\r\nHost:"));
  const auto start = SteadyClock::now();
  ASSERT_TRUE(c.read_to_eof(10000));
  EXPECT_TRUE(c.eof()) << "still open after 10 s";
  EXPECT_GE(elapsed_ms(start), 250);
  EXPECT_EQ(c.reply().status, 408);
}

TEST_F(WsGatewayTest, TheHeadDeadlineIsNotPushedBackByTrickledBytes) {
  WsPort p(port_config(300), &sink_);
  HttpConn c(p.port());
  std::string head = "GET / HTTP/1.1\r\nX-Slow: " + std::string(200, 's');
  const auto start = SteadyClock::now();
  size_t sent = 0;
  // One byte every 20 ms would take 4.5 s; the deadline is 300 ms.
  while (sent < head.size() && elapsed_ms(start) < 5000) {
    if (!c.send_all(head.substr(sent++, 1))) break;
    c.read_until([](const std::string& s) { return !s.empty(); }, 20);
    if (c.eof() || !c.in().empty()) break;
  }
  c.read_to_eof(5000);
  EXPECT_TRUE(c.eof() || c.reset());
  EXPECT_LT(elapsed_ms(start), 4000);
}

TEST_F(WsGatewayTest, UpgradesWithTheAcceptOfTheKeyAndHazelV1) {
  WsPort p(port_config(), &sink_);
  HttpConn c(p.port());
  ASSERT_TRUE(c.send_all(ws_upgrade("x3JJHMbDL1EzLkh9GBhXDw==",
                                    "Sec-WebSocket-Protocol: chat, hazel.v1\r\n")));
  ASSERT_TRUE(c.read_head());
  HttpReply r = c.reply();
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.fields["upgrade"], "websocket");
  EXPECT_EQ(r.fields["connection"], "Upgrade");
  EXPECT_EQ(r.fields["sec-websocket-accept"], "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
  EXPECT_EQ(r.fields["sec-websocket-protocol"], "hazel.v1");
  EXPECT_EQ(r.fields.count("content-length"), 0u);
}

TEST_F(WsGatewayTest, SelectsNoSubprotocolUnlessHazelV1IsOffered) {
  WsPort p(port_config(), &sink_);
  HttpConn c(p.port());
  ASSERT_TRUE(c.send_all(ws_upgrade()));
  ASSERT_TRUE(c.read_head());
  HttpReply r = c.reply();
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.fields["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(r.fields.count("sec-websocket-protocol"), 0u);
}

TEST_F(WsGatewayTest, HandsTheSocketAndWhatFollowedTheHeadToTheSink) {
  WsPort p(port_config(), &sink_);
  HttpConn c(p.port());
  const std::string frames("\x82\x83\x01\x02\x03\x04" "abc", 9);
  ASSERT_TRUE(c.send_all(ws_upgrade() + frames));
  ASSERT_TRUE(c.read_until(
      [](const std::string& s) {
        size_t end = s.find("\r\n\r\n");
        return end != std::string::npos && s.size() >= end + 4 + 2;
      },
      5000));
  EXPECT_EQ(c.reply().status, 101);
  EXPECT_EQ(c.reply().body, "hi");  // written by the sink on the same socket
  ASSERT_TRUE(eventually([&] { return sink_.count() == 1; }));
  EXPECT_EQ(sink_.leftover(), frames);
}

TEST_F(WsGatewayTest, ClosesWith1011WhenThereIsNoTransport) {
  WsPort p(port_config(), nullptr);
  HttpConn c(p.port());
  ASSERT_TRUE(c.send_all(ws_upgrade()));
  ASSERT_TRUE(c.read_to_eof());
  EXPECT_TRUE(c.eof());
  HttpReply r = c.reply();
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.body, ws::close_frame(1011, kNoTransportReason));
}

TEST_F(WsGatewayTest, RefusesAnUpgradeFromAnOriginNotListed) {
  Config cfg = port_config();
  cfg.ws_origins = {"http://localhost:8080", "https://chat.example.com"};
  WsPort p(cfg, &sink_);
  HttpReply r = http_exchange(p.port(), ws_upgrade(kRfcKey, "Origin: https://evil.example\r\n"));
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(sink_.count(), 0);
  HttpConn ok(p.port());
  ASSERT_TRUE(ok.send_all(ws_upgrade(kRfcKey, "Origin: https://chat.example.com\r\n")));
  ASSERT_TRUE(ok.read_head());
  EXPECT_EQ(ok.reply().status, 101);
  HttpConn none(p.port());  // no Origin: not a browser
  ASSERT_TRUE(none.send_all(ws_upgrade()));
  ASSERT_TRUE(none.read_head());
  EXPECT_EQ(none.reply().status, 101);
}

TEST_F(WsGatewayTest, AcceptsAnyOriginByDefault) {
  WsPort p(port_config(), &sink_);
  HttpConn c(p.port());
  ASSERT_TRUE(c.send_all(ws_upgrade(kRfcKey, "Origin: https://anywhere.example\r\n")));
  ASSERT_TRUE(c.read_head());
  EXPECT_EQ(c.reply().status, 101);
}

TEST_F(WsGatewayTest, Answers400ToABadHandshake) {
  WsPort p(port_config(), &sink_);
  // A browser that just opens /ws.
  EXPECT_EQ(http_exchange(p.port(), http_get("/ws")).status, 400);
  EXPECT_EQ(http_exchange(p.port(), ws_upgrade("short")).status, 400);
  std::string no_conn = ws_upgrade();
  no_conn.replace(no_conn.find("Connection: Upgrade"), 19, "Connection: close");
  EXPECT_EQ(http_exchange(p.port(), no_conn).status, 400);
  EXPECT_EQ(sink_.count(), 0);
}

TEST_F(WsGatewayTest, Answers426ToAnotherWebSocketVersion) {
  WsPort p(port_config(), &sink_);
  std::string v8 = ws_upgrade();
  v8.replace(v8.find("Version: 13"), 11, "Version: 8");
  HttpReply r = http_exchange(p.port(), v8);
  EXPECT_EQ(r.status, 426);
  EXPECT_EQ(r.fields["sec-websocket-version"], "13");
}

TEST_F(WsGatewayTest, ServesManyConnectionsWaitingAtOnce) {
  WsPort p(port_config(), &sink_);
  std::vector<std::unique_ptr<HttpConn>> cs;
  for (int i = 0; i < 200; ++i) {
    cs.push_back(std::make_unique<HttpConn>(p.port()));
    ASSERT_TRUE(cs.back()->send_all("GET /hazel.js HTTP/1.1\r\n"));
  }
  for (auto& c : cs) ASSERT_TRUE(c->send_all("Host: x\r\n\r\n"));
  for (auto& c : cs) {
    ASSERT_TRUE(c->read_to_eof());
    EXPECT_EQ(c->reply().status, 200);
  }
}

}  // namespace
}  // namespace hazel::test
