// What a run sends and expects, encoded once before it starts: the
// per-request work is then one append plus patching a session id, a sequence
// number or a target id in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/options.h"
#include "hazel/frame.h"

namespace hazel_bench {

// "No such offset" for the optional fields below.
inline constexpr size_t kNone = static_cast<size_t>(-1);

inline constexpr std::string_view kBenchKey = "bench:key";
inline constexpr std::string_view kBenchRoom = "bench";

struct Workload {
  std::string payload;
  // The timed requests as bytes on the wire, sent round-robin: one, or one
  // per key with --keys.
  std::vector<std::string> requests;
  size_t session_at = kNone;  // offset of the hazel session in a request
  size_t seq_at = kNone;      // offset of the publish sequence in a request
  size_t target_at = kNone;   // tell: offset of the u64 target client id
  // Hazel: the frame that answers a request. RESP: the exact reply bytes.
  hazel::Kind reply_kind = hazel::Kind::kReply;
  uint16_t reply_service = 0;
  uint16_t reply_code = 0;  // status OK, or the PUSH code that answers a SEND
  std::string reply;
  // Fan-out: what a member receives (hazel PUSH body, or RESP message bytes)
  // and the offset of the sequence number inside it.
  std::string delivery;
  size_t delivery_seq_at = kNone;
  size_t delivery_pubid_at = kNone;  // hazel: publisher id, known after HELLO
  std::string resp_setup_reply;      // RESP: exact reply to the setup command
};

Workload make_workload(const Options& o);

// Key `i` of a run over `keys` keys: bench:key alone, else bench:key:<i>.
std::string key_name(size_t i, size_t keys);

// Body of a kv SET without TTL (docs/PROTOCOL.md, kv).
std::string kv_set_body(std::string_view key, std::string_view value);

// Alphanumeric and position-dependent, so a shifted or truncated echo cannot
// compare equal by accident and a dump stays readable.
std::string make_payload(size_t n);

}  // namespace hazel_bench
