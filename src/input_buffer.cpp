#include "input_buffer.h"

#include <algorithm>
#include <cstring>

namespace hazel {

void InputBuffer::reserve(size_t total) {
  size_t held = size();
  if (total < held) total = held;
  bool oversized = block_ && block_.cap > kMinBlock &&
                   block_.cap / kShrinkFactor > std::max(total, kMinBlock);
  if (!oversized && head_ + total <= limit()) return;
  if (!oversized && total <= limit()) {
    // It fits once the handled bytes are gone: move the held ones down.
    std::memmove(base(), base() + head_, held);
    head_ = 0;
    tail_ = held;
    return;
  }
  // A new array: exactly `total` for a large frame, or a pooled array of
  // up to an eighth more (the pool's arrays are of recent frames' sizes).
  size_t want = std::max(total, kMinBlock);
  Block fresh = buffer_pool().take(want, want == kMinBlock ? want : want + want / 8);
  if (held > 0) std::memcpy(fresh.data.get(), base() + head_, held);
  buffer_pool().give(std::move(block_));
  block_ = std::move(fresh);
  head_ = 0;
  tail_ = held;
}

void InputBuffer::append(const void* p, size_t n) {
  if (n == 0) return;
  std::memcpy(base() + tail_, p, n);
  tail_ += n;
}

void InputBuffer::consume(size_t n) {
  head_ += std::min(n, size());
  if (head_ == tail_) head_ = tail_ = 0;
}

void InputBuffer::release() {
  head_ = tail_ = 0;
  if (block_) {
    buffer_pool().give(std::move(block_));
    block_ = Block{};
  }
}

}  // namespace hazel
