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

}  // namespace
}  // namespace hazel::metrics
