#include "ring_buffer.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace hazel {

namespace {

// Released arrays of the smallest size, kept for reuse. A busy client frees
// its output ring when a turn's output is flushed and takes one again the
// next turn; the cache makes that cycle free of malloc. Bounded, so idle
// connections still cost no memory.
constexpr size_t kCachedBlocks = 256;

struct BlockCache {
  std::vector<uint8_t*> blocks;
  ~BlockCache() {
    for (uint8_t* b : blocks) delete[] b;
  }
};
thread_local BlockCache t_cache;

std::unique_ptr<uint8_t[]> allocate(size_t cap) {
  if (cap == RingBuffer::kMinCapacity && !t_cache.blocks.empty()) {
    uint8_t* b = t_cache.blocks.back();
    t_cache.blocks.pop_back();
    return std::unique_ptr<uint8_t[]>(b);
  }
  // No zero fill: every byte is written before it is read.
  return std::make_unique_for_overwrite<uint8_t[]>(cap);
}

void recycle(std::unique_ptr<uint8_t[]> buf, size_t cap) {
  if (cap == RingBuffer::kMinCapacity && t_cache.blocks.size() < kCachedBlocks)
    t_cache.blocks.push_back(buf.release());
}

size_t next_pow2(size_t n) {
  size_t c = RingBuffer::kMinCapacity;
  while (c < n) c <<= 1;
  return c;
}
}  // namespace

void RingBuffer::grow_to(size_t cap) {
  auto fresh = allocate(cap);
  size_t n = size();
  if (n > 0) peek(0, n, fresh.get());
  recycle(std::move(buf_), capacity_);
  buf_ = std::move(fresh);
  capacity_ = cap;
  head_ = 0;
  tail_ = n;
}

bool RingBuffer::reserve(size_t n) {
  size_t need = size() + n;
  if (need > limit_) return false;
  if (need <= capacity_) return true;
  grow_to(next_pow2(need));
  return true;
}

bool RingBuffer::append(const void* data, size_t n) {
  if (n == 0) return true;
  if (!reserve(n)) return false;
  size_t pos = static_cast<size_t>(tail_) & mask();
  size_t first = std::min(n, capacity_ - pos);
  const auto* src = static_cast<const uint8_t*>(data);
  std::memcpy(buf_.get() + pos, src, first);
  if (first < n) std::memcpy(buf_.get(), src + first, n - first);
  tail_ += n;
  return true;
}

int RingBuffer::writable_spans(struct iovec out[2]) {
  // Capacity is a power of two and may exceed the limit: offer only up to it.
  size_t room = std::min(capacity_, limit_);
  size_t free_bytes = room > size() ? room - size() : 0;
  if (free_bytes == 0) return 0;
  size_t pos = static_cast<size_t>(tail_) & mask();
  size_t first = std::min(free_bytes, capacity_ - pos);
  out[0].iov_base = buf_.get() + pos;
  out[0].iov_len = first;
  if (first == free_bytes) return 1;
  out[1].iov_base = buf_.get();
  out[1].iov_len = free_bytes - first;
  return 2;
}

int RingBuffer::readable_spans(struct iovec out[2]) const {
  size_t n = size();
  if (n == 0) return 0;
  size_t pos = static_cast<size_t>(head_) & mask();
  size_t first = std::min(n, capacity_ - pos);
  out[0].iov_base = buf_.get() + pos;
  out[0].iov_len = first;
  if (first == n) return 1;
  out[1].iov_base = buf_.get();
  out[1].iov_len = n - first;
  return 2;
}

void RingBuffer::consume(size_t n) {
  head_ += std::min(n, size());
  // Restarting at offset 0 keeps the next frames contiguous more often.
  if (head_ == tail_) head_ = tail_ = 0;
}

void RingBuffer::peek(size_t offset, size_t n, void* out) const {
  if (n == 0) return;
  size_t pos = static_cast<size_t>(head_ + offset) & mask();
  size_t first = std::min(n, capacity_ - pos);
  auto* dst = static_cast<uint8_t*>(out);
  std::memcpy(dst, buf_.get() + pos, first);
  if (first < n) std::memcpy(dst + first, buf_.get(), n - first);
}

const uint8_t* RingBuffer::contiguous(size_t n, uint8_t* scratch) const {
  size_t pos = static_cast<size_t>(head_) & mask();
  if (pos + n <= capacity_) return buf_.get() + pos;
  peek(0, n, scratch);
  return scratch;
}

void RingBuffer::release_if_empty() {
  if (!empty() || !buf_) return;
  recycle(std::move(buf_), capacity_);
  buf_.reset();
  capacity_ = 0;
  head_ = tail_ = 0;
}

}  // namespace hazel
