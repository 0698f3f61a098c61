// LruSampler on its own: a map of keys with made-up stamps (the clock is
// the test's), the quality of the approximation, and its edge cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "services/lru_sampler.h"
#include "services/string_map.h"

using hazel::services::LruSampler;
using hazel::services::StringMap;

namespace {

using Stamps = StringMap<uint64_t>;

uint64_t stamp_of(const uint64_t& s) { return s; }

// Keys "key0".."key<n-1>" with stamp i: key0 is the least recently used.
Stamps aged(int n) {
  Stamps m;
  for (int i = 0; i < n; ++i) m.emplace("key" + std::to_string(i), i);
  return m;
}

// Evicts `n` keys; returns their stamps in eviction order.
std::vector<uint64_t> evict(LruSampler& lru, Stamps& m, int n,
                            std::string_view keep = {}) {
  std::vector<uint64_t> out;
  for (int i = 0; i < n; ++i) {
    auto it = lru.pick(m, stamp_of, keep);
    if (it == m.end()) break;
    out.push_back(it->second);
    m.erase(it);
  }
  return out;
}

}  // namespace

TEST(LruSampler, EvictsOnlyOldKeysWhenHalfTheMapGoes) {
  constexpr int kN = 10000;
  Stamps m = aged(kN);
  LruSampler lru;
  std::vector<uint64_t> gone = evict(lru, m, kN / 2);
  ASSERT_EQ(gone.size(), size_t{kN / 2});
  // Exact LRU would take stamps 0..4999. Sampling 5 with a pool of 16 keeps
  // close to it: nothing from the newest quarter goes, and most of what goes
  // is from the oldest half.
  const uint64_t newest_gone = *std::max_element(gone.begin(), gone.end());
  EXPECT_LT(newest_gone, uint64_t{kN * 3 / 4});
  const auto old_half = std::count_if(gone.begin(), gone.end(),
                                      [](uint64_t s) { return s < kN / 2; });
  EXPECT_GT(old_half, kN / 2 * 8 / 10) << "under 80% of the evicted were old";
}

TEST(LruSampler, RecentlyUsedKeysSurviveWhileOldOnesGo) {
  Stamps m = aged(1000);
  // Ten keys used just now.
  for (int i = 0; i < 10; ++i) m["key" + std::to_string(i * 97)] = 5000;
  LruSampler lru;
  for (uint64_t s : evict(lru, m, 500)) EXPECT_LT(s, 5000u);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(m.count("key" + std::to_string(i * 97)), 1u);
}

TEST(LruSampler, NeverPicksTheKeptKey) {
  Stamps m = aged(50);
  LruSampler lru;
  // key0 is the oldest of all, and the one being written.
  std::vector<uint64_t> gone = evict(lru, m, 100, "key0");
  EXPECT_EQ(gone.size(), 49u);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m.begin()->first, "key0");
}

TEST(LruSampler, EmptyMapOrOnlyTheKeptKeyGivesNothing) {
  LruSampler lru;
  Stamps empty;
  EXPECT_EQ(lru.pick(empty, stamp_of, "x"), empty.end());
  Stamps one = aged(1);
  EXPECT_EQ(lru.pick(one, stamp_of, "key0"), one.end());
  EXPECT_EQ(lru.pick(one, stamp_of, "other"), one.begin());
}

TEST(LruSampler, SkipsAPooledKeyThatWasUsedSince) {
  Stamps m{{"a", 1}, {"b", 2}, {"c", 3}};
  LruSampler lru;
  auto first = lru.pick(m, stamp_of, {});
  ASSERT_NE(first, m.end());
  EXPECT_EQ(first->first, "a");
  m.erase(first);
  // b was the next oldest (and likely pooled as such), but is used now.
  m["b"] = 10;
  auto next = lru.pick(m, stamp_of, {});
  ASSERT_NE(next, m.end());
  EXPECT_EQ(next->first, "c");
}

TEST(LruSampler, SkipsPooledKeysThatWereDeleted) {
  Stamps m = aged(100);
  LruSampler lru;
  m.erase(lru.pick(m, stamp_of, {}));
  ASSERT_GT(lru.pooled(), 0u) << "the pool keeps candidates between picks";
  // Every pooled candidate is a ghost now.
  m.clear();
  m.emplace("fresh", 7);
  auto it = lru.pick(m, stamp_of, {});
  ASSERT_NE(it, m.end());
  EXPECT_EQ(it->first, "fresh");
}

TEST(LruSampler, FindsKeysInATableEmptiedByDeletes) {
  Stamps m = aged(20000);
  // Deletes leave the buckets behind: 20 keys in a table sized for 20000.
  for (int i = 20; i < 20000; ++i) m.erase("key" + std::to_string(i));
  LruSampler lru;
  EXPECT_EQ(evict(lru, m, 20).size(), 20u);
  EXPECT_TRUE(m.empty());
}
