#include "bench/workload.h"

#include "bench/bench_resp.h"
#include "hazel/builtins.h"

namespace hazel_bench {

namespace {

using hazel::encode_frame;
using hazel::kHeaderSize;
using hazel::Kind;

constexpr uint16_t kStatusOk = static_cast<uint16_t>(hazel::Status::kOk);

std::string room_prefix() {
  std::string s;
  hazel::append_u8(s, static_cast<uint8_t>(kBenchRoom.size()));
  s += kBenchRoom;
  return s;
}

std::string be_u32(uint32_t v) {
  std::string s;
  hazel::append_u32(s, v);
  return s;
}

// The 8 bytes at the start of a publish payload carry a sequence number so a
// member can tell lost or reordered deliveries; shorter payloads go unnumbered.
size_t sequence_offset(size_t payload) { return payload >= 8 ? 0 : kNone; }

size_t plus(size_t base, size_t off) {
  return off == kNone ? kNone : base + off;
}

// One request per key for the keyed modes, else just one.
std::vector<std::string> keyed_requests(const Options& o, const Workload& w) {
  std::vector<std::string> out;
  const std::string& pl = w.payload;
  for (size_t i = 0; i < o.keys; ++i) {
    const std::string key = key_name(i, o.keys);
    switch (o.mode->mode) {
      case Mode::kKvGet:
        out.push_back(encode_frame(Kind::kRequest, hazel::kv::kId,
                                   hazel::kv::kGet, 0, key));
        break;
      case Mode::kKvSet:
        out.push_back(encode_frame(Kind::kRequest, hazel::kv::kId,
                                   hazel::kv::kSet, 0, kv_set_body(key, pl)));
        break;
      case Mode::kRespGet:
        out.push_back(resp_command({"GET", key}));
        break;
      case Mode::kRespSet:
        out.push_back(resp_command({"SET", key, pl}));
        break;
      default:
        break;
    }
  }
  return out;
}

}  // namespace

std::string key_name(size_t i, size_t keys) {
  std::string key(kBenchKey);
  if (keys > 1) key += ":" + std::to_string(i);
  return key;
}

std::string kv_set_body(std::string_view key, std::string_view value) {
  std::string body;
  hazel::append_u16(body, static_cast<uint16_t>(key.size()));
  body += key;
  hazel::append_u32(body, 0);  // no TTL
  body += value;
  return body;
}

std::string make_payload(size_t n) {
  static constexpr std::string_view kAlphabet =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = kAlphabet[i % kAlphabet.size()];
  return s;
}

Workload make_workload(const Options& o) {
  Workload w;
  w.payload = make_payload(o.payload);
  w.reply_code = kStatusOk;
  const std::string& pl = w.payload;
  const auto members = static_cast<uint32_t>(o.connections);
  std::string request;
  switch (o.mode->mode) {
    case Mode::kPing:
    case Mode::kIdle:
      request = encode_frame(Kind::kRequest, hazel::sys::kId,
                             hazel::sys::kPing, 0, pl);
      w.reply_service = hazel::sys::kId;
      w.reply = pl;
      break;
    case Mode::kEcho:
      request = encode_frame(Kind::kRequest, hazel::echo::kId,
                             hazel::echo::kEcho, 0, pl);
      w.reply_service = hazel::echo::kId;
      w.reply = pl;
      break;
    case Mode::kSend:
      request = encode_frame(Kind::kSend, hazel::echo::kId,
                             hazel::echo::kEcho, 0, pl);
      w.reply_kind = Kind::kPush;
      w.reply_service = hazel::echo::kId;
      w.reply_code = hazel::echo::kEcho;
      w.reply = pl;
      break;
    case Mode::kKvGet:
      w.reply_service = hazel::kv::kId;
      w.reply = pl;
      break;
    case Mode::kKvSet:
      w.reply_service = hazel::kv::kId;
      break;
    case Mode::kPublish: {
      request = encode_frame(Kind::kRequest, hazel::room::kId,
                             hazel::room::kPublish, 0, room_prefix() + pl);
      w.seq_at =
          plus(kHeaderSize + room_prefix().size(), sequence_offset(pl.size()));
      w.reply_service = hazel::room::kId;
      w.reply = be_u32(members);
      w.delivery = room_prefix() + std::string(8, '\0') + pl;
      w.delivery_pubid_at = room_prefix().size();
      w.delivery_seq_at =
          plus(room_prefix().size() + 8, sequence_offset(pl.size()));
      break;
    }
    case Mode::kTell:
      // The target id is patched in per connection, once partners are known.
      request = encode_frame(Kind::kRequest, hazel::sys::kId,
                             hazel::sys::kTell, 0, std::string(8, '\0') + pl);
      w.target_at = kHeaderSize;
      w.reply_service = hazel::sys::kId;
      break;
    case Mode::kRaw:
      request = pl;
      w.reply = pl;
      break;
    case Mode::kRespPing:
    case Mode::kRespIdle:
      request = resp_command({"PING"});
      w.reply = "+PONG\r\n";
      w.resp_setup_reply = w.reply;
      break;
    case Mode::kRespGet:
      w.reply = resp_bulk(pl);
      w.resp_setup_reply = "+OK\r\n";
      break;
    case Mode::kRespSet:
      w.reply = "+OK\r\n";
      break;
    case Mode::kRespEcho:
      request = resp_command({"ECHO", pl});
      w.reply = resp_bulk(pl);
      break;
    case Mode::kLoris:  // run by loris.cpp, not from a workload
      break;
    case Mode::kRespPublish: {
      request = resp_command({"PUBLISH", kBenchRoom, pl});
      w.seq_at =
          plus(request.size() - pl.size() - 2, sequence_offset(pl.size()));
      w.reply = ":" + std::to_string(members) + "\r\n";
      w.delivery = "*3\r\n" + resp_bulk("message") + resp_bulk(kBenchRoom) +
                   resp_bulk(pl);
      w.delivery_seq_at =
          plus(w.delivery.size() - pl.size() - 2, sequence_offset(pl.size()));
      w.resp_setup_reply =
          "*3\r\n" + resp_bulk("subscribe") + resp_bulk(kBenchRoom) + ":1\r\n";
      break;
    }
  }
  if (o.mode->keyed) {
    w.requests = keyed_requests(o, w);
  } else {
    w.requests.push_back(std::move(request));
  }
  if (o.mode->wire == Wire::kHazel && w.reply_kind == Kind::kReply) {
    w.session_at = 8;  // the header's session field
  }
  return w;
}

}  // namespace hazel_bench
