// RESP2, the Redis protocol: building commands and reading replies. Pure
// (no I/O): it takes bytes and answers "need more", "a value of L bytes" or
// "not RESP". Used by the cluster's Redis client (src/redis) and by
// hazel-bench, so there is one parser, fuzzed by fuzz/resp_fuzz.cpp.
//
// Replies are read with the discipline of hazel frames: every length is
// checked against a limit before anything it announces is trusted, a
// header line is bounded, arrays nest at most `max_depth` deep, and a
// malformed stream is never resynchronised (the connection is dropped).
//
//   +OK\r\n             simple string       -ERR why\r\n   error
//   :42\r\n             integer             $5\r\nhello\r\n  bulk string
//   $-1\r\n  *-1\r\n    null                *2\r\n<v><v>    array
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace hazel::resp {

struct Limits {
  size_t max_line = 4096;          // a header line, CRLF excluded
  size_t max_bulk = 512u << 20;    // a bulk string's bytes (Redis's own cap)
  size_t max_items = 1u << 20;     // elements of one array
  int max_depth = 4;               // arrays inside arrays
};

enum class Type : uint8_t { kNull, kSimple, kError, kInteger, kBulk, kArray };

// One parsed value. Strings point into the bytes that were parsed: valid
// only as long as those bytes are.
struct Value {
  Type type = Type::kNull;
  int64_t integer = 0;
  std::string_view str;
  std::vector<Value> items;

  bool is_error() const { return type == Type::kError; }
  bool is_null() const { return type == Type::kNull; }
  // A simple string or a bulk string.
  bool is_string() const { return type == Type::kSimple || type == Type::kBulk; }
};

// Length of the complete value at the start of `p`: > 0 its size in bytes,
// 0 if more bytes are needed, -1 if the bytes are not RESP or break a limit.
// With `out`, the value is also parsed into it (only when complete).
long parse(const uint8_t* p, size_t n, const Limits& limits, Value* out);
inline long measure(const uint8_t* p, size_t n, const Limits& limits) {
  return parse(p, n, limits, nullptr);
}

// "$<len>\r\n<s>\r\n"
std::string bulk(std::string_view s);
// A command as an array of bulk strings: command({"GET", "k"}).
std::string command(std::initializer_list<std::string_view> args);
// The same, appended to `out` (a pipeline being built).
void append_command(std::string& out, const std::string_view* args, size_t n);

// A pub/sub message as a subscriber connection receives it:
// ["message", channel, payload]. False for any other value.
bool as_message(const Value& v, std::string_view* channel,
                std::string_view* payload);

}  // namespace hazel::resp
