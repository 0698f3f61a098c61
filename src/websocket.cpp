#include "websocket.h"

#include <cstring>

#include "base64.h"
#include "sha1.h"

namespace hazel::ws {

namespace {

// Section 1.3: every server appends this to the client's key.
constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_control(Opcode op) { return static_cast<uint8_t>(op) & 0x8; }

// Codes a Close may carry (section 7.4): the defined ones that an endpoint
// may send, IANA's 1012-1014, and the ranges for libraries and apps.
bool valid_close_code(uint16_t c) {
  return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
         (c >= 3000 && c <= 4999);
}

}  // namespace

uint16_t close_code_for(Goodbye g) {
  switch (g) {
    case Goodbye::kProtocol: return static_cast<uint16_t>(CloseCode::kProtocolError);
    case Goodbye::kTooLarge: return static_cast<uint16_t>(CloseCode::kTooBig);
    case Goodbye::kIdle: return static_cast<uint16_t>(CloseCode::kNormal);
    case Goodbye::kShutdown: return static_cast<uint16_t>(CloseCode::kGoingAway);
    case Goodbye::kFull: return static_cast<uint16_t>(CloseCode::kTryAgainLater);
    case Goodbye::kSlow:
    case Goodbye::kKicked:
    case Goodbye::kLimit:
      break;
  }
  return static_cast<uint16_t>(CloseCode::kPolicyViolation);
}

// ---- handshake ---------------------------------------------------------------

std::string accept_key(std::string_view key) {
  Sha1 s;
  s.update(key);
  s.update(kGuid);
  Sha1Digest d = s.finish();
  return base64_encode(
      std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

Handshake check_handshake(const http::Request& req) {
  Handshake h;
  auto bad = [&h](int status, const char* why) {
    h.status = status;
    h.why = why;
    return h;
  };
  if (req.method != "GET") {
    h.fields = "Allow: GET\r\n";
    return bad(405, "a WebSocket handshake is a GET");
  }
  if (req.minor < 1) return bad(400, "a WebSocket handshake needs HTTP/1.1");
  if (!req.has_token("upgrade", "websocket"))
    return bad(400, "no Upgrade: websocket");
  if (!req.has_token("connection", "upgrade"))
    return bad(400, "no Connection: Upgrade");
  if (req.count("sec-websocket-version") != 1 ||
      *req.get("sec-websocket-version") != "13") {
    // Section 4.4: say which version this server speaks.
    h.fields = "Sec-WebSocket-Version: 13\r\n";
    return bad(426, "Sec-WebSocket-Version must be 13");
  }
  if (req.count("sec-websocket-key") != 1)
    return bad(400, "exactly one Sec-WebSocket-Key is needed");
  std::string_view key = *req.get("sec-websocket-key");
  auto nonce = base64_decode(key);
  if (!nonce || nonce->size() != 16)
    return bad(400, "Sec-WebSocket-Key is not base64 of 16 bytes");
  if (req.content_length != 0)
    return bad(400, "a WebSocket handshake has no body");
  h.accept = accept_key(key);
  h.subprotocol = req.has_token("sec-websocket-protocol", kSubprotocol, true);
  return h;
}

bool origin_allowed(const http::Request& req,
                    const std::vector<std::string>& allowed) {
  if (allowed.empty()) return true;
  auto origin = req.get("origin");
  if (!origin) return true;
  if (req.count("origin") != 1) return false;
  for (const std::string& a : allowed)
    if (http::iequals(*origin, a)) return true;
  return false;
}

std::string handshake_response(const Handshake& h) {
  std::string f =
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " + h.accept + "\r\n";
  if (h.subprotocol) {
    f += "Sec-WebSocket-Protocol: ";
    f += kSubprotocol;
    f += "\r\n";
  }
  return http::head(101, f);
}

// ---- frames ------------------------------------------------------------------

size_t encode_header(uint8_t* out, Opcode op, uint64_t length, bool fin,
                     const uint8_t* mask) {
  out[0] = static_cast<uint8_t>((fin ? 0x80 : 0) | static_cast<uint8_t>(op));
  uint8_t m = mask ? 0x80 : 0;
  size_t n;
  if (length < 126) {
    out[1] = static_cast<uint8_t>(m | length);
    n = 2;
  } else if (length <= 0xFFFF) {
    out[1] = static_cast<uint8_t>(m | 126);
    put_u16(out + 2, static_cast<uint16_t>(length));
    n = 4;
  } else {
    out[1] = static_cast<uint8_t>(m | 127);
    put_u64(out + 2, length);
    n = 10;
  }
  if (mask) {
    memcpy(out + n, mask, 4);
    n += 4;
  }
  return n;
}

void mask_payload(uint8_t* data, size_t n, const uint8_t key[4], size_t offset) {
  uint8_t k[8];
  for (size_t i = 0; i < 8; ++i) k[i] = key[(offset + i) & 3];
  size_t i = 0;
  // Eight bytes at a time; the key repeats every four, so every eighth
  // byte starts the same rotation.
  uint64_t k8;
  memcpy(&k8, k, 8);
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, data + i, 8);
    w ^= k8;
    memcpy(data + i, &w, 8);
  }
  for (; i < n; ++i) data[i] ^= k[i & 7];
}

std::string close_frame(uint16_t code, std::string_view reason) {
  size_t cut = reason.size() < kMaxControlPayload - 2 ? reason.size()
                                                      : kMaxControlPayload - 2;
  // Never cut a character in two: back up to the start of the last one.
  if (cut < reason.size())
    while (cut > 0 && (static_cast<uint8_t>(reason[cut]) & 0xC0) == 0x80) --cut;
  uint8_t hdr[kMaxHeader];
  size_t n = encode_header(hdr, Opcode::kClose, 2 + cut);
  std::string out(reinterpret_cast<const char*>(hdr), n);
  out += static_cast<char>(code >> 8);
  out += static_cast<char>(code & 0xFF);
  out.append(reason.substr(0, cut));
  return out;
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return false;  // a continuation byte, an overlong lead (C0, C1), F5+
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;  // overlong, beyond Unicode, or a surrogate
    i += len;
  }
  return true;
}

// ---- Reader --------------------------------------------------------------------

Reader::Event Reader::fail(CloseCode code, const char* why) {
  state_ = State::kDone;
  error_code_ = static_cast<uint16_t>(code);
  why_ = why;
  return Event::kError;
}

// The first two bytes settle most of what can be wrong with a frame.
Reader::Event Reader::check_start() {
  uint8_t b0 = header_[0], b1 = header_[1];
  if (b0 & 0x70) return fail(CloseCode::kProtocolError, "RSV bit set without an extension");
  if (!(b1 & 0x80)) return fail(CloseCode::kProtocolError, "client frame not masked");
  switch (static_cast<Opcode>(b0 & 0x0F)) {
    case Opcode::kContinuation:
      if (!in_message_)
        return fail(CloseCode::kProtocolError, "continuation frame outside a message");
      return Event::kNeedMore;
    case Opcode::kText:
      return fail(CloseCode::kUnsupportedData, "text message: hazel takes binary messages");
    case Opcode::kBinary:
      if (in_message_)
        return fail(CloseCode::kProtocolError, "new message before the last one ended");
      return Event::kNeedMore;
    case Opcode::kClose:
    case Opcode::kPing:
    case Opcode::kPong:
      if (!(b0 & 0x80)) return fail(CloseCode::kProtocolError, "fragmented control frame");
      if ((b1 & 0x7F) > kMaxControlPayload)
        return fail(CloseCode::kProtocolError, "control frame over 125 bytes");
      return Event::kNeedMore;
  }
  return fail(CloseCode::kProtocolError, "reserved opcode");
}

Reader::Event Reader::begin_frame(uint8_t* data, size_t n, size_t* pos) {
  while (have_ < 2 && *pos < n) header_[have_++] = data[(*pos)++];
  if (have_ < 2) return Event::kNeedMore;
  if (Event e = check_start(); e != Event::kNeedMore) return e;
  const uint8_t len7 = header_[1] & 0x7F;
  const size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  const size_t need = 2 + ext + 4;
  while (have_ < need && *pos < n) header_[have_++] = data[(*pos)++];
  if (have_ < need) return Event::kNeedMore;
  uint64_t len = len7;
  if (len7 == 126) {
    len = get_u16(header_ + 2);
    if (len < 126) return fail(CloseCode::kProtocolError, "length not in its shortest form");
  } else if (len7 == 127) {
    len = get_u64(header_ + 2);
    if (len >> 63) return fail(CloseCode::kProtocolError, "64-bit length with its top bit set");
    if (len <= 0xFFFF) return fail(CloseCode::kProtocolError, "length not in its shortest form");
  }
  have_ = 0;
  fin_ = header_[0] & 0x80;
  op_ = static_cast<Opcode>(header_[0] & 0x0F);
  memcpy(key_, header_ + need - 4, 4);
  if (!is_control(op_) &&
      (len > max_message_ || message_.size() + len > max_message_))
    return fail(CloseCode::kTooBig, "message longer than the server takes");
  remaining_ = len;
  offset_ = 0;
  // The common case: a whole one-frame message in this read, unmasked in
  // place and handed out without a copy.
  if (op_ == Opcode::kBinary && fin_ && n - *pos >= len) {
    uint8_t* p = data + *pos;
    mask_payload(p, static_cast<size_t>(len), key_);
    payload_ = std::string_view(reinterpret_cast<const char*>(p),
                                static_cast<size_t>(len));
    *pos += static_cast<size_t>(len);
    return Event::kMessage;
  }
  if (is_control(op_)) control_.clear();
  if (op_ == Opcode::kBinary) in_message_ = true;
  state_ = State::kPayload;
  if (len == 0) return end_frame();
  return Event::kNeedMore;
}

Reader::Event Reader::end_frame() {
  state_ = State::kHeader;
  switch (op_) {
    case Opcode::kPing:
      payload_ = control_;
      return Event::kPing;
    case Opcode::kPong:
      payload_ = control_;
      return Event::kPong;
    case Opcode::kClose: {
      if (control_.size() == 1)
        return fail(CloseCode::kProtocolError, "Close payload of one byte");
      if (control_.empty()) {
        close_code_ = static_cast<uint16_t>(CloseCode::kNoStatus);
      } else {
        close_code_ = get_u16(reinterpret_cast<const uint8_t*>(control_.data()));
        if (!valid_close_code(close_code_))
          return fail(CloseCode::kProtocolError, "invalid Close code");
        if (!valid_utf8(std::string_view(control_).substr(2)))
          return fail(CloseCode::kInvalidPayload, "Close reason is not UTF-8");
        payload_ = std::string_view(control_).substr(2);
      }
      state_ = State::kDone;
      return Event::kClose;
    }
    default:
      if (!fin_) {
        in_message_ = true;
        return Event::kNeedMore;
      }
      in_message_ = false;
      payload_ = message_;
      clear_message_ = true;
      return Event::kMessage;
  }
}

Reader::Event Reader::read(uint8_t* data, size_t n, size_t* used) {
  payload_ = {};
  if (clear_message_) {
    message_.clear();
    clear_message_ = false;
  }
  if (state_ == State::kDone) {
    *used = n;  // after a Close or an error nothing more is read
    return Event::kNeedMore;
  }
  size_t pos = 0;
  while (pos < n) {
    if (state_ == State::kHeader) {
      Event e = begin_frame(data, n, &pos);
      if (e != Event::kNeedMore) {
        *used = pos;
        return e;
      }
      continue;
    }
    size_t take = remaining_ < n - pos ? static_cast<size_t>(remaining_) : n - pos;
    uint8_t* p = data + pos;
    mask_payload(p, take, key_, offset_);
    (is_control(op_) ? control_ : message_)
        .append(reinterpret_cast<const char*>(p), take);
    pos += take;
    offset_ += take;
    remaining_ -= take;
    if (remaining_ == 0) {
      Event e = end_frame();
      if (e != Event::kNeedMore) {
        *used = pos;
        return e;
      }
    }
  }
  *used = pos;
  return Event::kNeedMore;
}

}  // namespace hazel::ws
