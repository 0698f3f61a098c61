// InputBuffer: the bytes of one client that are not handled yet: one frame
// whose end has not arrived, or, while the client is paused, what the last
// read brought past the point where handling stopped.
//
//   0           head_                  tail_               capacity()
//   |  handled  |######## held ########|        room        |
//
// Linear, not a ring, so a frame is always handled where it lies, in one
// piece. Once a frame's header is known, reserve(total) gives it an array of
// exactly its size (not the next power of two), so the rest of its body is
// read straight into place and never moved again. A header cut short (fewer
// than kInline bytes) is held inside the object: a connection that stops
// mid-header costs no array at all.
//
// Arrays come from and go back to this thread's BufferPool. The owner
// decides when an empty buffer gives its array back (release()): a busy
// client keeps it from one frame to the next.
#pragma once

#include <cstddef>
#include <cstdint>

#include "buffer_pool.h"

namespace hazel {

class InputBuffer {
 public:
  static constexpr size_t kInline = 16;
  // Small frames share one array size, so the pool serves them all.
  static constexpr size_t kMinBlock = 4096;
  // An array this much larger than what it must hold is swapped for a
  // smaller one on the next reserve(): one large frame does not leave a
  // client holding its array for good.
  static constexpr size_t kShrinkFactor = 4;

  InputBuffer() = default;
  InputBuffer(const InputBuffer&) = delete;
  InputBuffer& operator=(const InputBuffer&) = delete;

  size_t size() const { return tail_ - head_; }
  bool empty() const { return head_ == tail_; }
  // Bytes of array held (0 while the bytes fit inline).
  size_t capacity() const { return block_.cap; }
  const uint8_t* data() const { return base() + head_; }

  // Makes [data(), data() + total) one writable piece, keeping the bytes
  // held (total >= size()). Moves them to the front or into a new array
  // only when the current one cannot hold that many past the head.
  void reserve(size_t total);
  // Room after the held bytes, for a read (then commit()).
  uint8_t* room() { return base() + tail_; }
  size_t room_size() const { return limit() - tail_; }
  void commit(size_t n) { tail_ += n; }
  // Copies `n` bytes in after the held ones; reserve() room first.
  void append(const void* p, size_t n);
  // Drops the first `n` held bytes.
  void consume(size_t n);

  // Drops what is held and gives the array back to the pool.
  void release();

 private:
  const uint8_t* base() const { return block_ ? block_.data.get() : inline_; }
  uint8_t* base() { return block_ ? block_.data.get() : inline_; }
  size_t limit() const { return block_ ? block_.cap : kInline; }

  Block block_;
  size_t head_ = 0;
  size_t tail_ = 0;
  uint8_t inline_[kInline];
};

}  // namespace hazel
