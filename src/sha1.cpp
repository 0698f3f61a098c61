#include "sha1.h"

#include <cstring>

namespace hazel {

namespace {
constexpr uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
}  // namespace

Sha1::Sha1() { reset(); }

void Sha1::reset() {
  h_[0] = 0x67452301u;
  h_[1] = 0xEFCDAB89u;
  h_[2] = 0x98BADCFEu;
  h_[3] = 0x10325476u;
  h_[4] = 0xC3D2E1F0u;
  used_ = 0;
  total_ = 0;
}

// One 512-bit block (FIPS 180-4 section 6.1.2), with the 16-word rolling
// message schedule instead of the 80-word one.
void Sha1::block(const uint8_t* p) {
  uint32_t w[16];
  for (int i = 0; i < 16; ++i)
    w[i] = (uint32_t{p[4 * i]} << 24) | (uint32_t{p[4 * i + 1]} << 16) |
           (uint32_t{p[4 * i + 2]} << 8) | uint32_t{p[4 * i + 3]};
  uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
  for (int t = 0; t < 80; ++t) {
    if (t >= 16) {
      w[t & 15] = rotl(w[(t + 13) & 15] ^ w[(t + 8) & 15] ^ w[(t + 2) & 15] ^
                           w[t & 15],
                       1);
    }
    uint32_t f, k;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5A827999u;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ED9EBA1u;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8F1BBCDCu;
    } else {
      f = b ^ c ^ d;
      k = 0xCA62C1D6u;
    }
    uint32_t tmp = rotl(a, 5) + f + e + k + w[t & 15];
    e = d;
    d = c;
    c = rotl(b, 30);
    b = a;
    a = tmp;
  }
  h_[0] += a;
  h_[1] += b;
  h_[2] += c;
  h_[3] += d;
  h_[4] += e;
}

void Sha1::update(const void* data, size_t n) {
  auto* p = static_cast<const uint8_t*>(data);
  total_ += n;
  if (used_ > 0) {
    size_t take = sizeof buf_ - used_ < n ? sizeof buf_ - used_ : n;
    memcpy(buf_ + used_, p, take);
    used_ += take;
    p += take;
    n -= take;
    if (used_ < sizeof buf_) return;
    block(buf_);
    used_ = 0;
  }
  for (; n >= sizeof buf_; p += sizeof buf_, n -= sizeof buf_) block(p);
  if (n > 0) {
    memcpy(buf_, p, n);
    used_ = n;
  }
}

Sha1Digest Sha1::finish() {
  // 0x80, zeros up to 56 mod 64, then the length in bits, big-endian.
  uint64_t bits = total_ * 8;
  uint8_t pad[72] = {0x80};
  size_t padn = (used_ < 56 ? 56 - used_ : 120 - used_);
  for (int i = 0; i < 8; ++i)
    pad[padn + static_cast<size_t>(i)] =
        static_cast<uint8_t>(bits >> (56 - 8 * i));
  update(pad, padn + 8);
  Sha1Digest out;
  for (int i = 0; i < 5; ++i) {
    out[static_cast<size_t>(4 * i)] = static_cast<uint8_t>(h_[i] >> 24);
    out[static_cast<size_t>(4 * i + 1)] = static_cast<uint8_t>(h_[i] >> 16);
    out[static_cast<size_t>(4 * i + 2)] = static_cast<uint8_t>(h_[i] >> 8);
    out[static_cast<size_t>(4 * i + 3)] = static_cast<uint8_t>(h_[i]);
  }
  return out;
}

Sha1Digest sha1(std::string_view data) {
  Sha1 s;
  s.update(data);
  return s.finish();
}

}  // namespace hazel
