// BufferPool: byte arrays that clients have let go of, kept for the next
// client that needs one of about that size, bounded in bytes.
//
// A steady stream of large frames would otherwise allocate and free arrays
// of hundreds of KiB every turn; the allocator serves those with mmap and
// munmap, and every fresh mapping costs page faults and page clearing on
// first touch. Arrays that come back from the pool are already mapped and
// touched. The pool is per thread (each loop has its own) and keeps at most
// max_bytes(); past that, a released array goes back to the allocator.
//
//   take(min, max) -> an array of capacity in [min, max]: a pooled one if
//                     one fits, else a fresh one of exactly `min` bytes
//   give(block)    -> into the pool, or freed if the pool is full
//
// Arrays are looked up by size class (powers of two), so take() is cheap
// when the pool holds many arrays of a few sizes, which is the steady state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace hazel {

// One owned array and its capacity.
struct Block {
  std::unique_ptr<uint8_t[]> data;
  size_t cap = 0;
  explicit operator bool() const { return data != nullptr; }
};

class BufferPool {
 public:
  static constexpr size_t kDefaultMaxBytes = size_t{16} << 20;

  explicit BufferPool(size_t max_bytes = kDefaultMaxBytes)
      : max_bytes_(max_bytes) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  Block take(size_t min, size_t max);
  void give(Block b);

  size_t bytes() const { return bytes_; }
  size_t blocks() const { return count_; }
  size_t max_bytes() const { return max_bytes_; }
  // Lowering the bound frees what no longer fits.
  void set_max_bytes(size_t n);
  void clear();

  // Arrays taken fresh from the allocator (not from the pool) so far.
  uint64_t allocations() const { return allocations_; }

 private:
  static constexpr int kClasses = 48;
  void trim();

  std::vector<Block> classes_[kClasses];  // class k: cap in [2^k, 2^(k+1))
  size_t bytes_ = 0;
  size_t count_ = 0;
  size_t max_bytes_;
  uint64_t allocations_ = 0;
};

// The pool of the calling thread.
BufferPool& buffer_pool();

}  // namespace hazel
