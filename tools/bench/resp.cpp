#include "bench/resp.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace hazel_bench {

namespace {

long value_length(const uint8_t* p, size_t n, int nesting) {
  if (n == 0) return 0;
  const void* cr = std::memchr(p, '\r', std::min(n, kMaxRespLine));
  if (cr == nullptr) return n >= kMaxRespLine ? -1 : 0;
  size_t line = static_cast<size_t>(static_cast<const uint8_t*>(cr) - p);
  if (line + 2 > n) return 0;
  if (p[line + 1] != '\n') return -1;
  size_t head = line + 2;
  char type = static_cast<char>(p[0]);
  if (type == '+' || type == '-' || type == ':') return static_cast<long>(head);
  if (type != '$' && type != '*') return -1;

  std::string digits(reinterpret_cast<const char*>(p + 1), line - 1);
  char* end = nullptr;
  long count = std::strtol(digits.c_str(), &end, 10);
  if (digits.empty() || *end != '\0' || count < -1) return -1;
  if (count == -1) return static_cast<long>(head);  // null bulk or array
  auto ucount = static_cast<size_t>(count);
  if (type == '$') {
    if (ucount > kMaxRespBulk) return -1;
    if (n < head + ucount + 2) return 0;
    if (p[head + ucount] != '\r' || p[head + ucount + 1] != '\n') return -1;
    return static_cast<long>(head + ucount + 2);
  }
  if (nesting >= kMaxRespNesting) return -1;
  size_t total = head;
  for (size_t i = 0; i < ucount; ++i) {
    long len = value_length(p + total, n - total, nesting + 1);
    if (len <= 0) return len;
    total += static_cast<size_t>(len);
  }
  return static_cast<long>(total);
}

}  // namespace

std::string resp_bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

std::string resp_command(std::initializer_list<std::string_view> args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (std::string_view a : args) s += resp_bulk(a);
  return s;
}

long resp_length(const uint8_t* p, size_t n) { return value_length(p, n, 0); }

}  // namespace hazel_bench
