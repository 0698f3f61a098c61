#include "bench/excerpt.h"

#include <cstddef>
#include <cstdio>

namespace hazel_bench {

std::string excerpt(std::string_view bytes) {
  constexpr size_t kMaxShown = 48;
  std::string s;
  for (size_t i = 0; i < bytes.size() && i < kMaxShown; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') {
      s += "\\r";
    } else if (c == '\n') {
      s += "\\n";
    } else if (c >= 0x20 && c < 0x7f && c != '\\') {
      s += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      s += hex;
    }
  }
  if (bytes.size() > kMaxShown) s += "...";
  return s;
}

}  // namespace hazel_bench
