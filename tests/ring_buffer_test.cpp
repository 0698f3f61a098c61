// Specification of RingBuffer (src/ring_buffer.h): lazy allocation, the two
// spans across the wrap point, power-of-two growth that keeps the byte order,
// the hard limit, contiguous()/scratch, and real readv/writev through a pipe.
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ring_buffer.h"

namespace hazel {
namespace {

constexpr size_t kBig = size_t{1} << 20;
constexpr size_t kMin = RingBuffer::kMinCapacity;

// `n` bytes that differ from their neighbours, so a misplaced or reordered
// byte shows up in a comparison.
std::vector<uint8_t> pattern(size_t n, uint8_t seed = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<uint8_t>((i * 31 + seed * 7 + (i >> 8)) & 0xff);
  return v;
}

std::vector<uint8_t> concat(const std::vector<uint8_t>& a,
                            const std::vector<uint8_t>& b) {
  std::vector<uint8_t> out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

std::vector<uint8_t> tail_of(const std::vector<uint8_t>& v, size_t from) {
  return std::vector<uint8_t>(v.begin() + static_cast<std::ptrdiff_t>(from),
                              v.end());
}

// Everything readable, copied out through peek().
std::vector<uint8_t> contents(const RingBuffer& rb) {
  std::vector<uint8_t> out(rb.size());
  rb.peek(0, out.size(), out.data());
  return out;
}

// Everything readable, gathered from readable_spans() in span order.
std::vector<uint8_t> gather(const RingBuffer& rb) {
  struct iovec iov[2];
  int n = rb.readable_spans(iov);
  std::vector<uint8_t> out;
  for (int i = 0; i < n; ++i) {
    const auto* p = static_cast<const uint8_t*>(iov[i].iov_base);
    out.insert(out.end(), p, p + iov[i].iov_len);
  }
  return out;
}

size_t span_total(const struct iovec* iov, int n) {
  size_t t = 0;
  for (int i = 0; i < n; ++i) t += iov[i].iov_len;
  return t;
}

// Leaves `rb` (capacity kMin) holding `kept` bytes whose last `past_end`
// bytes sit at the start of the array, i.e. wrapped. Returns what it holds.
std::vector<uint8_t> make_wrapped(RingBuffer& rb, size_t kept,
                                  size_t past_end) {
  std::vector<uint8_t> full = pattern(kMin, 1);
  EXPECT_TRUE(rb.append(full.data(), full.size()));
  size_t before_end = kept - past_end;
  rb.consume(kMin - before_end);
  std::vector<uint8_t> rest = pattern(past_end, 2);
  EXPECT_TRUE(rb.append(rest.data(), rest.size()));
  EXPECT_EQ(rb.capacity(), kMin);
  return concat(tail_of(full, kMin - before_end), rest);
}

TEST(RingBuffer, StartsUnallocated) {
  RingBuffer rb(kBig);
  EXPECT_EQ(rb.capacity(), 0u);
  EXPECT_EQ(rb.size(), 0u);
  EXPECT_TRUE(rb.empty());
  struct iovec iov[2];
  EXPECT_EQ(rb.readable_spans(iov), 0);
  EXPECT_EQ(rb.writable_spans(iov), 0);
}

TEST(RingBuffer, AllocatesMinCapacityOnFirstAppend) {
  RingBuffer rb(kBig);
  uint8_t byte = 7;
  ASSERT_TRUE(rb.append(&byte, 1));
  EXPECT_EQ(rb.capacity(), kMin);
  EXPECT_EQ(rb.size(), 1u);
}

TEST(RingBuffer, AppendPeekConsumeRoundTrip) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> data = pattern(1000);
  ASSERT_TRUE(rb.append(data.data(), data.size()));
  EXPECT_EQ(contents(rb), data);

  std::vector<uint8_t> mid(100);
  rb.peek(250, mid.size(), mid.data());
  EXPECT_EQ(mid, std::vector<uint8_t>(data.begin() + 250, data.begin() + 350));

  rb.consume(400);
  EXPECT_EQ(rb.size(), 600u);
  EXPECT_EQ(contents(rb), tail_of(data, 400));
  rb.consume(600);
  EXPECT_TRUE(rb.empty());
}

TEST(RingBuffer, ConsumeMoreThanSizeEmptiesIt) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> data = pattern(10);
  ASSERT_TRUE(rb.append(data.data(), data.size()));
  rb.consume(11);
  EXPECT_TRUE(rb.empty());
  EXPECT_EQ(rb.size(), 0u);
}

TEST(RingBuffer, ReadableSpansSplitAtWrapPoint) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> a = pattern(3000, 1);
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  rb.consume(2000);
  std::vector<uint8_t> b = pattern(2000, 2);
  ASSERT_TRUE(rb.append(b.data(), b.size()));  // 3000 + 2000 passes 4096
  ASSERT_EQ(rb.capacity(), kMin);

  struct iovec iov[2];
  ASSERT_EQ(rb.readable_spans(iov), 2);
  EXPECT_EQ(iov[0].iov_len, kMin - 2000);
  EXPECT_EQ(iov[1].iov_len, 3000 - (kMin - 2000));
  EXPECT_EQ(gather(rb), concat(tail_of(a, 2000), b));
}

TEST(RingBuffer, ReadableSpansAreOneSpanWhenNotWrapped) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> a = pattern(3000);
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  rb.consume(1000);
  struct iovec iov[2];
  ASSERT_EQ(rb.readable_spans(iov), 1);
  EXPECT_EQ(iov[0].iov_len, 2000u);
  EXPECT_EQ(gather(rb), tail_of(a, 1000));
}

TEST(RingBuffer, PeekAtOffsetReadsAcrossWrapPoint) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> held = make_wrapped(rb, 1000, 300);
  std::vector<uint8_t> got(400);
  rb.peek(500, got.size(), got.data());  // bytes 500..899 straddle the end
  EXPECT_EQ(got, std::vector<uint8_t>(held.begin() + 500, held.begin() + 900));
}

TEST(RingBuffer, WritableSpansCoverFreeSpaceAcrossWrapPoint) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> a = pattern(3000, 1);
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  rb.consume(2000);  // 1000 readable at [2000, 3000)

  struct iovec iov[2];
  ASSERT_EQ(rb.writable_spans(iov), 2);
  EXPECT_EQ(iov[0].iov_len, kMin - 3000);
  EXPECT_EQ(iov[1].iov_len, 2000u);
  size_t free_bytes = span_total(iov, 2);
  ASSERT_EQ(free_bytes, kMin - 1000);

  std::vector<uint8_t> fill = pattern(free_bytes, 3);
  std::memcpy(iov[0].iov_base, fill.data(), iov[0].iov_len);
  std::memcpy(iov[1].iov_base, fill.data() + iov[0].iov_len, iov[1].iov_len);
  rb.commit(free_bytes);

  EXPECT_EQ(rb.size(), kMin);
  EXPECT_EQ(contents(rb), concat(tail_of(a, 2000), fill));
  EXPECT_EQ(rb.writable_spans(iov), 0);  // full
}

TEST(RingBuffer, PartialCommitOfWritableSpansKeepsOrder) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> a = pattern(3500, 1);
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  rb.consume(3000);  // 500 readable at [3000, 3500)

  struct iovec iov[2];
  ASSERT_EQ(rb.writable_spans(iov), 2);
  // Fill the first span and only part of the second, as a short readv would.
  std::vector<uint8_t> fill = pattern(iov[0].iov_len + 100, 4);
  std::memcpy(iov[0].iov_base, fill.data(), iov[0].iov_len);
  std::memcpy(iov[1].iov_base, fill.data() + iov[0].iov_len, 100);
  rb.commit(fill.size());
  EXPECT_EQ(contents(rb), concat(tail_of(a, 3000), fill));
}

TEST(RingBuffer, GrowsToNextPowerOfTwoKeepingWrappedContentInOrder) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> held = make_wrapped(rb, 3000, 1000);
  struct iovec iov[2];
  ASSERT_EQ(rb.readable_spans(iov), 2);  // really wrapped before growing

  std::vector<uint8_t> more = pattern(2000, 5);  // 5000 > 4096
  ASSERT_TRUE(rb.append(more.data(), more.size()));
  EXPECT_EQ(rb.capacity(), 2 * kMin);
  EXPECT_EQ(contents(rb), concat(held, more));
  EXPECT_EQ(gather(rb), concat(held, more));
}

TEST(RingBuffer, GrowsStraightToPowerOfTwoHoldingTheWholeAppend) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> held = make_wrapped(rb, 3000, 1000);
  std::vector<uint8_t> more = pattern(10000, 6);  // 13000 -> 16384
  ASSERT_TRUE(rb.append(more.data(), more.size()));
  EXPECT_EQ(rb.capacity(), 4 * kMin);
  EXPECT_EQ(contents(rb), concat(held, more));
}

TEST(RingBuffer, AppendPastLimitIsRefusedAndLeavesContentsUnchanged) {
  RingBuffer rb(5000);
  std::vector<uint8_t> a = pattern(4000, 1);
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  size_t cap = rb.capacity();

  std::vector<uint8_t> b = pattern(1001, 2);
  EXPECT_FALSE(rb.append(b.data(), b.size()));
  EXPECT_EQ(rb.size(), 4000u);
  EXPECT_EQ(rb.capacity(), cap);
  EXPECT_EQ(contents(rb), a);
}

TEST(RingBuffer, AppendUpToExactlyTheLimitIsAccepted) {
  RingBuffer rb(5000);
  std::vector<uint8_t> a = pattern(4000, 1);
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  std::vector<uint8_t> b = pattern(1000, 2);
  EXPECT_TRUE(rb.append(b.data(), b.size()));
  EXPECT_EQ(rb.size(), 5000u);
  EXPECT_EQ(contents(rb), concat(a, b));
}

TEST(RingBuffer, AppendPastLimitOnUnallocatedRingAllocatesNothing) {
  RingBuffer rb(100);
  std::vector<uint8_t> a = pattern(101);
  EXPECT_FALSE(rb.append(a.data(), a.size()));
  EXPECT_EQ(rb.capacity(), 0u);
  EXPECT_TRUE(rb.empty());
}

TEST(RingBuffer, SetLimitAppliesToLaterAppends) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> a = pattern(100);
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  rb.set_limit(150);
  EXPECT_EQ(rb.limit(), 150u);
  EXPECT_FALSE(rb.append(a.data(), 51));
  EXPECT_TRUE(rb.append(a.data(), 50));
}

TEST(RingBuffer, ReserveMakesRoomForNMoreBytesWithoutChangingContents) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> held = make_wrapped(rb, 3000, 1000);
  ASSERT_TRUE(rb.reserve(6000));  // 9000 -> 16384
  EXPECT_EQ(rb.capacity(), 4 * kMin);
  EXPECT_EQ(rb.size(), 3000u);
  EXPECT_EQ(contents(rb), held);
  struct iovec iov[2];
  int n = rb.writable_spans(iov);
  EXPECT_GE(span_total(iov, n), 6000u);
}

TEST(RingBuffer, ReserveWithinCapacityDoesNotGrow) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> a = pattern(1000);
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  EXPECT_TRUE(rb.reserve(kMin - 1000));
  EXPECT_EQ(rb.capacity(), kMin);
}

TEST(RingBuffer, ReserveOnUnallocatedRingAllocates) {
  RingBuffer rb(kBig);
  ASSERT_TRUE(rb.reserve(10));
  EXPECT_EQ(rb.capacity(), kMin);
  EXPECT_TRUE(rb.empty());
  struct iovec iov[2];
  EXPECT_EQ(rb.writable_spans(iov), 1);
  EXPECT_EQ(iov[0].iov_len, kMin);
}

TEST(RingBuffer, ReservePastLimitFailsAndChangesNothing) {
  RingBuffer rb(5000);
  std::vector<uint8_t> a = pattern(4000);
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  EXPECT_FALSE(rb.reserve(1001));
  EXPECT_EQ(rb.capacity(), kMin);
  EXPECT_EQ(contents(rb), a);
  EXPECT_TRUE(rb.reserve(1000));  // size + n == limit is allowed
}

TEST(RingBuffer, ContiguousPointsIntoRingWhenNotStraddling) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> a = pattern(3000);
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  rb.consume(1000);
  std::vector<uint8_t> scratch(2000, 0xee);
  const uint8_t* p = rb.contiguous(2000, scratch.data());

  struct iovec iov[2];
  ASSERT_EQ(rb.readable_spans(iov), 1);
  EXPECT_EQ(p, static_cast<const uint8_t*>(iov[0].iov_base));
  EXPECT_EQ(std::vector<uint8_t>(p, p + 2000), tail_of(a, 1000));
  EXPECT_EQ(scratch, std::vector<uint8_t>(2000, 0xee));  // untouched
}

TEST(RingBuffer, ContiguousPrefixBeforeWrapPointPointsIntoRing) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> held = make_wrapped(rb, 1000, 300);  // 700 before end
  std::vector<uint8_t> scratch(700);
  const uint8_t* p = rb.contiguous(700, scratch.data());
  EXPECT_NE(p, scratch.data());
  EXPECT_EQ(std::vector<uint8_t>(p, p + 700),
            std::vector<uint8_t>(held.begin(), held.begin() + 700));
}

TEST(RingBuffer, ContiguousCopiesIntoScratchWhenStraddling) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> held = make_wrapped(rb, 1000, 300);
  std::vector<uint8_t> scratch(800);
  const uint8_t* p = rb.contiguous(800, scratch.data());
  EXPECT_EQ(p, scratch.data());
  EXPECT_EQ(scratch, std::vector<uint8_t>(held.begin(), held.begin() + 800));
}

TEST(RingBuffer, ReleaseIfEmptyKeepsMemoryWhileDataRemains) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> a = pattern(100);
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  rb.consume(50);
  rb.release_if_empty();
  EXPECT_EQ(rb.capacity(), kMin);
  EXPECT_EQ(contents(rb), tail_of(a, 50));
}

TEST(RingBuffer, ReleaseIfEmptyFreesMemoryWhenEmpty) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> a = pattern(100);
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  rb.consume(100);
  rb.release_if_empty();
  EXPECT_EQ(rb.capacity(), 0u);
  struct iovec iov[2];
  EXPECT_EQ(rb.writable_spans(iov), 0);

  // And it comes back on the next append.
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  EXPECT_EQ(rb.capacity(), kMin);
  EXPECT_EQ(contents(rb), a);
}

TEST(RingBuffer, ReleaseIfEmptyOnUnallocatedRingIsHarmless) {
  RingBuffer rb(kBig);
  rb.release_if_empty();
  EXPECT_EQ(rb.capacity(), 0u);
  EXPECT_TRUE(rb.empty());
}

TEST(RingBuffer, EmptyingTheRingRestartsAtTheStartOfTheArray) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> a = pattern(3000);
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  rb.consume(3000);
  // Without the restart this append would wrap.
  ASSERT_TRUE(rb.append(a.data(), a.size()));
  struct iovec iov[2];
  EXPECT_EQ(rb.readable_spans(iov), 1);
  EXPECT_EQ(gather(rb), a);
}

TEST(RingBuffer, ZeroLengthOperationsOnUnallocatedRingAreHarmless) {
  RingBuffer rb(kBig);
  EXPECT_TRUE(rb.append(nullptr, 0));
  EXPECT_TRUE(rb.reserve(0));
  rb.consume(0);
  rb.commit(0);
  rb.peek(0, 0, nullptr);
  EXPECT_EQ(rb.capacity(), 0u);
  EXPECT_TRUE(rb.empty());
  struct iovec iov[2];
  EXPECT_EQ(rb.readable_spans(iov), 0);
}

TEST(RingBuffer, ZeroLengthOperationsOnWrappedRingChangeNothing) {
  RingBuffer rb(kBig);
  std::vector<uint8_t> held = make_wrapped(rb, 1000, 300);
  EXPECT_TRUE(rb.append(nullptr, 0));
  EXPECT_TRUE(rb.reserve(0));
  rb.consume(0);
  rb.commit(0);
  rb.peek(500, 0, nullptr);
  EXPECT_EQ(rb.capacity(), kMin);
  EXPECT_EQ(contents(rb), held);
}

TEST(RingBuffer, ZeroLengthAppendWithZeroLimitSucceeds) {
  RingBuffer rb(0);
  EXPECT_TRUE(rb.append(nullptr, 0));
  uint8_t byte = 1;
  EXPECT_FALSE(rb.append(&byte, 1));
  EXPECT_EQ(rb.capacity(), 0u);
}

// A pipe with both ends non-blocking, closed on scope exit.
struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (pipe2(fd, O_NONBLOCK | O_CLOEXEC) != 0) fd[0] = fd[1] = -1;
  }
  ~Pipe() {
    if (fd[0] >= 0) close(fd[0]);
    if (fd[1] >= 0) close(fd[1]);
  }
};

TEST(RingBuffer, WritevAndReadvMoveBytesAcrossWrapPoint) {
  Pipe p;
  ASSERT_GE(p.fd[0], 0) << std::strerror(errno);

  // Source: 3000 readable bytes straddling the end of the array.
  RingBuffer src(kBig);
  std::vector<uint8_t> held = make_wrapped(src, 3000, 1200);
  struct iovec out[2];
  int n_out = src.readable_spans(out);
  ASSERT_EQ(n_out, 2);
  ssize_t wrote = writev(p.fd[1], out, n_out);
  ASSERT_EQ(wrote, static_cast<ssize_t>(held.size())) << std::strerror(errno);
  src.consume(static_cast<size_t>(wrote));
  EXPECT_TRUE(src.empty());

  // Destination: free space split in two by the wrap point, filled by readv.
  RingBuffer dst(kBig);
  std::vector<uint8_t> pre = pattern(3500, 9);
  ASSERT_TRUE(dst.append(pre.data(), pre.size()));
  dst.consume(3400);  // 100 readable at [3400, 3500)
  struct iovec in[2];
  int n_in = dst.writable_spans(in);
  ASSERT_EQ(n_in, 2);
  ASSERT_LT(in[0].iov_len, held.size());  // the read must cross the wrap
  ssize_t got = readv(p.fd[0], in, n_in);
  ASSERT_EQ(got, static_cast<ssize_t>(held.size())) << std::strerror(errno);
  dst.commit(static_cast<size_t>(got));

  EXPECT_EQ(contents(dst), concat(tail_of(pre, 3400), held));
  EXPECT_EQ(gather(dst), concat(tail_of(pre, 3400), held));
}

}  // namespace
}  // namespace hazel
