// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for signing and checking
// connection tokens. Pure functions, no I/O, no allocation.
//
//   Sha256 h;                      // streaming: update() any number of times
//   h.update("abc");
//   Sha256::Digest d = h.finish();
//
//   auto mac = hmac_sha256(key, message);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hazel {

class Sha256 {
 public:
  static constexpr size_t kDigestSize = 32;
  static constexpr size_t kBlockSize = 64;
  using Digest = std::array<uint8_t, kDigestSize>;

  Sha256();
  void update(const void* data, size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // Pads, returns the digest; the object must not be updated afterwards.
  Digest finish();

  static Digest hash(std::string_view s) {
    Sha256 h;
    h.update(s);
    return h.finish();
  }

 private:
  void compress(const uint8_t* block);

  uint32_t state_[8];
  uint8_t buf_[kBlockSize];
  size_t buffered_ = 0;
  uint64_t total_ = 0;  // bytes hashed so far
};

Sha256::Digest hmac_sha256(std::string_view key, std::string_view message);

// Compares two byte strings in time that depends only on their lengths,
// never on where they differ (a MAC must not leak how much of a forgery was
// right).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace hazel
