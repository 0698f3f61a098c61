// The frame codec: pure functions over bytes. decode() never allocates and
// never reads a body byte, so it is cheap on the hot path and safe to fuzz.
#include "hazel/frame.h"

namespace hazel {

namespace {

// Field offsets inside the 16-byte header (see the diagram in frame.h).
constexpr size_t kOffVersion = 2;
constexpr size_t kOffKind = 3;
constexpr size_t kOffService = 4;
constexpr size_t kOffCode = 6;
constexpr size_t kOffSession = 8;
constexpr size_t kOffLength = 12;

// Which kinds a peer may receive. Anything else means the other end does not
// speak our protocol (or speaks the wrong side of it) and cannot be trusted.
bool kind_legal_for(uint8_t raw, Peer decoder) {
  const auto k = static_cast<Kind>(raw);
  if (decoder == Peer::kServer) {
    return k == Kind::kRequest || k == Kind::kSend;
  }
  if (decoder == Peer::kBus) return raw >= kBusKindFirst && raw <= kBusKindLast;
  return k == Kind::kReply || k == Kind::kPush || k == Kind::kGoodbye;
}

Decoded fail(Goodbye why) {
  Decoded d;
  d.status = DecodeStatus::kError;
  d.error = why;
  return d;
}

// A stranger's garbage is refused on its first wrong byte instead of waiting
// for a full header that may never come.
bool magic_prefix_bad(const uint8_t* data, size_t avail) {
  if (avail >= 1 && data[0] != kMagic0) return true;
  if (avail >= 2 && data[1] != kMagic1) return true;
  return false;
}

}  // namespace

Decoded decode(const uint8_t* data, size_t avail, uint32_t max_frame,
               Peer decoder) {
  if (magic_prefix_bad(data, avail)) return fail(Goodbye::kProtocol);
  if (avail < kHeaderSize) return Decoded{};

  if (data[kOffVersion] != kProtocolVersion) return fail(Goodbye::kProtocol);
  const uint8_t raw_kind = data[kOffKind];
  if (!kind_legal_for(raw_kind, decoder)) return fail(Goodbye::kProtocol);
  const uint32_t length = get_u32(data + kOffLength);
  if (length > max_frame) return fail(Goodbye::kTooLarge);

  Decoded d;
  d.header.kind = static_cast<Kind>(raw_kind);
  d.header.service = get_u16(data + kOffService);
  d.header.code = get_u16(data + kOffCode);
  d.header.session = get_u32(data + kOffSession);
  d.header.length = length;
  // avail - kHeaderSize cannot underflow here, and comparing that way avoids
  // overflow in kHeaderSize + length on any size_t width.
  d.status = (avail - kHeaderSize >= length) ? DecodeStatus::kFrame
                                             : DecodeStatus::kNeedMore;
  return d;
}

void encode_header(const FrameHeader& h, uint8_t* out) {
  out[0] = kMagic0;
  out[1] = kMagic1;
  out[kOffVersion] = kProtocolVersion;
  out[kOffKind] = static_cast<uint8_t>(h.kind);
  put_u16(out + kOffService, h.service);
  put_u16(out + kOffCode, h.code);
  put_u32(out + kOffSession, h.session);
  put_u32(out + kOffLength, h.length);
}

std::string encode_frame(Kind kind, uint16_t service, uint16_t code,
                         uint32_t session, std::string_view body) {
  FrameHeader h;
  h.kind = kind;
  h.service = service;
  h.code = code;
  h.session = session;
  // Bodies above 4 GiB cannot be framed at all; the caller checks max_frame.
  h.length = static_cast<uint32_t>(body.size());
  std::string out(kHeaderSize, '\0');
  encode_header(h, reinterpret_cast<uint8_t*>(out.data()));
  out.append(body);
  return out;
}

const char* status_name(Status s) {
  switch (s) {
    case Status::kOk: return "OK";
    case Status::kBadRequest: return "BAD_REQUEST";
    case Status::kNoService: return "NO_SERVICE";
    case Status::kNoOp: return "NO_OP";
    case Status::kNotFound: return "NOT_FOUND";
    case Status::kTimeout: return "TIMEOUT";
    case Status::kUnavailable: return "UNAVAILABLE";
    case Status::kTooLarge: return "TOO_LARGE";
    case Status::kBusy: return "BUSY";
    case Status::kInternal: return "INTERNAL";
    case Status::kDenied: return "DENIED";
  }
  return "UNKNOWN";  // a status from a newer peer: print, do not crash
}

const char* goodbye_name(Goodbye g) {
  switch (g) {
    case Goodbye::kProtocol: return "PROTOCOL";
    case Goodbye::kTooLarge: return "TOO_LARGE";
    case Goodbye::kIdle: return "IDLE";
    case Goodbye::kSlow: return "SLOW";
    case Goodbye::kShutdown: return "SHUTDOWN";
    case Goodbye::kFull: return "FULL";
    case Goodbye::kKicked: return "KICKED";
    case Goodbye::kLimit: return "LIMIT";
  }
  return "UNKNOWN";
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kRequest: return "REQUEST";
    case Kind::kReply: return "REPLY";
    case Kind::kSend: return "SEND";
    case Kind::kPush: return "PUSH";
    case Kind::kGoodbye: return "GOODBYE";
  }
  return "UNKNOWN";
}

void append_u8(std::string& s, uint8_t v) {
  s.push_back(static_cast<char>(v));
}

void append_u16(std::string& s, uint16_t v) {
  uint8_t b[2];
  put_u16(b, v);
  s.append(reinterpret_cast<const char*>(b), sizeof b);
}

void append_u32(std::string& s, uint32_t v) {
  uint8_t b[4];
  put_u32(b, v);
  s.append(reinterpret_cast<const char*>(b), sizeof b);
}

void append_u64(std::string& s, uint64_t v) {
  uint8_t b[8];
  put_u64(b, v);
  s.append(reinterpret_cast<const char*>(b), sizeof b);
}

}  // namespace hazel
