#include "bench/verify.h"

#include <algorithm>

#include "bench/excerpt.h"
#include "hazel/builtins.h"

namespace hazel_bench {

namespace {

using hazel::FrameHeader;
using hazel::Kind;

std::string push_label(uint16_t service, uint16_t code) {
  return std::to_string(service) + "/" + std::to_string(code);
}

// `got` must equal `want`, except that the 8 bytes at `seq_at` carry a
// publish sequence number, which is returned through `seq` (unless seq_at is
// kNone).
bool matches_sequenced(std::string_view got, std::string_view want,
                       size_t seq_at, uint64_t* seq) {
  if (got.size() != want.size()) return false;
  if (seq_at == kNone) return got == want;
  *seq = hazel::get_u64(reinterpret_cast<const uint8_t*>(got.data() + seq_at));
  return got.substr(0, seq_at) == want.substr(0, seq_at) &&
         got.substr(seq_at + 8) == want.substr(seq_at + 8);
}

}  // namespace

bool check_status(const FrameHeader& f, uint16_t service,
                  std::string_view body, std::string* why) {
  if (f.code != static_cast<uint16_t>(hazel::Status::kOk)) {
    *why = std::string("status ") +
           hazel::status_name(static_cast<hazel::Status>(f.code)) + ": " +
           excerpt(body);
    return false;
  }
  if (f.service != service) {
    *why = "service " + std::to_string(f.service) + ", expected " +
           std::to_string(service);
    return false;
  }
  return true;
}

bool check_reply(const Workload& w, const FrameHeader& f,
                 std::string_view body, std::string* why) {
  if (f.kind == Kind::kPush) {
    if (f.service != w.reply_service || f.code != w.reply_code) {
      *why = "PUSH service " + std::to_string(f.service) + " code " +
             std::to_string(f.code) + ", expected " +
             push_label(w.reply_service, w.reply_code);
      return false;
    }
  } else if (!check_status(f, w.reply_service, body, why)) {
    return false;
  }
  if (body != w.reply) {
    *why = "body '" + excerpt(body) + "' (" + std::to_string(body.size()) +
           " bytes), expected '" + excerpt(w.reply) + "' (" +
           std::to_string(w.reply.size()) + " bytes)";
    return false;
  }
  return true;
}

bool check_delivery(const Workload& w, uint64_t* expect_seq,
                    std::string_view got, std::string* why) {
  uint64_t seq = *expect_seq;
  if (!matches_sequenced(got, w.delivery, w.delivery_seq_at, &seq)) {
    *why = "delivery '" + excerpt(got) + "', expected '" + excerpt(w.delivery) +
           "'";
    return false;
  }
  if (seq != *expect_seq) {
    *why = "delivery #" + std::to_string(seq) + " arrived where #" +
           std::to_string(*expect_seq) + " was due";
    *expect_seq = seq + 1;  // resynchronise: report each gap once
    return false;
  }
  ++*expect_seq;
  return true;
}

bool check_tell_push(const Workload& w, const FrameHeader& f,
                     std::string_view body, std::span<const uint64_t> senders,
                     std::string* why) {
  if (f.service != hazel::sys::kId || f.code != hazel::sys::kTell) {
    *why = "PUSH service " + std::to_string(f.service) + " code " +
           std::to_string(f.code) + ", expected TELL " +
           push_label(hazel::sys::kId, hazel::sys::kTell);
    return false;
  }
  if (body.size() != 8 + w.payload.size() || body.substr(8) != w.payload) {
    *why = "TELL PUSH body '" + excerpt(body) + "', expected 8 bytes of sender"
           " id and '" + excerpt(w.payload) + "'";
    return false;
  }
  uint64_t sender = hazel::get_u64(reinterpret_cast<const uint8_t*>(body.data()));
  if (std::find(senders.begin(), senders.end(), sender) == senders.end()) {
    *why = "TELL PUSH from client " + std::to_string(sender) +
           ", which does not TELL this connection";
    return false;
  }
  return true;
}

}  // namespace hazel_bench
