// The per-client token bucket, on a clock the test moves.
#include <gtest/gtest.h>

#include "rate_bucket.h"

namespace hazel {
namespace {

using Take = RateLimit::Take;

TEST(RateBucket, AFreshBucketAdmitsTheBurstThenRefuses) {
  RateLimit lim(10, 3, 10000, 1000);
  RateBucket b;
  lim.start(b, 0);
  EXPECT_EQ(lim.take(b, 0), Take::kOk);
  EXPECT_EQ(lim.take(b, 0), Take::kOk);
  EXPECT_EQ(lim.take(b, 0), Take::kOk);
  EXPECT_EQ(lim.take(b, 0), Take::kRefused);
}

TEST(RateBucket, RefillsAtTheRateOfTheClockItIsTold) {
  RateLimit lim(10, 1, 10000, 1000);  // one every 100 ms
  RateBucket b;
  lim.start(b, 1000);
  EXPECT_EQ(lim.take(b, 1000), Take::kOk);
  EXPECT_EQ(lim.take(b, 1099), Take::kRefused);
  EXPECT_EQ(lim.take(b, 1100), Take::kOk);
  EXPECT_EQ(lim.take(b, 1150), Take::kRefused);
  EXPECT_EQ(lim.take(b, 1200), Take::kOk);
}

TEST(RateBucket, NeverHoldsMoreThanTheBurst) {
  RateLimit lim(10, 2, 10000, 1000);
  RateBucket b;
  lim.start(b, 0);
  uint64_t later = uint64_t{1} << 40;  // decades of refill
  EXPECT_EQ(lim.take(b, later), Take::kOk);
  EXPECT_EQ(lim.take(b, later), Take::kOk);
  EXPECT_EQ(lim.take(b, later), Take::kRefused);
}

TEST(RateBucket, BurstZeroMeansTheRate) {
  RateLimit lim(5, 0, 10000, 1000);
  RateBucket b;
  lim.start(b, 0);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(lim.take(b, 0), Take::kOk) << i;
  EXPECT_EQ(lim.take(b, 0), Take::kRefused);
}

TEST(RateBucket, AChargeForFanOutIsPaidBeforeTheNextRequest) {
  RateLimit lim(10, 10, 10000, 1000);
  RateBucket b;
  lim.start(b, 0);
  EXPECT_EQ(lim.take(b, 0), Take::kOk);  // the PUBLISH itself
  lim.charge(b, 0, 29);                  // reached 29 members: 20 in debt
  EXPECT_EQ(lim.take(b, 0), Take::kRefused);
  // 21 requests' worth of refill (2.1 s) pays the debt and one more.
  EXPECT_EQ(lim.take(b, 2099), Take::kRefused);
  EXPECT_EQ(lim.take(b, 2100), Take::kOk);
}

TEST(RateBucket, DebtIsBoundedByTheCloseWindow) {
  RateLimit lim(10, 10, 10000, 1000);
  RateBucket b;
  lim.start(b, 0);
  lim.charge(b, 0, 1000000);  // a huge room
  // At most 10 s of refill in debt: served again 10 s and one request later.
  EXPECT_EQ(lim.take(b, 10099), Take::kRefused);
  EXPECT_EQ(lim.take(b, 20100), Take::kOk);
}

TEST(RateBucket, RefusedForTheCloseWindowWithoutAPauseCloses) {
  RateLimit lim(1, 1, 10000, 1000);
  RateBucket b;
  lim.start(b, 0);
  EXPECT_EQ(lim.take(b, 0), Take::kOk);
  // Keeps asking every 100 ms: it gets one request a second and is refused
  // in between, with no pause longer than 1 s. The first refusal from 10 s
  // after the run began (at 1 ms) closes it.
  uint64_t t = 1;
  for (; t < 20000; t += 100)
    if (lim.take(b, t) == Take::kClose) break;
  EXPECT_GE(t, 10001u);
  EXPECT_LE(t, 10101u);
}

TEST(RateBucket, APauseLongerThanPauseMsStartsANewRun) {
  RateLimit lim(1, 1, 10000, 1000);
  RateBucket b;
  lim.start(b, 0);
  uint64_t t = 0;
  // Refused on and off: each run of refusals ends with a pause of 1.5 s.
  while (t < 60000) {
    lim.take(b, t);
    EXPECT_NE(lim.take(b, t + 1), Take::kClose) << t;
    t += 1500;
  }
}

TEST(RateBucket, DisabledWithRateZero) {
  EXPECT_FALSE(RateLimit(0, 0, 10000, 1000).enabled());
  EXPECT_TRUE(RateLimit(1, 0, 10000, 1000).enabled());
}

}  // namespace
}  // namespace hazel
