// hazel-bench's FIFO of requests in flight (tools/bench/pending_queue.h).
#include <gtest/gtest.h>

#include <cstdint>

#include "bench/pending_queue.h"

namespace {

using hazel_bench::Pending;
using hazel_bench::PendingQueue;

Pending entry(uint32_t session) { return {session * 10ull, session, 0}; }

TEST(PendingQueue, StartsEmpty) {
  PendingQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.find_session(1), 0u);  // not found: size()
}

TEST(PendingQueue, PopsInFifoOrder) {
  PendingQueue q;
  for (uint32_t s = 1; s <= 3; ++s) q.push(entry(s));
  EXPECT_EQ(q.pop().session, 1u);
  EXPECT_EQ(q.pop().session, 2u);
  EXPECT_EQ(q.pop().session, 3u);
  EXPECT_TRUE(q.empty());
}

TEST(PendingQueue, GrowsPastItsCapacityKeepingOrder) {
  PendingQueue q;
  for (uint32_t s = 0; s < 1000; ++s) q.push(entry(s));
  ASSERT_EQ(q.size(), 1000u);
  for (uint32_t s = 0; s < 1000; ++s) {
    Pending p = q.pop();
    EXPECT_EQ(p.session, s);
    EXPECT_EQ(p.sent_ns, s * 10ull);
  }
}

TEST(PendingQueue, GrowsWhileWrappedKeepingOrder) {
  PendingQueue q;
  for (uint32_t s = 0; s < 4; ++s) q.push(entry(s));
  q.pop();
  q.pop();
  for (uint32_t s = 4; s < 9; ++s) q.push(entry(s));  // wraps, then grows
  for (uint32_t s = 2; s < 9; ++s) EXPECT_EQ(q.pop().session, s);
  EXPECT_TRUE(q.empty());
}

TEST(PendingQueue, AtIndexesFromTheOldest) {
  PendingQueue q;
  for (uint32_t s = 0; s < 6; ++s) q.push(entry(s));
  q.pop();
  q.push(entry(6));
  for (size_t i = 0; i < q.size(); ++i) EXPECT_EQ(q.at(i).session, i + 1);
}

TEST(PendingQueue, FindSessionReturnsTheOldestMatch) {
  PendingQueue q;
  q.push(entry(7));
  q.push(entry(8));
  q.push({99, 7, 0});
  EXPECT_EQ(q.find_session(8), 1u);
  EXPECT_EQ(q.find_session(7), 0u);
  EXPECT_EQ(q.find_session(9), q.size());
}

TEST(PendingQueue, TakeRemovesOneEntryKeepingTheOthersInOrder) {
  PendingQueue q;
  for (uint32_t s = 0; s < 5; ++s) q.push(entry(s));
  EXPECT_EQ(q.take(2).session, 2u);
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q.pop().session, 0u);
  EXPECT_EQ(q.pop().session, 1u);
  EXPECT_EQ(q.pop().session, 3u);
  EXPECT_EQ(q.pop().session, 4u);
}

TEST(PendingQueue, TakeOfTheOldestIsPop) {
  PendingQueue q;
  q.push(entry(1));
  q.push(entry(2));
  EXPECT_EQ(q.take(0).session, 1u);
  EXPECT_EQ(q.pop().session, 2u);
}

TEST(PendingQueue, KeepsTheSetupTag) {
  PendingQueue q;
  q.push({5, 1, 3});
  q.push({6, 2, 0});
  EXPECT_EQ(q.pop().setup, 3);
  EXPECT_EQ(q.pop().setup, 0);
}

}  // namespace
