// RESP2, the Redis protocol, as much as hazel-bench needs to load a Redis
// server: building commands, and finding where each reply ends. Replies are
// then compared byte for byte with what is expected, so this parser only
// finds boundaries and never interprets values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "hazel/frame.h"

namespace hazel_bench {

// Longest header line ("$1048576\r\n", "+PONG\r\n") a reply may start with.
inline constexpr size_t kMaxRespLine = 64;
// Arrays inside arrays deeper than this are refused.
inline constexpr int kMaxRespNesting = 4;
// Largest bulk string accepted: a reply bigger than any payload the bench
// sends cannot be one of its answers.
inline constexpr size_t kMaxRespBulk = hazel::kDefaultMaxFrame;

// "$<len>\r\n<s>\r\n"
std::string resp_bulk(std::string_view s);

// A command as an array of bulk strings: resp_command({"GET", "k"}).
std::string resp_command(std::initializer_list<std::string_view> args);

// Length of the complete RESP2 value at the start of `p`: > 0 its size in
// bytes, 0 if more bytes are needed, -1 if the bytes are not RESP (or break
// one of the limits above).
long resp_length(const uint8_t* p, size_t n);

}  // namespace hazel_bench
