#include "ring_buffer.h"

#include <algorithm>
#include <cstring>

namespace hazel {

namespace {

size_t next_pow2(size_t n) {
  size_t c = RingBuffer::kMinCapacity;
  while (c < n) c <<= 1;
  return c;
}
}  // namespace

void RingBuffer::grow_to(size_t cap) {
  Block fresh = buffer_pool().take(cap, cap);
  size_t n = size();
  if (n > 0) peek(0, n, fresh.data.get());
  buffer_pool().give(std::move(buf_));
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
  std::memcpy(buf_.data.get() + pos, src, first);
  if (first < n) std::memcpy(buf_.data.get(), src + first, n - first);
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
  out[0].iov_base = buf_.data.get() + pos;
  out[0].iov_len = first;
  if (first == free_bytes) return 1;
  out[1].iov_base = buf_.data.get();
  out[1].iov_len = free_bytes - first;
  return 2;
}

int RingBuffer::readable_spans(struct iovec out[2]) const {
  size_t n = size();
  if (n == 0) return 0;
  size_t pos = static_cast<size_t>(head_) & mask();
  size_t first = std::min(n, capacity_ - pos);
  out[0].iov_base = buf_.data.get() + pos;
  out[0].iov_len = first;
  if (first == n) return 1;
  out[1].iov_base = buf_.data.get();
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
  std::memcpy(dst, buf_.data.get() + pos, first);
  if (first < n) std::memcpy(dst + first, buf_.data.get(), n - first);
}

const uint8_t* RingBuffer::contiguous(size_t n, uint8_t* scratch) const {
  size_t pos = static_cast<size_t>(head_) & mask();
  if (pos + n <= capacity_) return buf_.data.get() + pos;
  peek(0, n, scratch);
  return scratch;
}

void RingBuffer::release_if_empty() {
  if (!empty() || !buf_) return;
  buffer_pool().give(std::move(buf_));
  buf_ = Block{};
  capacity_ = 0;
  head_ = tail_ = 0;
}

}  // namespace hazel
