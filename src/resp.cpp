#include "resp.h"

#include <algorithm>
#include <cstring>

namespace hazel::resp {

namespace {

// A signed decimal without sign '+', leading junk or overflow.
bool parse_int(const uint8_t* p, size_t n, int64_t* out) {
  if (n == 0) return false;
  bool neg = p[0] == '-';
  size_t i = neg ? 1 : 0;
  if (i == n) return false;
  uint64_t v = 0;
  // |INT64_MIN| as the bound for a negative number.
  const uint64_t bound = neg ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  for (; i < n; ++i) {
    if (p[i] < '0' || p[i] > '9') return false;
    uint64_t d = static_cast<uint64_t>(p[i] - '0');
    if (v > (bound - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

long value(const uint8_t* p, size_t n, const Limits& lim, int depth,
           Value* out) {
  if (n == 0) return 0;
  // The CR ending the line is at most max_line bytes in.
  size_t scan = std::min(n, lim.max_line + 1);
  const void* cr = std::memchr(p, '\r', scan);
  if (cr == nullptr) return n > lim.max_line ? -1 : 0;
  size_t line = static_cast<size_t>(static_cast<const uint8_t*>(cr) - p);
  if (line + 2 > n) return 0;
  if (p[line + 1] != '\n') return -1;
  size_t head = line + 2;
  const uint8_t* text = p + 1;
  size_t text_len = line - 1;
  if (line == 0) return -1;
  switch (p[0]) {
    case '+':
    case '-':
      if (std::memchr(text, '\n', text_len) != nullptr) return -1;
      if (out) {
        out->type = p[0] == '+' ? Type::kSimple : Type::kError;
        out->str = {reinterpret_cast<const char*>(text), text_len};
      }
      return static_cast<long>(head);
    case ':': {
      int64_t v = 0;
      if (!parse_int(text, text_len, &v)) return -1;
      if (out) {
        out->type = Type::kInteger;
        out->integer = v;
      }
      return static_cast<long>(head);
    }
    case '$':
    case '*':
      break;
    default:
      return -1;
  }
  int64_t count = 0;
  if (!parse_int(text, text_len, &count) || count < -1) return -1;
  if (count == -1) {
    if (out) out->type = Type::kNull;
    return static_cast<long>(head);
  }
  auto ucount = static_cast<uint64_t>(count);
  if (p[0] == '$') {
    if (ucount > lim.max_bulk) return -1;
    size_t len = static_cast<size_t>(ucount);
    if (n - head < len + 2) return 0;
    if (p[head + len] != '\r' || p[head + len + 1] != '\n') return -1;
    if (out) {
      out->type = Type::kBulk;
      out->str = {reinterpret_cast<const char*>(p + head), len};
    }
    return static_cast<long>(head + len + 2);
  }
  if (ucount > lim.max_items || depth >= lim.max_depth) return -1;
  size_t total = head;
  if (out) {
    out->type = Type::kArray;
    out->integer = count;
    out->items.clear();
  }
  for (uint64_t i = 0; i < ucount; ++i) {
    Value* item = nullptr;
    if (out) item = &out->items.emplace_back();
    long len = value(p + total, n - total, lim, depth + 1, item);
    if (len <= 0) {
      if (out) out->items.clear();
      return len;
    }
    total += static_cast<size_t>(len);
  }
  return static_cast<long>(total);
}

}  // namespace

long parse(const uint8_t* p, size_t n, const Limits& limits, Value* out) {
  // Measured first: a value arriving in pieces is not built again and again.
  long len = value(p, n, limits, 0, nullptr);
  if (len > 0 && out != nullptr) {
    out->str = {};
    out->integer = 0;
    out->items.clear();
    value(p, static_cast<size_t>(len), limits, 0, out);
  }
  return len;
}

std::string bulk(std::string_view s) {
  std::string out = "$" + std::to_string(s.size()) + "\r\n";
  out.append(s);
  out += "\r\n";
  return out;
}

void append_command(std::string& out, const std::string_view* args, size_t n) {
  out += '*';
  out += std::to_string(n);
  out += "\r\n";
  for (size_t i = 0; i < n; ++i) {
    out += '$';
    out += std::to_string(args[i].size());
    out += "\r\n";
    out.append(args[i]);
    out += "\r\n";
  }
}

std::string command(std::initializer_list<std::string_view> args) {
  std::string out;
  append_command(out, args.begin(), args.size());
  return out;
}

bool as_message(const Value& v, std::string_view* channel,
                std::string_view* payload) {
  if (v.type != Type::kArray || v.items.size() != 3) return false;
  for (const Value& i : v.items)
    if (i.type != Type::kBulk) return false;
  if (v.items[0].str != "message") return false;
  *channel = v.items[1].str;
  *payload = v.items[2].str;
  return true;
}

}  // namespace hazel::resp
