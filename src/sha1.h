// SHA-1 (FIPS 180-4), for the WebSocket handshake's Sec-WebSocket-Accept
// (RFC 6455 section 4.2.2). SHA-1 is broken for collision resistance; the
// handshake uses it only to prove that the server read the client's key, so
// nothing in hazel may use it for security. Pure, no I/O, no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hazel {

using Sha1Digest = std::array<uint8_t, 20>;

class Sha1 {
 public:
  Sha1();
  // Adds `n` bytes; may be called any number of times.
  void update(const void* data, size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // Pads, and returns the digest of everything added. The object is spent:
  // reset() before another use.
  Sha1Digest finish();
  void reset();

 private:
  void block(const uint8_t* p);

  uint32_t h_[5];
  uint8_t buf_[64];
  size_t used_ = 0;     // bytes in buf_
  uint64_t total_ = 0;  // bytes added so far
};

// The digest of `data` in one call.
Sha1Digest sha1(std::string_view data);

}  // namespace hazel
