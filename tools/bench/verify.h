// Whether what a server sent is what the protocol promises for this run's
// workload. A benchmark that counts wrong answers as work measures nothing,
// so every reply, PUSH and delivery goes through one of these. Each returns
// false with the reason in *why.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "bench/workload.h"
#include "hazel/frame.h"

namespace hazel_bench {

// A REPLY with status OK from `service`.
bool check_status(const hazel::FrameHeader& f, uint16_t service,
                  std::string_view body, std::string* why);

// The frame that answers one timed hazel request (a REPLY, or the PUSH that
// answers a SEND), body included.
bool check_reply(const Workload& w, const hazel::FrameHeader& f,
                 std::string_view body, std::string* why);

// A fan-out delivery: byte for byte what was published, and its sequence
// number the one due (*expect_seq), so that nothing is lost or reordered.
// A gap is reported once: *expect_seq moves on past what arrived.
bool check_delivery(const Workload& w, uint64_t* expect_seq,
                    std::string_view got, std::string* why);

// A TELL as its target receives it: PUSH sys/TELL, body = u64 sender id and
// the payload, from one of the connections that TELL this one.
bool check_tell_push(const Workload& w, const hazel::FrameHeader& f,
                     std::string_view body, std::span<const uint64_t> senders,
                     std::string* why);

}  // namespace hazel_bench
