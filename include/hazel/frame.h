// hazel wire protocol v1: frame header layout, kinds, statuses, GOODBYE
// reasons and the pure codec. No I/O, no clock, no allocation.
//
//    0      2      3      4         6         8           12          16
//    +------+------+------+---------+---------+-----------+-----------+--------
//    | "HZ" | ver  | kind | service |  code   |  session  |  length   | body...
//    +------+------+------+---------+---------+-----------+-----------+--------
//      u16    u8     u8     u16 BE    u16 BE     u32 BE      u32 BE
//
// Every multi-byte integer is big-endian. `length` is the body length and is
// checked against max_frame before a single body byte is looked at.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hazel {

inline constexpr uint8_t kMagic0 = 0x48;  // 'H'
inline constexpr uint8_t kMagic1 = 0x5A;  // 'Z'
inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr size_t kHeaderSize = 16;
inline constexpr uint32_t kDefaultMaxFrame = 1048576;

enum class Kind : uint8_t {
  kRequest = 1,
  kReply = 2,
  kSend = 3,
  kPush = 4,
  kGoodbye = 5,
};

// REPLY `code`.
enum class Status : uint16_t {
  kOk = 0,
  kBadRequest = 1,
  kNoService = 2,
  kNoOp = 3,
  kNotFound = 4,
  kTimeout = 5,
  kUnavailable = 6,
  kTooLarge = 7,
  kBusy = 8,
  kInternal = 9,
  kDenied = 10,
};

// GOODBYE `code`.
enum class Goodbye : uint16_t {
  kProtocol = 1,
  kTooLarge = 2,
  kIdle = 3,
  kSlow = 4,
  kShutdown = 5,
  kFull = 6,
  kKicked = 7,
  kLimit = 8,
};

const char* status_name(Status s);
const char* goodbye_name(Goodbye g);
const char* kind_name(Kind k);

struct FrameHeader {
  Kind kind = Kind::kRequest;
  uint16_t service = 0;
  uint16_t code = 0;
  uint32_t session = 0;
  uint32_t length = 0;
};

// Kinds kBusKindFirst..kBusKindLast are reserved for the bus between the
// worker processes of one server; they never appear on a client connection.
inline constexpr uint8_t kBusKindFirst = 16;
inline constexpr uint8_t kBusKindLast = 31;

// Which side is decoding decides which kinds are legal: a server accepts only
// REQUEST and SEND, a client only REPLY, PUSH and GOODBYE, a worker reading
// the bus only the bus kinds.
enum class Peer : uint8_t { kServer, kClient, kBus };

enum class DecodeStatus : uint8_t {
  kNeedMore,  // fewer than kHeaderSize + length bytes are available
  kFrame,     // header valid and the whole body is available
  kError,     // the stream is broken; `error` says which GOODBYE to send
};

struct Decoded {
  DecodeStatus status = DecodeStatus::kNeedMore;
  FrameHeader header;
  Goodbye error = Goodbye::kProtocol;
};

// Decodes the frame at the start of `data`. Header checks run as soon as 16
// bytes are present, in wire order: magic, version, kind, length.
// On kNeedMore with a valid header, `header` is filled so a caller may size
// its buffer; the body is never inspected.
Decoded decode(const uint8_t* data, size_t avail, uint32_t max_frame,
               Peer decoder);

// Writes the 16-byte header for `h` (magic and version included).
void encode_header(const FrameHeader& h, uint8_t* out);

// Convenience for clients and tests: header + body as one string.
std::string encode_frame(Kind kind, uint16_t service, uint16_t code,
                         uint32_t session, std::string_view body);

// Big-endian helpers shared by services and tools.
inline void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void put_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline void put_u64(uint8_t* p, uint64_t v) {
  put_u32(p, static_cast<uint32_t>(v >> 32));
  put_u32(p + 4, static_cast<uint32_t>(v));
}
inline uint16_t get_u16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t get_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline uint64_t get_u64(const uint8_t* p) {
  return (uint64_t{get_u32(p)} << 32) | get_u32(p + 4);
}

// Append big-endian integers to a string body.
void append_u8(std::string& s, uint8_t v);
void append_u16(std::string& s, uint16_t v);
void append_u32(std::string& s, uint32_t v);
void append_u64(std::string& s, uint64_t v);

}  // namespace hazel
