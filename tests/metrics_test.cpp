#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "metrics.h"

namespace hazel::metrics {
namespace {

bool has(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(Metrics, WritesBuildInfoAndWorkerCounts) {
  std::string m = render({{0, true, "clients 1\n"}, {1, false, ""}}, 2, "0.1.0");
  EXPECT_TRUE(has(m, "# TYPE hazel_build_info gauge")) << m;
  EXPECT_TRUE(has(m, "hazel_build_info{version=\"0.1.0\"} 1")) << m;
  EXPECT_TRUE(has(m, "hazel_workers 2")) << m;
  EXPECT_TRUE(has(m, "hazel_workers_answered 1")) << m;
}

TEST(Metrics, GivesEachWorkerItsOwnSeries) {
  std::string m = render({{1, true, "clients 5\nframes_in 70\n"},
                          {0, true, "clients 3\nframes_in 40\n"}},
                         2, "v");
  EXPECT_TRUE(has(m, "# HELP hazel_clients Clients connected now.")) << m;
  EXPECT_TRUE(has(m, "# TYPE hazel_clients gauge")) << m;
  // Workers in order, the samples of one family together.
  EXPECT_NE(m.find("hazel_clients{worker=\"0\"} 3\nhazel_clients{worker=\"1\"} 5\n"),
            std::string::npos)
      << m;
  EXPECT_TRUE(has(m, "# TYPE hazel_frames_in_total counter")) << m;
  EXPECT_TRUE(has(m, "hazel_frames_in_total{worker=\"1\"} 70")) << m;
}

TEST(Metrics, NamesCountersAndSecondsByConvention) {
  std::string m = render({{0, true, "uptime_s 12\nclients_total 9\nsessions_timed_out 2\n"
                                    "bus_links_up 1\n"}},
                         1, "v");
  EXPECT_TRUE(has(m, "hazel_uptime_seconds{worker=\"0\"} 12")) << m;
  EXPECT_TRUE(has(m, "# TYPE hazel_clients_accepted_total counter")) << m;
  EXPECT_TRUE(has(m, "hazel_clients_accepted_total{worker=\"0\"} 9")) << m;
  EXPECT_TRUE(has(m, "hazel_sessions_timed_out_total{worker=\"0\"} 2")) << m;
  EXPECT_TRUE(has(m, "# TYPE hazel_bus_links_up gauge")) << m;
}

TEST(Metrics, KeepsFiguresItDoesNotKnowAsGauges) {
  std::string m = render({{0, true, "score_players 4\nscore_games_total 8\nodd-name 1\n"}},
                         1, "v");
  EXPECT_TRUE(has(m, "# TYPE hazel_score_players gauge")) << m;
  EXPECT_TRUE(has(m, "hazel_score_players{worker=\"0\"} 4")) << m;
  EXPECT_TRUE(has(m, "# TYPE hazel_score_games_total counter")) << m;
  EXPECT_TRUE(has(m, "hazel_odd_name{worker=\"0\"} 1")) << m;
}

TEST(Metrics, LeavesOutWholeServerLinesAndGarbage) {
  std::string m = render({{0, true, "workers 2\nworkers_answered 2\nworker1_clients 3\n"
                                    "clients x\nnovalue\n 5\nclients 1"}},
                         2, "v");
  EXPECT_EQ(m.find("hazel_worker1_clients"), std::string::npos) << m;
  EXPECT_EQ(m.find("workers{"), std::string::npos) << m;
  EXPECT_TRUE(has(m, "hazel_clients{worker=\"0\"} 1")) << m;  // last line, no \n
  EXPECT_EQ(m.find("novalue"), std::string::npos) << m;
}

TEST(Metrics, EscapesTheVersionLabel) {
  std::string m = render({}, 1, "1.0\"x\\");
  EXPECT_TRUE(has(m, "hazel_build_info{version=\"1.0\\\"x\\\\\"} 1")) << m;
}

TEST(Metrics, RendersRequestDurationsAsCumulativeHistograms) {
  detail::DurationHistogram h;
  h.observe(50'000);          // 50 us: the first bucket
  h.observe(100'000);         // on a bound: that bucket (le is inclusive)
  h.observe(3'000'000);       // 3 ms: le 0.005
  h.observe(60'000'000'000);  // a minute: +Inf only
  std::string text;
  append_durations(text, "echo", h);
  std::string m = render({}, 2, "v", {{1, text}});
  EXPECT_TRUE(has(m, "# TYPE hazel_request_duration_seconds histogram")) << m;
  const std::string b = "hazel_request_duration_seconds_bucket{worker=\"1\",service=\"echo\",le=";
  EXPECT_TRUE(has(m, b + "\"0.0001\"} 2")) << m;
  EXPECT_TRUE(has(m, b + "\"0.0025\"} 2")) << m;
  EXPECT_TRUE(has(m, b + "\"0.005\"} 3")) << m;
  EXPECT_TRUE(has(m, b + "\"10\"} 3")) << m;
  EXPECT_TRUE(has(m, b + "\"+Inf\"} 4")) << m;
  EXPECT_TRUE(has(m, "hazel_request_duration_seconds_count{worker=\"1\",service=\"echo\"} 4")) << m;
  EXPECT_TRUE(has(m, "hazel_request_duration_seconds_sum{worker=\"1\",service=\"echo\"} 60.003150000")) << m;
}

TEST(Metrics, GivesEachWorkerAndServiceItsOwnHistogram) {
  detail::DurationHistogram one;
  one.observe(1);
  std::string w0, w1;
  append_durations(w0, "kv", one);
  append_durations(w0, "my service", one);
  append_durations(w1, "kv", one);
  std::string m = render({}, 2, "v", {{1, w1}, {0, w0}});
  EXPECT_NE(m.find("_count{worker=\"0\",service=\"kv\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("_count{worker=\"0\",service=\"my service\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("_count{worker=\"1\",service=\"kv\"} 1\n"), std::string::npos) << m;
  // Workers in order; one TYPE line for the family.
  EXPECT_LT(m.find("worker=\"0\",service=\"kv\""), m.find("worker=\"1\",service=\"kv\""));
  EXPECT_EQ(m.find("# TYPE hazel_request_duration_seconds"),
            m.rfind("# TYPE hazel_request_duration_seconds"));
}

TEST(Metrics, LeavesOutTheHistogramWithoutDurations) {
  std::string m = render({{0, true, "clients 1\n"}}, 1, "v", {{0, "clients 1\n"}});
  EXPECT_EQ(m.find("hazel_request_duration_seconds"), std::string::npos) << m;
}

TEST(RequestDurations, CountsOnlyServicesItTracks) {
  detail::RequestDurations d;
  d.track(3);
  d.observe(3, 10);
  d.observe(4, 10);  // never mounted: ignored
  ASSERT_NE(d.find(3), nullptr);
  EXPECT_EQ(d.find(3)->count(), 1u);
  EXPECT_EQ(d.find(4), nullptr);
  d.track(3);  // mounted again: from zero
  EXPECT_EQ(d.find(3)->count(), 0u);
}

}  // namespace
}  // namespace hazel::metrics
