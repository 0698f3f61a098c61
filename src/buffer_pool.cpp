#include "buffer_pool.h"

#include <bit>

namespace hazel {

namespace {
int class_of(size_t n) {
  return n == 0 ? 0 : static_cast<int>(std::bit_width(n)) - 1;
}
}  // namespace

Block BufferPool::take(size_t min, size_t max) {
  if (max < min) max = min;
  int first = class_of(min);
  int last = std::min(class_of(max), kClasses - 1);
  for (int k = first; k <= last; ++k) {
    std::vector<Block>& list = classes_[k];
    // Newest first: it is the likeliest to be warm in the cache.
    for (size_t i = list.size(); i-- > 0;) {
      if (list[i].cap < min || list[i].cap > max) continue;
      Block b = std::move(list[i]);
      list[i] = std::move(list.back());
      list.pop_back();
      bytes_ -= b.cap;
      --count_;
      return b;
    }
  }
  ++allocations_;
  // No zero fill: every byte is written before it is read.
  Block b;
  b.data = std::make_unique_for_overwrite<uint8_t[]>(min);
  b.cap = min;
  return b;
}

void BufferPool::give(Block b) {
  if (!b || b.cap > max_bytes_) return;  // freed on return
  int k = class_of(b.cap);
  if (k >= kClasses) return;
  bytes_ += b.cap;
  ++count_;
  classes_[k].push_back(std::move(b));
  trim();
}

void BufferPool::trim() {
  // Over the bound: drop the largest arrays first (fewest blocks to free,
  // and the small ones are the ones most often reused).
  for (int k = kClasses - 1; k >= 0 && bytes_ > max_bytes_; --k) {
    std::vector<Block>& list = classes_[k];
    while (!list.empty() && bytes_ > max_bytes_) {
      bytes_ -= list.back().cap;
      --count_;
      list.pop_back();
    }
  }
}

void BufferPool::set_max_bytes(size_t n) {
  max_bytes_ = n;
  trim();
}

void BufferPool::clear() {
  for (std::vector<Block>& list : classes_) list.clear();
  bytes_ = 0;
  count_ = 0;
}

BufferPool& buffer_pool() {
  thread_local BufferPool pool;
  return pool;
}

}  // namespace hazel
