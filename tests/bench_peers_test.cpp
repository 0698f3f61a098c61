// hazel-bench's HELLO reading and TELL partners (tools/bench/peers.h).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/peers.h"

namespace {

using hazel_bench::count_per_worker;
using hazel_bench::describe_per_worker;
using hazel_bench::Hello;
using hazel_bench::parse_hello;
using hazel_bench::Peer;
using hazel_bench::plan_tells;

constexpr const char* kHello =
    "protocol=1\nserver=hazel/0.1.0\nclient=42\nworker=1\nmax_frame=1048576\n";

// Every connection has a target; every connection is someone's target.
void expect_everyone_told(const std::vector<size_t>& target, size_t n) {
  ASSERT_EQ(target.size(), n);
  std::vector<int> told(n, 0);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_LT(target[i], n);
    ++told[target[i]];
  }
  for (size_t i = 0; i < n; ++i) EXPECT_GT(told[i], 0) << "connection " << i;
}

TEST(Hello, ReadsClientAndWorker) {
  Hello h;
  std::string why;
  ASSERT_TRUE(parse_hello(kHello, &h, &why)) << why;
  EXPECT_EQ(h.client, 42u);
  EXPECT_EQ(h.worker, 1u);
}

TEST(Hello, WithoutWorkerLineIsWorkerZero) {
  Hello h;
  std::string why;
  ASSERT_TRUE(parse_hello("protocol=1\nclient=7\n", &h, &why)) << why;
  EXPECT_EQ(h.client, 7u);
  EXPECT_EQ(h.worker, 0u);
}

TEST(Hello, WithoutClientLineFails) {
  Hello h;
  std::string why;
  EXPECT_FALSE(parse_hello("protocol=1\nworker=0\n", &h, &why));
  EXPECT_NE(why.find("client="), std::string::npos) << why;
}

TEST(Hello, RejectsClientZeroAndNonNumbers) {
  Hello h;
  std::string why;
  EXPECT_FALSE(parse_hello("client=0\n", &h, &why));
  EXPECT_FALSE(parse_hello("client=12x\n", &h, &why));
  EXPECT_FALSE(parse_hello("client=5\nworker=one\n", &h, &why));
}

TEST(Hello, KeyMustBeTheWholeName) {
  Hello h;
  std::string why;
  EXPECT_FALSE(parse_hello("subclient=5\n", &h, &why));
  ASSERT_TRUE(parse_hello("clients=9\nclient=5", &h, &why)) << why;
  EXPECT_EQ(h.client, 5u);
}

TEST(TellPlan, LocalPairsWithinEachWorker) {
  std::vector<uint32_t> workers = {0, 1, 0, 1, 0, 1, 1};
  std::string why;
  std::vector<size_t> target = plan_tells(workers, Peer::kLocal, &why);
  expect_everyone_told(target, workers.size());
  for (size_t i = 0; i < workers.size(); ++i) {
    EXPECT_EQ(workers[target[i]], workers[i]) << i;
    EXPECT_NE(target[i], i) << i;
  }
}

TEST(TellPlan, LocalWithOneWorkerIsARing) {
  std::vector<uint32_t> workers(5, 0);
  std::string why;
  std::vector<size_t> target = plan_tells(workers, Peer::kLocal, &why);
  expect_everyone_told(target, 5);
  for (size_t i = 0; i < 5; ++i) EXPECT_NE(target[i], i);
}

TEST(TellPlan, LocalFailsForAConnectionAloneOnItsWorker) {
  std::vector<uint32_t> workers = {0, 0, 1};
  std::string why;
  EXPECT_TRUE(plan_tells(workers, Peer::kLocal, &why).empty());
  EXPECT_NE(why.find("alone on worker 1"), std::string::npos) << why;
}

TEST(TellPlan, RemotePairsAcrossWorkersOncePerTarget) {
  std::vector<uint32_t> workers = {1, 0, 1, 0, 0, 1};
  std::string why;
  std::vector<size_t> target = plan_tells(workers, Peer::kRemote, &why);
  expect_everyone_told(target, workers.size());
  std::vector<int> told(workers.size(), 0);
  for (size_t i = 0; i < workers.size(); ++i) {
    EXPECT_NE(workers[target[i]], workers[i]) << i;
    ++told[target[i]];
  }
  for (int t : told) EXPECT_EQ(t, 1);
}

TEST(TellPlan, RemoteWithOneWorkerAboveHalfStillCrosses) {
  std::vector<uint32_t> workers = {0, 0, 0, 0, 0, 1, 2};
  std::string why;
  std::vector<size_t> target = plan_tells(workers, Peer::kRemote, &why);
  ASSERT_EQ(target.size(), workers.size()) << why;
  for (size_t i = 0; i < workers.size(); ++i) {
    ASSERT_LT(target[i], workers.size());
    EXPECT_NE(workers[target[i]], workers[i]) << i;
  }
}

TEST(TellPlan, RemoteWithOneWorkerIsAnError) {
  std::vector<uint32_t> workers(4, 0);
  std::string why;
  EXPECT_TRUE(plan_tells(workers, Peer::kRemote, &why).empty());
  EXPECT_NE(why.find("one worker"), std::string::npos) << why;
}

TEST(TellPlan, NeedsTwoConnections) {
  std::vector<uint32_t> workers = {0};
  std::string why;
  EXPECT_TRUE(plan_tells(workers, Peer::kLocal, &why).empty());
  EXPECT_FALSE(why.empty());
}

TEST(PerWorker, CountsAndDescribesConnectionsPerWorker) {
  std::vector<uint32_t> workers = {1, 0, 1, 3};
  std::vector<size_t> counts = count_per_worker(workers);
  EXPECT_EQ(counts, (std::vector<size_t>{1, 2, 0, 1}));
  EXPECT_EQ(describe_per_worker(counts), "worker 0: 1, worker 1: 2, worker 3: 1");
}

}  // namespace
