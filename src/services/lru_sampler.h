// LruSampler: approximately-least-recently-used eviction, the way Redis's
// evict.c does it, for a std::unordered_map keyed by string.
//
// Keeping an exact LRU order costs a list node per key and a relink on
// every access. Instead each entry carries a stamp (the loop's clock at its
// last use) and eviction *samples*: a few entries are read from a random
// run of hash buckets (Redis's dictGetSomeKeys) and offered to a small pool
// of the best candidates seen so far, kept across evictions and ordered by
// stamp; the oldest one in the pool goes. The pool is what makes a sample
// of 5 good: an old key met once stays a candidate until it is evicted.
//
//   pool_ (kPoolSize slots, ascending by age; the next victim on the right)
//   +--------+--------+-----+--------+
//   | newest |        | ... | oldest |  <- pick() takes from this end
//   +--------+--------+-----+--------+
//
// A candidate is checked against the map when it is picked: a key deleted
// since it was pooled is a ghost and is skipped (as in Redis); a key used
// since (its stamp moved on) is skipped too, so a key that was read a moment
// ago is never evicted for having been old when it was sampled.
//
// Pure: no clock, no I/O. The random source is a fixed-seed xorshift, so a
// given sequence of operations always evicts the same keys.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace hazel::services {

class LruSampler {
 public:
  static constexpr size_t kSamples = 5;     // Redis's maxmemory-samples
  static constexpr size_t kPoolSize = 16;   // Redis's EVPOOL_SIZE
  // Buckets one sample may walk, and a run of empty ones after which it
  // jumps elsewhere (dictGetSomeKeys: count * 10 steps, runs of 5).
  static constexpr size_t kMaxSteps = kSamples * 10;
  static constexpr size_t kEmptyRun = 5;

  // The entry to evict from `map` (never the one keyed `keep`), or
  // map.end() when `keep` is the only key. `stamp(value)` is the entry's
  // last-use time; a smaller stamp is older.
  template <class Map, class StampFn>
  typename Map::iterator pick(Map& map, StampFn stamp, std::string_view keep) {
    const size_t others = map.size() - (map.find(keep) != map.end() ? 1 : 0);
    if (others == 0) return map.end();
    // A table emptied by deletes keeps its buckets; sampling a sparse one
    // would mostly meet empty buckets.
    if (map.bucket_count() > 4 * map.size() + 16) map.rehash(0);
    for (size_t round = 0;; ++round) {
      populate(map, stamp, keep);
      while (size_ > 0) {
        const Candidate& c = pool_[--size_];  // the slot keeps its buffer
        if (c.key == keep) continue;
        auto it = map.find(c.key);
        if (it != map.end() && stamp(it->second) == c.stamp) return it;
      }
      // Unlucky samples (every one of them `keep`, or stale): after a few
      // rounds take any other key rather than loop on.
      if (round >= 8) {
        for (auto it = map.begin(); it != map.end(); ++it)
          if (it->first != keep) return it;
      }
    }
  }

  size_t pooled() const { return size_; }

 private:
  struct Candidate {
    uint64_t stamp = 0;
    std::string key;
  };

  uint64_t next_random() {
    // xorshift64*: enough to pick buckets.
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return rng_ * 2685821657736338717ull;
  }

  // Samples up to kSamples entries from a random run of buckets and offers
  // each to the pool.
  template <class Map, class StampFn>
  void populate(Map& map, StampFn& stamp, std::string_view keep) {
    const size_t buckets = map.bucket_count();
    size_t b = static_cast<size_t>(next_random() % buckets);
    size_t found = 0;
    size_t empty = 0;
    for (size_t step = 0; step < kMaxSteps && found < kSamples; ++step) {
      auto it = map.begin(b);
      if (it == map.end(b)) {
        if (++empty >= kEmptyRun) {
          b = static_cast<size_t>(next_random() % buckets);
          empty = 0;
          continue;
        }
      } else {
        empty = 0;
        for (; it != map.end(b) && found < kSamples; ++it) {
          if (it->first == keep) continue;
          offer(stamp(it->second), it->first);
          ++found;
        }
      }
      b = (b + 1) % buckets;
    }
  }

  // Inserts a candidate in stamp order (oldest on the right). A full pool
  // takes it only in place of its newest entry, if it is older than that.
  void offer(uint64_t stamp, std::string_view key) {
    for (size_t i = 0; i < size_; ++i)
      if (pool_[i].key == key) return;  // already a candidate
    size_t k = 0;  // first slot holding an older entry
    while (k < size_ && pool_[k].stamp > stamp) ++k;
    if (size_ == kPoolSize) {
      if (k == 0) return;  // newer than everything in a full pool
      // Drop the newest (left end) and shift the newer ones left.
      for (size_t i = 0; i + 1 < k; ++i) pool_[i] = std::move(pool_[i + 1]);
      --k;
    } else {
      for (size_t i = size_; i > k; --i) pool_[i] = std::move(pool_[i - 1]);
      ++size_;
    }
    pool_[k].stamp = stamp;
    pool_[k].key.assign(key);  // reuses the slot's buffer, as Redis does
  }

  std::array<Candidate, kPoolSize> pool_;
  size_t size_ = 0;
  uint64_t rng_ = 0x9E3779B97F4A7C15ull;
};

}  // namespace hazel::services
