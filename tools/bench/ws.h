// hazel-bench over WebSocket (--ws): the client side of RFC 6455, written
// from docs/PROTOCOL.md as any client would, not taken from the server. The
// opening handshake on GET /ws, every hazel frame sent as one masked binary
// message, and the server's messages found where they lie in the read
// buffer (a server never masks), so that a reply is handled in place as
// over TCP.
//
// Client frame header (section 5.2): FIN + opcode 2, then MASK + the
// length (7 bits, or 126 + 16 bits, or 127 + 64 bits), then the 4-byte key
// the payload is XORed with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hazel_bench::ws {

inline constexpr std::string_view kPath = "/ws";
inline constexpr size_t kMaxHead = 8192;  // the server's own bound on a head

// GET /ws with the upgrade fields, offering the hazel.v1 subprotocol.
// `key` is the Sec-WebSocket-Key (base64 of 16 bytes).
std::string upgrade_request(std::string_view host, std::string_view key);

// Sec-WebSocket-Key for connection `i`: base64 of 16 bytes that differ per
// connection (the server only checks their form).
std::string key_for(size_t i);

// The server's answer to the upgrade at the start of p[0, n): > 0 the
// length of a 101 head (the frames follow it), 0 if the head is not
// complete yet, -1 if it is anything but 101 (`*why` says what came).
long upgrade_answer(const uint8_t* p, size_t n, std::string* why);

// Turns the bytes out[at, end) (one hazel frame) into one masked binary
// message in place: a header goes in front and the bytes are XORed with
// `key`.
void wrap(std::string& out, size_t at, uint32_t key);

// A server frame at the start of p[0, n).
struct Frame {
  enum Status : uint8_t { kNeedMore, kOk, kBad } status = kNeedMore;
  uint8_t opcode = 0;
  bool fin = false;
  const uint8_t* payload = nullptr;
  uint64_t length = 0;  // payload bytes
  size_t size = 0;      // header + payload: where the next frame starts
  const char* why = "";
};
Frame parse(const uint8_t* p, size_t n);

// xorshift32: masking keys cheap enough to draw one per message. RFC 6455
// wants them unpredictable to proxies; a benchmark has no proxy to fool.
inline uint32_t next_key(uint32_t& state) {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

}  // namespace hazel_bench::ws
