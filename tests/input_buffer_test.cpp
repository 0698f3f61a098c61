// Specification of BufferPool (src/buffer_pool.h) and InputBuffer
// (src/input_buffer.h): arrays reused by size and bounded in bytes; input
// held inline while it is a header cut short, in an array of exactly a
// frame's size once its header is known, never moved while the frame
// arrives, and handed back to the pool on release.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "buffer_pool.h"
#include "input_buffer.h"

namespace hazel {
namespace {

std::string bytes(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 7 + (i >> 9));
  return s;
}

TEST(BufferPool, FreshArrayHasExactlyTheSizeAsked) {
  BufferPool pool;
  Block b = pool.take(300000, 400000);
  EXPECT_EQ(b.cap, 300000u);
  EXPECT_EQ(pool.allocations(), 1u);
}

TEST(BufferPool, AnArrayGivenBackIsTakenAgainWithoutAllocating) {
  BufferPool pool;
  Block b = pool.take(70000, 70000);
  uint8_t* p = b.data.get();
  pool.give(std::move(b));
  EXPECT_EQ(pool.bytes(), 70000u);
  Block again = pool.take(65536, 80000);
  EXPECT_EQ(again.data.get(), p);
  EXPECT_EQ(again.cap, 70000u);
  EXPECT_EQ(pool.allocations(), 1u);
  EXPECT_EQ(pool.bytes(), 0u);
}

TEST(BufferPool, NeverHandsOutAnArrayOutsideTheRangeAsked) {
  BufferPool pool;
  pool.give(pool.take(4096, 4096));
  pool.give(pool.take(100000, 100000));
  Block small = pool.take(5000, 6000);  // 4096 too small, 100000 too big
  EXPECT_EQ(small.cap, 5000u);
  Block big = pool.take(90000, 99999);
  EXPECT_EQ(big.cap, 90000u);
  EXPECT_EQ(pool.blocks(), 2u);
}

TEST(BufferPool, HoldsNoMoreThanItsBoundInBytes) {
  BufferPool pool(10000);
  Block a = pool.take(4096, 4096), b = pool.take(4096, 4096),
        c = pool.take(4096, 4096);
  pool.give(std::move(a));
  pool.give(std::move(b));
  EXPECT_EQ(pool.bytes(), 8192u);
  pool.give(std::move(c));  // a third would pass 10000
  EXPECT_LE(pool.bytes(), 10000u);
  pool.give(pool.take(20000, 20000));  // larger than the whole bound
  EXPECT_LE(pool.bytes(), 10000u);
  pool.set_max_bytes(4096);
  EXPECT_LE(pool.bytes(), 4096u);
  pool.clear();
  EXPECT_EQ(pool.bytes(), 0u);
  EXPECT_EQ(pool.blocks(), 0u);
}

TEST(InputBuffer, AHeaderCutShortCostsNoArray) {
  InputBuffer in;
  std::string part = bytes(15, 'a');
  in.reserve(part.size());
  in.append(part.data(), part.size());
  EXPECT_EQ(in.capacity(), 0u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(in.data()), in.size()),
            part);
}

TEST(InputBuffer, ALargeFrameGetsAnArrayOfExactlyItsSize) {
  buffer_pool().clear();
  InputBuffer in;
  size_t total = 16 + 300001;  // not a power of two
  std::string first = bytes(1000, 'b');
  in.reserve(total);
  in.append(first.data(), first.size());
  EXPECT_EQ(in.capacity(), total);
  EXPECT_EQ(in.room_size(), total - first.size());
  in.release();
}

TEST(InputBuffer, TheFrameIsNeverMovedWhileTheRestOfItArrives) {
  InputBuffer in;
  size_t total = 200000;
  std::string all = bytes(total, 'c');
  in.reserve(total);
  in.append(all.data(), 16);
  const uint8_t* where = in.data();
  for (size_t off = 16; off < total;) {
    size_t n = std::min<size_t>(65536, total - off);
    in.reserve(total);  // asked again each read: must not move anything
    ASSERT_EQ(in.data(), where);
    std::memcpy(in.room(), all.data() + off, n);
    in.commit(n);
    off += n;
  }
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(in.data()), in.size()),
            all);
  in.release();
}

TEST(InputBuffer, HeldBytesSurviveMovingToTheFrontAndToALargerArray) {
  InputBuffer in;
  std::string a = bytes(3000, 'd');
  in.reserve(a.size());
  in.append(a.data(), a.size());
  in.consume(2000);  // 1000 held, starting at offset 2000 of a 4096 array
  in.reserve(3500);  // fits the array once moved to the front
  EXPECT_EQ(in.capacity(), InputBuffer::kMinBlock);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(in.data()), in.size()),
            a.substr(2000));
  in.reserve(100000);  // needs a larger array
  EXPECT_GE(in.capacity(), 100000u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(in.data()), in.size()),
            a.substr(2000));
  in.release();
}

TEST(InputBuffer, AnOversizedArrayIsSwappedForASmallOne) {
  InputBuffer in;
  in.reserve(1 << 20);
  EXPECT_EQ(in.capacity(), size_t{1} << 20);
  in.reserve(100);  // empty, and the array is 10000 times too big
  EXPECT_EQ(in.capacity(), InputBuffer::kMinBlock);
  in.release();
}

TEST(InputBuffer, ReleaseGivesTheArrayToThePool) {
  buffer_pool().clear();
  InputBuffer in;
  in.reserve(50000);
  in.append("x", 1);
  in.release();
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(in.capacity(), 0u);
  EXPECT_EQ(buffer_pool().bytes(), 50000u);
  buffer_pool().clear();
}

}  // namespace
}  // namespace hazel
