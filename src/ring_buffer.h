// RingBuffer: a byte ring with power-of-two capacity that grows on demand up
// to a hard limit. Used for a client's pending input (a partial frame) and
// pending output (frames not yet accepted by the kernel).
//
//   head_ and tail_ are free-running 64-bit counters; the position of a
//   counter in the array is `counter & (capacity_ - 1)`.
//
//   not wrapped:
//     0                                                      capacity_
//     |   free    |########## readable ##########|    free    |
//                 ^ head_                        ^ tail_
//
//   wrapped (readable data straddles the end of the array):
//     0                                                      capacity_
//     |#### readable ####|        free          |## readable ##|
//                        ^ tail_                ^ head_
//
// readable_spans() / writable_spans() return at most two iovecs, so one
// readv/writev moves bytes across the wrap point without a copy. Memory is
// taken from this thread's BufferPool on the first write and given back by
// release_if_empty(), so an idle connection costs no buffer at all, and a
// busy one that keeps its ring grows it once, not every turn.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "buffer_pool.h"

namespace hazel {

class RingBuffer {
 public:
  static constexpr size_t kMinCapacity = 4096;

  explicit RingBuffer(size_t limit) : limit_(limit) {}
  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;

  size_t size() const { return static_cast<size_t>(tail_ - head_); }
  bool empty() const { return head_ == tail_; }
  size_t capacity() const { return capacity_; }
  size_t limit() const { return limit_; }
  void set_limit(size_t limit) { limit_ = limit; }

  // Makes room for `n` more bytes, growing to the next power of two. Returns
  // false (and changes nothing) if size() + n would pass the limit.
  bool reserve(size_t n);
  // Copies `n` bytes in; false if that would pass the limit.
  bool append(const void* data, size_t n);

  // Free space as up to two spans (for readv); call commit() with what was
  // filled. Returns the number of spans (0 when full or unallocated).
  int writable_spans(struct iovec out[2]);
  void commit(size_t n) { tail_ += n; }

  // Readable bytes as up to two spans (for writev); call consume() after.
  int readable_spans(struct iovec out[2]) const;
  void consume(size_t n);
  // Drops all but the first `keep` readable bytes.
  void truncate(size_t keep) {
    if (keep < size()) tail_ = head_ + keep;
    if (head_ == tail_) head_ = tail_ = 0;
  }

  // Copies `n` bytes starting `offset` bytes past the head into `out`.
  void peek(size_t offset, size_t n, void* out) const;
  // A pointer to the first `n` readable bytes as one contiguous block: into
  // the ring when they do not straddle the wrap point, else a copy made in
  // `scratch` (which must hold n bytes).
  const uint8_t* contiguous(size_t n, uint8_t* scratch) const;

  // Gives the array back to the pool if the ring is empty (idle connections
  // hold no memory). The destructor frees it without the pool.
  void release_if_empty();

 private:
  size_t mask() const { return capacity_ - 1; }
  void grow_to(size_t cap);

  Block buf_;  // buf_.cap is the capacity, 0 when unallocated
  size_t capacity_ = 0;
  size_t limit_;
  uint64_t head_ = 0;
  uint64_t tail_ = 0;
};

}  // namespace hazel
