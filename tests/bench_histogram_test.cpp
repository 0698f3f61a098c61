// hazel-bench's latency histogram (tools/bench/histogram.h): exact below 64,
// within 1/64 above, percentiles clamped to the largest value recorded.
#include <gtest/gtest.h>

#include <cstdint>

#include "bench/histogram.h"

namespace {

using hazel_bench::Histogram;

TEST(Histogram, EmptyReportsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.percentile(99.9), 0u);
}

TEST(Histogram, PercentilesOfKnownSamples) {
  Histogram h;
  for (uint64_t v = 1; v <= 60; ++v) h.record(v);  // all in exact buckets
  EXPECT_EQ(h.count(), 60u);
  EXPECT_EQ(h.percentile(50), 30u);
  EXPECT_EQ(h.percentile(90), 54u);
  EXPECT_EQ(h.percentile(100), 60u);
  EXPECT_EQ(h.percentile(0), 1u);  // at least one sample is wanted
}

TEST(Histogram, ValuesBelow64AreExact) {
  for (uint64_t v = 0; v < 64; ++v) {
    Histogram h;
    h.record(v);
    h.record(63);  // a larger max, so the clamp does not hide the bucket
    EXPECT_EQ(h.percentile(50), v) << v;
  }
}

TEST(Histogram, LargeValuesAreWithinOneSixtyFourth) {
  for (uint64_t v : {uint64_t{64}, uint64_t{1000}, uint64_t{123'456},
                     uint64_t{987'654'321}, uint64_t{1} << 40}) {
    Histogram h;
    h.record(v);
    h.record(v * 4);  // keeps the max above v's bucket
    uint64_t got = h.percentile(50);
    EXPECT_GE(got, v) << v;
    EXPECT_LE(got - v, v / 64) << v;
  }
}

TEST(Histogram, PercentileIsClampedToMax) {
  Histogram h;
  h.record(1000);  // its bucket reaches 1007
  EXPECT_EQ(h.percentile(50), 1000u);
  EXPECT_EQ(h.max(), 1000u);
}

TEST(Histogram, TailPercentileFindsTheOutlier) {
  Histogram h;
  for (int i = 0; i < 999; ++i) h.record(10);
  h.record(50'000);
  EXPECT_EQ(h.percentile(99), 10u);
  EXPECT_EQ(h.percentile(99.9), 10u);
  EXPECT_EQ(h.percentile(100), 50'000u);
}

TEST(Histogram, RecordsTheWholeU64Range) {
  Histogram h;
  h.record(UINT64_MAX);
  EXPECT_EQ(h.percentile(50), UINT64_MAX);
  EXPECT_EQ(h.max(), UINT64_MAX);
}

}  // namespace
