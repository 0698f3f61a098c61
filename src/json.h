// A strict, bounded JSON reader for one flat object: what a token's header
// and claims are. Members whose value is a string, a number, a boolean,
// null or an array of strings are returned; any other value (an object, a
// mixed array) is checked for well-formedness and returned as kOther.
//
// Strict: RFC 8259 grammar only (no comments, no trailing commas, no
// leading zeros, no control characters or invalid UTF-8 in strings, no
// unpaired surrogates), duplicate member names rejected (two readers of one
// token must never see two different claims), nothing but whitespace after
// the object. Bounded: input size, member count, array length and nesting
// depth are capped, and nothing recurses, so hostile input costs at most
// linear time and a fixed stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hazel {

struct JsonLimits {
  size_t max_bytes = 8192;
  size_t max_members = 64;
  size_t max_array = 256;   // elements of one array
  size_t max_depth = 16;    // nesting inside a member's value
};

struct JsonValue {
  enum class Type : uint8_t { kString, kNumber, kBool, kNull, kStringArray, kOther };
  Type type = Type::kNull;
  std::string str;                   // kString, decoded
  bool integer = false;              // kNumber: no fraction, no exponent, fits i64
  int64_t number = 0;                // kNumber when integer
  bool boolean = false;              // kBool
  std::vector<std::string> strings;  // kStringArray, decoded
};

using JsonMembers = std::vector<std::pair<std::string, JsonValue>>;

// Parses `text` as one JSON object into `out` (member order kept). On
// failure returns false and `err` says what and where.
bool json_parse_object(std::string_view text, JsonMembers* out,
                       std::string* err, const JsonLimits& limits = {});

// Appends `s` as a JSON string literal (quotes and escapes added).
void json_append_string(std::string& out, std::string_view s);

}  // namespace hazel
