// WebSocket (RFC 6455), as hazel's WebSocket port speaks it: the opening
// handshake (validation, Sec-WebSocket-Accept, the hazel.v1 subprotocol),
// a decoder for what clients send and an encoder for frame headers. Pure,
// no I/O, no clock.
//
// A frame on the wire (section 5.2):
//
//    0               1               2               3
//    +-+-+-+-+-------+-+-------------+-------------------------------+
//    |F|R|R|R| opcode|M| payload len |    extended payload length    |
//    |I|S|S|S|  (4)  |A|     (7)     |   (16 bits if len7 = 126, or  |
//    |N|V|V|V|       |S|             |    64 bits if len7 = 127)     |
//    +-+-+-+-+-------+-+-------------+-------------------------------+
//    |  masking key (4 bytes, only if MASK: every client frame)      |
//    +---------------------------------------------------------------+
//    |  payload, XORed with the masking key byte by byte             |
//
// hazel negotiates no extension, so the RSV bits are always 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hazel/frame.h"
#include "http.h"

namespace hazel::ws {

inline constexpr std::string_view kSubprotocol = "hazel.v1";
inline constexpr size_t kMaxHeader = 14;          // 2 + 8 length + 4 mask
inline constexpr size_t kMaxControlPayload = 125;

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close codes (section 7.4.1) hazel sends or names.
enum class CloseCode : uint16_t {
  kNormal = 1000,
  kGoingAway = 1001,
  kProtocolError = 1002,
  kUnsupportedData = 1003,   // a text message: hazel speaks binary only
  kNoStatus = 1005,          // a Close without a code (never sent)
  kInvalidPayload = 1007,    // a Close reason that is not UTF-8
  kPolicyViolation = 1008,
  kTooBig = 1009,
  kInternalError = 1011,
  kTryAgainLater = 1013,
};

// The Close code that follows a GOODBYE with code `g` (one table, so the
// pair always matches): PROTOCOL 1002, TOO_LARGE 1009, IDLE 1000, SLOW,
// KICKED and LIMIT 1008, SHUTDOWN 1001, FULL 1013; an unknown code 1008.
// A text message gets GOODBYE PROTOCOL with Close 1003 instead.
uint16_t close_code_for(Goodbye g);

// ---- the opening handshake (section 4.2) -----------------------------------

// base64(SHA-1(key + the RFC's GUID)): what Sec-WebSocket-Accept carries.
std::string accept_key(std::string_view key);

struct Handshake {
  int status = 0;            // 0: a valid upgrade; else the status to answer
  const char* why = "";      // for the response body and a log line
  std::string fields;        // extra response fields for that status
  std::string accept;        // Sec-WebSocket-Accept, when valid
  bool subprotocol = false;  // the client offered hazel.v1: it is selected
};

// Checks that `req` is a WebSocket opening handshake hazel accepts: GET,
// HTTP/1.1, Upgrade: websocket, Connection: Upgrade, one Sec-WebSocket-Key
// that is base64 of 16 bytes, Sec-WebSocket-Version 13 (else 426 with the
// version hazel speaks), no body. The path and the Origin are the caller's.
Handshake check_handshake(const http::Request& req);

// The Origin check against cross-site WebSocket hijacking: true if
// `allowed` is empty (any origin), if the request has no Origin (not a
// browser: nothing to hijack), or if its Origin equals an entry
// (case-insensitively: scheme and host are).
bool origin_allowed(const http::Request& req,
                    const std::vector<std::string>& allowed);

// The 101 Switching Protocols head for a valid handshake.
std::string handshake_response(const Handshake& h);

// ---- frames -------------------------------------------------------------------

// Writes a frame header for a payload of `length` bytes into `out` (room
// for kMaxHeader) and returns its size. Server frames are unmasked
// (mask = nullptr); a client passes its 4-byte masking key, then masks the
// payload with mask_payload().
size_t encode_header(uint8_t* out, Opcode op, uint64_t length, bool fin = true,
                     const uint8_t* mask = nullptr);

// XORs `n` bytes with `key`, as if they started `offset` bytes into the
// payload (masking and unmasking are the same).
void mask_payload(uint8_t* data, size_t n, const uint8_t key[4],
                  size_t offset = 0);

// A whole server Close frame: `code`, then `reason` cut to fit 125 bytes
// (at a UTF-8 character boundary).
std::string close_frame(uint16_t code, std::string_view reason);

bool valid_utf8(std::string_view s);

// Decodes what a client sends: frames checked header first (before any
// payload byte is looked at), fragmented messages reassembled, control
// frames (which may come between fragments) reported as they complete.
//
//   Reader r(kHeaderSize + max_frame);
//   size_t used;
//   for (;;) switch (r.read(p, n, &used)) { ... p += used; n -= used; }
//
// After kClose or kError the reader is done: it reads nothing more.
class Reader {
 public:
  enum class Event : uint8_t {
    kNeedMore,  // every byte given was taken; no event yet
    kMessage,   // a whole binary message: payload()
    kPing,      // answer with a Pong carrying payload()
    kPong,      // payload() is the Pong's data (nothing is due)
    kClose,     // the client's Close: close_code() (1005 if it had none),
                // payload() its reason. Answer with a Close and hang up.
    kError,     // the client broke the protocol: send Close error_code()
                // (1002, 1003 for text, 1007, 1009 for too long) and close
  };

  // `max_message`: the longest message accepted (16 + max_frame for hazel).
  explicit Reader(size_t max_message) : max_message_(max_message) {}

  // Takes bytes from data[0, n) up to the first event and sets *used to
  // how many. `data` is written to: a message that lies whole in it is
  // unmasked in place and payload() points into it (no copy); any other is
  // assembled in the reader, which holds at most max_message bytes.
  // payload() is valid until the next read().
  Event read(uint8_t* data, size_t n, size_t* used);

  std::string_view payload() const { return payload_; }
  uint16_t close_code() const { return close_code_; }
  uint16_t error_code() const { return error_code_; }
  const char* error() const { return why_; }
  // Bytes held for a message or frame not yet complete.
  size_t buffered() const { return message_.size() + control_.size() + have_; }
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State : uint8_t { kHeader, kPayload, kDone };
  Event fail(CloseCode code, const char* why);
  Event check_start();
  Event begin_frame(uint8_t* data, size_t n, size_t* pos);
  Event end_frame();

  size_t max_message_;
  State state_ = State::kHeader;
  uint8_t header_[kMaxHeader];
  size_t have_ = 0;          // header bytes gathered
  bool fin_ = false;
  Opcode op_ = Opcode::kBinary;
  uint8_t key_[4] = {};
  uint64_t remaining_ = 0;   // payload bytes of this frame still to come
  size_t offset_ = 0;        // payload bytes of this frame already taken
  bool in_message_ = false;  // a fragmented message is being assembled
  bool clear_message_ = false;
  std::string message_;      // payload of a data message being assembled
  std::string control_;      // payload of a control frame being assembled
  std::string_view payload_;
  uint16_t close_code_ = 0;
  uint16_t error_code_ = 0;
  const char* why_ = "";
};

}  // namespace hazel::ws
