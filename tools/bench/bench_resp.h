// RESP2, the Redis protocol, as much as hazel-bench needs to load a Redis
// server: building commands, and finding where each reply ends. Replies are
// then compared byte for byte with what is expected, so the bench only
// finds boundaries and never interprets values. The parser is the server's
// own (src/resp.h), with limits for the bench's replies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "hazel/frame.h"
#include "resp.h"

namespace hazel_bench {

// Longest header line ("$1048576\r\n", "+PONG\r\n") a reply may start with.
inline constexpr size_t kMaxRespLine = 64;
// Arrays inside arrays deeper than this are refused.
inline constexpr int kMaxRespNesting = 4;
// Largest bulk string accepted: a reply bigger than any payload the bench
// sends cannot be one of its answers.
inline constexpr size_t kMaxRespBulk = hazel::kDefaultMaxFrame;

inline std::string resp_bulk(std::string_view s) { return hazel::resp::bulk(s); }

inline std::string resp_command(std::initializer_list<std::string_view> args) {
  return hazel::resp::command(args);
}

// Length of the complete RESP2 value at the start of `p`: > 0 its size in
// bytes, 0 if more bytes are needed, -1 if the bytes are not RESP (or break
// one of the limits above).
inline long resp_length(const uint8_t* p, size_t n) {
  hazel::resp::Limits lim;
  lim.max_line = kMaxRespLine - 1;
  lim.max_bulk = kMaxRespBulk;
  lim.max_depth = kMaxRespNesting;
  return hazel::resp::measure(p, n, lim);
}

}  // namespace hazel_bench
