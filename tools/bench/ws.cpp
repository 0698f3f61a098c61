#include "bench/ws.h"

#include <cstring>

#include "bench/excerpt.h"

namespace hazel_bench::ws {

std::string upgrade_request(std::string_view host, std::string_view key) {
  return "GET " + std::string(kPath) + " HTTP/1.1\r\nHost: " + std::string(host) +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
         std::string(key) +
         "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: hazel.v1\r\n\r\n";
}

std::string key_for(size_t i) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint8_t raw[16] = {'h', 'a', 'z', 'e', 'l', '-', 'b', 'e'};
  for (int b = 0; b < 8; ++b) raw[8 + b] = static_cast<uint8_t>(i >> (8 * b));
  std::string out;
  for (size_t at = 0; at < 16; at += 3) {
    uint32_t v = uint32_t{raw[at]} << 16;
    if (at + 1 < 16) v |= uint32_t{raw[at + 1]} << 8;
    if (at + 2 < 16) v |= raw[at + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += at + 1 < 16 ? kAlphabet[(v >> 6) & 63] : '=';
    out += at + 2 < 16 ? kAlphabet[v & 63] : '=';
  }
  return out;
}

long upgrade_answer(const uint8_t* p, size_t n, std::string* why) {
  std::string_view head(reinterpret_cast<const char*>(p), n);
  size_t end = head.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (n < kMaxHead) return 0;
    *why = "no end to the server's answer in " + std::to_string(kMaxHead) + " bytes";
    return -1;
  }
  head = head.substr(0, end + 4);
  if (head.substr(0, 13) != "HTTP/1.1 101 ") {
    *why = "the upgrade was answered " + excerpt(head.substr(0, head.find("\r\n")));
    return -1;
  }
  return static_cast<long>(head.size());
}

void wrap(std::string& out, size_t at, uint32_t key) {
  const uint64_t len = out.size() - at;
  uint8_t h[14];
  size_t hn = 2;
  h[0] = 0x80 | 0x2;  // FIN, binary
  if (len < 126) {
    h[1] = static_cast<uint8_t>(0x80 | len);
  } else if (len <= 0xFFFF) {
    h[1] = 0x80 | 126;
    h[2] = static_cast<uint8_t>(len >> 8);
    h[3] = static_cast<uint8_t>(len);
    hn = 4;
  } else {
    h[1] = 0x80 | 127;
    for (int b = 0; b < 8; ++b) h[2 + b] = static_cast<uint8_t>(len >> (56 - 8 * b));
    hn = 10;
  }
  uint8_t k[4] = {static_cast<uint8_t>(key >> 24), static_cast<uint8_t>(key >> 16),
                  static_cast<uint8_t>(key >> 8), static_cast<uint8_t>(key)};
  std::memcpy(h + hn, k, 4);
  hn += 4;
  // Eight bytes at a time (the key repeats every four), so that masking
  // costs the generator little next to what it measures.
  auto* data = reinterpret_cast<uint8_t*>(out.data() + at);
  uint8_t k8[8] = {k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]};
  uint64_t kw;
  std::memcpy(&kw, k8, 8);
  uint64_t j = 0;
  for (; j + 8 <= len; j += 8) {
    uint64_t w;
    std::memcpy(&w, data + j, 8);
    w ^= kw;
    std::memcpy(data + j, &w, 8);
  }
  for (; j < len; ++j) data[j] ^= k[j & 3];
  out.insert(at, reinterpret_cast<const char*>(h), hn);
}

Frame parse(const uint8_t* p, size_t n) {
  Frame f;
  if (n < 2) return f;
  f.fin = (p[0] & 0x80) != 0;
  f.opcode = p[0] & 0x0F;
  if ((p[0] & 0x70) != 0) {
    f.status = Frame::kBad;
    f.why = "a server frame with RSV bits set";
    return f;
  }
  if ((p[1] & 0x80) != 0) {
    f.status = Frame::kBad;
    f.why = "a masked server frame";
    return f;
  }
  size_t hn = 2;
  uint64_t len = p[1] & 0x7F;
  if (len == 126) {
    if (n < 4) return f;
    len = (uint64_t{p[2]} << 8) | p[3];
    hn = 4;
  } else if (len == 127) {
    if (n < 10) return f;
    len = 0;
    for (int b = 0; b < 8; ++b) len = (len << 8) | p[2 + b];
    hn = 10;
  }
  if (n - hn < len) return f;
  f.status = Frame::kOk;
  f.payload = p + hn;
  f.length = len;
  f.size = hn + static_cast<size_t>(len);
  return f;
}

}  // namespace hazel_bench::ws
