// Bench, continued: taking replies off the wire — hazel frames (decoded by
// libhazel's codec), RESP values, raw echo bytes — and matching each to the
// request in flight that it answers.
#include <algorithm>
#include <cinttypes>
#include <cstring>

#include "bench/bench.h"
#include "bench/clock.h"
#include "bench/excerpt.h"
#include "bench/peers.h"
#include "bench/bench_resp.h"
#include "bench/verify.h"
#include "bench/ws.h"
#include "hazel/builtins.h"

namespace hazel_bench {

namespace {
using hazel::FrameHeader;
using hazel::kHeaderSize;
using hazel::Kind;
}  // namespace

size_t Bench::on_input(size_t i, const uint8_t* p, size_t n) {
  now_ = now_ns();
  Conn& c = conns_[i];
  switch (wire_) {
    case Wire::kHazel:
      return opt_.ws ? consume_ws(c, p, n) : consume_hazel(c, p, n);
    case Wire::kResp:
      return consume_resp(c, p, n);
    case Wire::kRaw:
      return consume_raw(c, p, n);
  }
  return n;
}

// --ws: the 101, then messages that must each carry exactly one frame;
// a message's payload is handled where it lies.
size_t Bench::consume_ws(Conn& c, const uint8_t* p, size_t n) {
  size_t used = 0;
  if (!c.upgraded_) {
    std::string why;
    long head = ws::upgrade_answer(p, n, &why);
    if (head == 0) return 0;
    if (head < 0) {
      fail(c, "%s", why.c_str());
      return n;
    }
    c.upgraded_ = true;
    used = static_cast<size_t>(head);
    on_connected(index_of(c));
  }
  while (used < n && !driver_.stopped()) {
    ws::Frame f = ws::parse(p + used, n - used);
    if (f.status == ws::Frame::kNeedMore) break;
    if (f.status == ws::Frame::kBad) {
      fail(c, "WebSocket broken: %s", f.why);
      return n;
    }
    used += f.size;
    if (f.opcode == 0x8) {
      unsigned code = f.length >= 2 ? (unsigned{f.payload[0]} << 8) | f.payload[1] : 1005;
      fail(c, "the server closed the WebSocket (code %u)", code);
      return n;
    }
    if (f.opcode == 0x9 || f.opcode == 0xA) continue;  // no Ping is sent to it
    if (f.opcode != 0x2 || !f.fin) {
      fail(c, "WebSocket message of opcode %u%s; hazel sends whole binary ones",
           unsigned{f.opcode}, f.fin ? "" : " in fragments");
      return n;
    }
    auto len = static_cast<size_t>(f.length);
    if (consume_hazel(c, f.payload, len) != len && !driver_.stopped()) {
      fail(c, "a WebSocket message of %zu bytes that is not exactly one frame", len);
      return n;
    }
  }
  return used;
}

size_t Bench::consume_hazel(Conn& c, const uint8_t* p, size_t n) {
  size_t used = 0;
  while (used < n && !driver_.stopped()) {
    const uint8_t* h = p + used;
    const size_t avail = n - used;
    hazel::Decoded d = hazel::decode(h, avail, hazel::kDefaultMaxFrame,
                                     hazel::Peer::kClient);
    if (d.status == hazel::DecodeStatus::kNeedMore) break;
    if (d.status == hazel::DecodeStatus::kError) {
      if (d.error == hazel::Goodbye::kTooLarge) {
        fail(c, "stream broken: frame length %" PRIu32 " is above max_frame",
             hazel::get_u32(h + 12));
        return n;
      }
      if (avail < kHeaderSize || h[0] != hazel::kMagic0 ||
          h[1] != hazel::kMagic1 || h[2] != hazel::kProtocolVersion) {
        fail(c, "stream broken: a frame header starts with %s",
             excerpt({reinterpret_cast<const char*>(h),
                      std::min<size_t>(avail, 4)})
                 .c_str());
        return n;
      }
      // A well-formed frame of a kind no server sends: count it, skip it.
      uint32_t length = hazel::get_u32(h + 12);
      if (length > hazel::kDefaultMaxFrame) {
        fail(c, "stream broken: frame length %" PRIu32 " is above max_frame",
             length);
        return n;
      }
      if (avail - kHeaderSize < length) break;
      count_error(c, "a frame of kind " + std::to_string(unsigned{h[3]}) +
                         ", which a server never sends");
      used += kHeaderSize + length;
      continue;
    }
    const FrameHeader& f = d.header;
    on_frame(c, f, {reinterpret_cast<const char*>(h + kHeaderSize), f.length});
    used += kHeaderSize + f.length;
  }
  return used;
}

void Bench::on_frame(Conn& c, const FrameHeader& f, std::string_view body) {
  switch (f.kind) {
    case Kind::kReply:
      on_hazel_reply(c, f, body);
      return;
    case Kind::kPush:
      on_hazel_push(c, f, body);
      return;
    case Kind::kGoodbye:
      fail(c, "the server said GOODBYE %s: %s",
           hazel::goodbye_name(static_cast<hazel::Goodbye>(f.code)),
           excerpt(body).c_str());
      return;
    default:  // decode() lets only what a server may send through
      return;
  }
}

// The protocol lets replies overtake each other (they are matched by
// session), so any outstanding session is accepted; the oldest is the usual
// match and found first.
void Bench::on_hazel_reply(Conn& c, const FrameHeader& f,
                           std::string_view body) {
  size_t i = c.pending_.find_session(f.session);
  if (i == c.pending_.size() || work_.reply_kind != Kind::kReply) {
    std::string why = "REPLY for session " + std::to_string(f.session) +
                      ", which is not outstanding";
    // Retire the oldest request anyway, or the closed loop would stall.
    if (c.pending_.empty()) {
      count_error(c, why);
    } else {
      Pending oldest = c.pending_.pop();
      if (oldest.setup) {
        setup_done(c, false, why);
      } else {
        complete(c, oldest, false, why);
      }
    }
    return;
  }
  Pending p = c.pending_.take(i);
  std::string why;
  if (p.setup) {
    bool ok = check_setup_reply(c, p.setup, f, body, &why);
    setup_done(c, ok, why);
  } else {
    bool ok = check_reply(work_, f, body, &why);
    complete(c, p, ok, why);
  }
}

void Bench::on_hazel_push(Conn& c, const FrameHeader& f,
                          std::string_view body) {
  std::string why;
  if (c.role_ == Role::kMember) {
    bool ok = f.service == hazel::room::kId && f.code == hazel::room::kPublish;
    if (!ok)
      why = "PUSH service " + std::to_string(f.service) + " code " +
            std::to_string(f.code) + ", expected room delivery 3/3";
    ok = ok && check_delivery(work_, &c.expect_seq_, body, &why);
    deliver(c, ok, why);
    return;
  }
  if (opt_.mode->mode == Mode::kTell) {
    bool ok = check_tell_push(work_, f, body, c.tell_senders_, &why);
    deliver(c, ok, why);
    return;
  }
  if (work_.reply_kind != Kind::kPush || c.pending_.empty()) {
    count_error(c, "unexpected PUSH service " + std::to_string(f.service) +
                       " code " + std::to_string(f.code));
    return;
  }
  // A SEND has no session: its echo PUSH answers the oldest SEND.
  bool ok = check_reply(work_, f, body, &why);
  complete(c, c.pending_.pop(), ok, why);
}

bool Bench::check_setup_reply(Conn& c, uint8_t setup, const FrameHeader& f,
                              std::string_view body, std::string* why) {
  switch (setup) {
    case kSetupSet:
      if (!check_status(f, hazel::kv::kId, body, why)) return false;
      if (!body.empty()) *why = "SET replied with a body";
      return body.empty();
    case kSetupJoin:
      if (!check_status(f, hazel::room::kId, body, why)) return false;
      if (body.size() != 4 ||
          hazel::get_u32(reinterpret_cast<const uint8_t*>(body.data())) == 0) {
        *why =
            "JOIN replied '" + excerpt(body) + "', expected a u32 count >= 1";
        return false;
      }
      return true;
    case kSetupHello: {
      if (!check_status(f, hazel::sys::kId, body, why)) return false;
      Hello hello;
      if (!parse_hello(body, &hello, why)) {
        *why += ": " + excerpt(body);
        return false;
      }
      c.said_hello_ = true;
      c.client_id_ = hello.client;
      c.worker_ = hello.worker;
      // Deliveries name the publisher: now its id is known.
      if (c.role_ == Role::kPublisher) {
        hazel::put_u64(reinterpret_cast<uint8_t*>(work_.delivery.data() +
                                                  work_.delivery_pubid_at),
                       hello.client);
      }
      return true;
    }
    case kSetupPing:
      return check_reply(work_, f, body, why);
    case kSetupAuth:
      return check_status(f, hazel::sys::kId, body, why);
    default:
      *why = "a reply to a setup request this mode never sends";
      return false;
  }
}

size_t Bench::consume_resp(Conn& c, const uint8_t* p, size_t n) {
  size_t used = 0;
  while (used < n && !driver_.stopped()) {
    long len = resp_length(p + used, n - used);
    if (len == 0) break;
    if (len < 0) {
      fail(
          c, "stream broken: not RESP: '%s'",
          excerpt({reinterpret_cast<const char*>(p + used), n - used}).c_str());
      return n;
    }
    on_resp_value(
        c, {reinterpret_cast<const char*>(p + used), static_cast<size_t>(len)});
    used += static_cast<size_t>(len);
  }
  return used;
}

// RESP replies come in request order; with nothing outstanding, a member is
// receiving a published message.
void Bench::on_resp_value(Conn& c, std::string_view bytes) {
  if (c.pending_.empty()) {
    if (c.role_ == Role::kMember) {
      std::string why;
      bool ok = check_delivery(work_, &c.expect_seq_, bytes, &why);
      deliver(c, ok, why);
    } else {
      count_error(c,
                  "a reply with nothing outstanding: '" + excerpt(bytes) + "'");
    }
    return;
  }
  Pending p = c.pending_.pop();
  const std::string& want = p.setup ? work_.resp_setup_reply : work_.reply;
  std::string why;
  if (bytes != want) {
    why = "reply '" + excerpt(bytes) + "', expected '" + excerpt(want) + "'";
  }
  if (p.setup) {
    setup_done(c, why.empty(), why);
  } else {
    complete(c, p, why.empty(), why);
  }
}

// An echo server returns a byte stream, not messages: the oldest chunk is
// answered once as many bytes as it had have come back, and they must match.
size_t Bench::consume_raw(Conn& c, const uint8_t* p, size_t n) {
  const std::string& chunk = work_.payload;
  size_t used = 0;
  while (used < n && !driver_.stopped()) {
    if (c.pending_.empty()) {
      count_error(c, std::to_string(n - used) + " echoed bytes nobody sent");
      return n;
    }
    size_t k = std::min(n - used, chunk.size() - c.raw_echoed_);
    if (std::memcmp(p + used, chunk.data() + c.raw_echoed_, k) != 0)
      c.raw_bad_ = true;
    c.raw_echoed_ += k;
    used += k;
    if (c.raw_echoed_ == chunk.size()) {
      bool ok = !c.raw_bad_;
      c.raw_echoed_ = 0;
      c.raw_bad_ = false;
      complete(c, c.pending_.pop(), ok,
               "the echoed bytes differ from the sent ones");
    }
  }
  return used;
}

}  // namespace hazel_bench
