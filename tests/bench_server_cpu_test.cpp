// hazel-bench's server CPU sampling (tools/bench/server_cpu.h): the /proc
// parsers on fixed text, and a sample of a real process tree.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>

#include "bench/server_cpu.h"

namespace {

using hazel_bench::parse_pid_list;
using hazel_bench::parse_proc_stat;
using hazel_bench::sample_server_cpu;

TEST(ProcStat, ReadsParentAndCpuTicks) {
  std::optional<hazel_bench::ProcStat> st = parse_proc_stat(
      "4242 (hazel) S 4200 4242 4200 0 -1 4194560 120 0 0 0 731 260 0 0 20 0 "
      "1 0 5000 10000000 700 18446744073709551615\n");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->ppid, 4200);
  EXPECT_EQ(st->utime_ticks, 731u);
  EXPECT_EQ(st->stime_ticks, 260u);
}

TEST(ProcStat, NameWithSpacesAndParenthesesDoesNotShiftFields) {
  std::optional<hazel_bench::ProcStat> st = parse_proc_stat(
      "77 (a) b (c)) R 1 77 77 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0\n");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->ppid, 1);
  EXPECT_EQ(st->utime_ticks, 5u);
  EXPECT_EQ(st->stime_ticks, 6u);
}

TEST(ProcStat, RejectsTruncatedOrGarbledText) {
  EXPECT_FALSE(parse_proc_stat("").has_value());
  EXPECT_FALSE(parse_proc_stat("12 (x) S 1 2 3").has_value());
  EXPECT_FALSE(
      parse_proc_stat("12 (x) S one 2 3 0 -1 0 0 0 0 0 5 6 0 0").has_value());
}

TEST(ProcStat, ParsesChildrenList) {
  EXPECT_EQ(parse_pid_list("101 102 250 "),
            (std::vector<pid_t>{101, 102, 250}));
  EXPECT_TRUE(parse_pid_list("").empty());
  EXPECT_EQ(parse_pid_list("7\n"), (std::vector<pid_t>{7}));
}

// A forked child that burns CPU is counted in its parent's tree: the figure
// comes from living descendants, not from reaped children's totals.
TEST(ServerCpu, CountsLivingDescendants) {
  std::string why;
  std::optional<hazel_bench::CpuSample> before =
      sample_server_cpu(getpid(), &why);
  ASSERT_TRUE(before.has_value()) << why;

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (;;) {
    }  // spin until killed
  }
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::optional<hazel_bench::CpuSample> after;
  do {  // the child is scheduled eventually, even on a busy machine
    usleep(20'000);
    after = sample_server_cpu(getpid(), &why);
    ASSERT_TRUE(after.has_value()) << why;
  } while (after->seconds - before->seconds < 0.05 &&
           std::chrono::steady_clock::now() < until);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);

  EXPECT_GE(after->processes, before->processes + 1);
  EXPECT_GE(after->seconds - before->seconds, 0.05);
}

TEST(ServerCpu, FailsForAProcessThatDoesNotExist) {
  std::string why;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // reaped: its pid names no process now
  EXPECT_FALSE(sample_server_cpu(child, &why).has_value());
  EXPECT_FALSE(why.empty());
}

}  // namespace
