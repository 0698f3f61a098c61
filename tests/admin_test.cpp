// The admin port (/metrics, /healthz) and the WebSocket port of a whole
// daemon, over real sockets.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>
#include <string>

#include "http_util.h"
#include "net_util.h"
#include "request_durations.h"
#include "test_server.h"
#include "web_assets.h"

namespace hazel::test {
namespace {

Config http_config() {
  Config cfg = test_config();
  cfg.ws_listen = true;
  cfg.admin_listen = true;
  return cfg;
}

// The value of the series `name{worker="0"}` in a scrape, or -1.
int64_t series(const std::string& scrape, const std::string& name) {
  std::string key = "\n" + name + "{worker=\"0\"} ";
  size_t at = ("\n" + scrape).find(key);
  if (at == std::string::npos) return -1;
  return strtoll(scrape.c_str() + at - 1 + key.size(), nullptr, 10);
}

// The cumulative bucket counts of service `service` of worker 0, in `le`
// order (+Inf last), and its _count (-1 if absent).
struct Buckets {
  std::vector<int64_t> counts;
  int64_t count = -1;
};
Buckets durations_of(const std::string& scrape, const std::string& service) {
  Buckets b;
  std::string labels = "{worker=\"0\",service=\"" + service + "\"";
  std::string bucket = "hazel_request_duration_seconds_bucket" + labels + ",le=\"";
  std::string count = "hazel_request_duration_seconds_count" + labels + "} ";
  size_t at = 0;
  while ((at = scrape.find(bucket, at)) != std::string::npos) {
    size_t sp = scrape.find("} ", at);
    b.counts.push_back(strtoll(scrape.c_str() + sp + 2, nullptr, 10));
    at = sp;
  }
  if ((at = scrape.find(count)) != std::string::npos)
    b.count = strtoll(scrape.c_str() + at + count.size(), nullptr, 10);
  return b;
}

// Answers every request 30 ms after it came, from a timer.
class LaterService final : public Service {
 public:
  static constexpr uint16_t kId = 40;
  LaterService() : Service("later", kId) {}
  void on_request(const Request&, Reply reply) override {
    auto slot = std::make_shared<Reply>(std::move(reply));
    ctx().set_timer(30, [slot] { slot->ok("late"); });
  }
};

class AdminTest : public ServerTest {
 protected:
  HttpReply get(const std::string& path) {
    return http_exchange(server().daemon().admin_port(), http_get(path));
  }
};

TEST_F(AdminTest, PortsAreOffUnlessAskedFor) {
  start_server(test_config());
  EXPECT_EQ(server().daemon().ws_port(), 0);
  EXPECT_EQ(server().daemon().admin_port(), 0);
}

TEST_F(AdminTest, DaemonServesTheChatPageOnItsWebSocketPort) {
  start_server(http_config());
  ASSERT_NE(server().daemon().ws_port(), 0);
  HttpReply r = http_exchange(server().daemon().ws_port(), http_get("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, web::kIndexHtml);
}

TEST_F(AdminTest, DaemonUpgradesOnItsWebSocketPort) {
  start_server(http_config());
  HttpConn c(server().daemon().ws_port());
  ASSERT_TRUE(c.send_all(ws_upgrade(kRfcKey, "Sec-WebSocket-Protocol: hazel.v1\r\n")));
  ASSERT_TRUE(c.read_head());
  EXPECT_EQ(c.reply().status, 101);
  EXPECT_EQ(c.reply().fields["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(c.reply().fields["sec-websocket-protocol"], "hazel.v1");
}

TEST_F(AdminTest, HealthzSaysOk) {
  start_server(http_config());
  HttpReply r = get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
}

TEST_F(AdminTest, MetricsAreInTheTextFormat) {
  start_server(http_config());
  HttpReply r = get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.fields["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("\nhazel_build_info{version=\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\n# TYPE hazel_frames_in_total counter\n"), std::string::npos);
  EXPECT_NE(r.body.find("\nhazel_workers_answered 1\n"), std::string::npos);
}

TEST_F(AdminTest, MetricsHaveEveryInfoFigure) {
  start_server(http_config());
  auto c = connect();
  Frame f = call(*c, kSys, kInfo, "");
  ASSERT_TRUE(f.ok());
  std::string scrape = get("/metrics").body;
  std::map<std::string, std::string> renamed = {
      {"uptime_s", "hazel_uptime_seconds"},
      {"clients_total", "hazel_clients_accepted_total"},
      {"frames_in", "hazel_frames_in_total"},
      {"frames_out", "hazel_frames_out_total"},
      {"sessions_timed_out", "hazel_sessions_timed_out_total"},
      {"replies_dropped", "hazel_replies_dropped_total"},
      {"sends_dropped", "hazel_sends_dropped_total"}};
  for (const char* counter : {"clients_limited", "denied", "rate_limited", "rate_closed",
                              "auth_ok", "auth_refused", "kv_evicted", "kv_refused",
                              "room_joins_refused"})
    renamed[counter] = "hazel_" + std::string(counter) + "_total";
  for (auto& [name, value] : parse_info(f.body)) {
    if (name == "workers") continue;  // hazel_workers, no worker label
    std::string metric = renamed.count(name) ? renamed[name] : "hazel_" + name;
    EXPECT_GE(series(scrape, metric), 0) << name << " as " << metric << " in\n" << scrape;
  }
}

TEST_F(AdminTest, CountersGrowWithTraffic) {
  start_server(http_config());
  int64_t before = series(get("/metrics").body, "hazel_frames_in_total");
  ASSERT_GE(before, 0);
  auto c = connect();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(ping_ok(*c));
  std::string after = get("/metrics").body;
  EXPECT_GE(series(after, "hazel_frames_in_total"), before + 10) << after;
  EXPECT_EQ(series(after, "hazel_clients"), 1) << after;
  EXPECT_EQ(series(after, "hazel_sessions_pending"), 0) << after;
}

TEST_F(AdminTest, RequestDurationsCountEveryRequestInCumulativeBuckets) {
  start_server(http_config());
  Buckets before = durations_of(get("/metrics").body, "echo");
  ASSERT_EQ(before.count, 0) << "no echo request yet";
  auto c = connect();
  for (int i = 0; i < 7; ++i) {
    Frame f;
    std::string err;
    ASSERT_TRUE(c->call(kEcho, echo::kEcho, "x", &f, 3000, &err) && f.ok()) << err;
  }
  std::string scrape = get("/metrics").body;
  EXPECT_NE(scrape.find("\n# TYPE hazel_request_duration_seconds histogram\n"),
            std::string::npos);
  Buckets after = durations_of(scrape, "echo");
  EXPECT_EQ(after.count, 7) << scrape;
  ASSERT_EQ(after.counts.size(), detail::kDurationBucketCount + 1) << scrape;
  for (size_t i = 1; i < after.counts.size(); ++i)
    EXPECT_GE(after.counts[i], after.counts[i - 1]) << "bucket " << i << " in\n" << scrape;
  EXPECT_EQ(after.counts.back(), 7);  // +Inf holds every request
}

TEST_F(AdminTest, RequestDurationsIncludeRepliesGivenLater) {
  LaterService later;
  TestServer srv(http_config());
  ASSERT_TRUE(srv.daemon().mount(later));
  srv.start();
  auto c = srv.connect();
  Frame f;
  std::string err;
  ASSERT_TRUE(c->call(LaterService::kId, 1, "", &f, 5000, &err) && f.ok()) << err;
  std::string scrape = http_exchange(srv.daemon().admin_port(), http_get("/metrics")).body;
  Buckets b = durations_of(scrape, "later");
  EXPECT_EQ(b.count, 1) << scrape;
  ASSERT_EQ(b.counts.size(), detail::kDurationBucketCount + 1) << scrape;
  // It took at least the 30 ms of its timer: nothing in the buckets up to
  // 25 ms (the eighth bound).
  ASSERT_EQ(detail::kDurationBuckets[7].le_ns, 25'000'000u);
  EXPECT_EQ(b.counts[7], 0) << scrape;
  EXPECT_EQ(b.counts.back(), 1) << scrape;
}

TEST_F(AdminTest, Answers404And405) {
  start_server(http_config());
  EXPECT_EQ(get("/").status, 404);
  EXPECT_EQ(get("/metricsx").status, 404);
  HttpReply r = http_exchange(server().daemon().admin_port(),
                              http_get("/metrics", "Content-Length: 0\r\n", "POST"));
  EXPECT_EQ(r.status, 405);
}

TEST_F(AdminTest, HealthzSays503WhileDraining) {
  Config cfg = http_config();
  cfg.shutdown_flush_ms = 5000;
  start_server(cfg);
  // A client that does not read and has plenty of output queued keeps the
  // drain going (up to shutdown_flush_ms).
  RawSocket jam;
  ASSERT_TRUE(jam.connect_v4(server().port(), 4096));
  {
    auto probe = connect();
    ASSERT_TRUE(jam_output(jam, *probe)) << "could not queue enough output";
  }
  server().daemon().stop();
  EXPECT_TRUE(eventually([&] { return get("/healthz").status == 503; }, 3000));
  EXPECT_EQ(get("/healthz").body, "draining\n");
  // Metrics still answer while draining.
  EXPECT_EQ(get("/metrics").status, 200);
}

}  // namespace
}  // namespace hazel::test
