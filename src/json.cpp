#include "json.h"

#include <algorithm>
#include <limits>

namespace hazel {

namespace {

class Reader {
 public:
  Reader(std::string_view text, const JsonLimits& limits, std::string* err)
      : s_(text), limits_(limits), err_(err) {}

  bool object(JsonMembers* out) {
    ws();
    if (!expect('{')) return false;
    ws();
    if (peek() == '}') {
      ++pos_;
      return end();
    }
    for (;;) {
      if (out->size() >= limits_.max_members) return fail("too many members");
      std::string name;
      ws();
      if (!string(&name)) return false;
      for (auto& [n, v] : *out)
        if (n == name) return fail("duplicate member name");
      ws();
      if (!expect(':')) return false;
      ws();
      JsonValue v;
      if (!member_value(&v)) return false;
      out->emplace_back(std::move(name), std::move(v));
      ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (!expect('}')) return false;
      return end();
    }
  }

 private:
  bool end() {
    ws();
    if (pos_ != s_.size()) return fail("text after the object");
    return true;
  }

  int peek() const {
    return pos_ < s_.size() ? static_cast<unsigned char>(s_[pos_]) : -1;
  }
  void ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                                s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool expect(char c) {
    if (peek() != static_cast<unsigned char>(c))
      return fail(std::string("expected '") + c + "'");
    ++pos_;
    return true;
  }
  bool fail(const std::string& what) {
    if (err_) *err_ = what + " at byte " + std::to_string(pos_);
    return false;
  }

  bool member_value(JsonValue* v) {
    int c = peek();
    if (c == '"') {
      v->type = JsonValue::Type::kString;
      return string(&v->str);
    }
    if (c == '[') return array(v);
    if (c == '{') {
      v->type = JsonValue::Type::kOther;
      return skip_value();
    }
    return scalar(v);
  }

  // An array of strings, or (at its first non-string element) any array,
  // skipped from its start.
  bool array(JsonValue* v) {
    size_t start = pos_;
    ++pos_;
    ws();
    v->type = JsonValue::Type::kStringArray;
    if (peek() == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      ws();
      if (peek() != '"') {
        pos_ = start;
        v->strings.clear();
        v->type = JsonValue::Type::kOther;
        return skip_value();
      }
      if (v->strings.size() >= limits_.max_array)
        return fail("array too long");
      std::string s;
      if (!string(&s)) return false;
      v->strings.push_back(std::move(s));
      ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      return expect(']');
    }
  }

  // true, false, null or a number.
  bool scalar(JsonValue* v) {
    if (literal("true")) {
      v->type = JsonValue::Type::kBool;
      v->boolean = true;
      return true;
    }
    if (literal("false")) {
      v->type = JsonValue::Type::kBool;
      return true;
    }
    if (literal("null")) {
      v->type = JsonValue::Type::kNull;
      return true;
    }
    v->type = JsonValue::Type::kNumber;
    return number(v);
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  static bool digit(int c) { return c >= '0' && c <= '9'; }

  bool number(JsonValue* v) {
    bool negative = peek() == '-';
    if (negative) ++pos_;
    if (!digit(peek())) return fail("expected a value");
    bool integer = true;
    uint64_t mag = 0;
    bool overflow = false;
    if (peek() == '0') {
      ++pos_;
      if (digit(peek())) return fail("leading zero in a number");
    } else {
      while (digit(peek())) {
        auto d = static_cast<uint64_t>(peek() - '0');
        if (mag > (std::numeric_limits<uint64_t>::max() - d) / 10) overflow = true;
        else mag = mag * 10 + d;
        ++pos_;
      }
    }
    if (peek() == '.') {
      integer = false;
      ++pos_;
      if (!digit(peek())) return fail("expected a digit after '.'");
      while (digit(peek())) ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      integer = false;
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!digit(peek())) return fail("expected a digit in the exponent");
      while (digit(peek())) ++pos_;
    }
    constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (overflow || mag > kMax + (negative ? 1 : 0)) integer = false;
    if (v != nullptr && integer) {
      v->integer = true;
      v->number = negative ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
    }
    return true;
  }

  // Appends code point `cp` as UTF-8.
  static void put_utf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool hex4(uint32_t* out) {
    if (s_.size() - pos_ < 4) return fail("short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else return fail("bad hex digit in \\u escape");
    }
    *out = v;
    return true;
  }

  // One well-formed UTF-8 sequence starting at pos_ (RFC 3629: no overlong
  // forms, no surrogates, nothing above U+10FFFF).
  bool utf8(std::string* out) {
    auto b0 = static_cast<unsigned char>(s_[pos_]);
    size_t n;
    uint32_t cp;
    if (b0 >= 0xC2 && b0 <= 0xDF) { n = 2; cp = b0 & 0x1Fu; }
    else if (b0 >= 0xE0 && b0 <= 0xEF) { n = 3; cp = b0 & 0x0Fu; }
    else if (b0 >= 0xF0 && b0 <= 0xF4) { n = 4; cp = b0 & 0x07u; }
    else return fail("invalid UTF-8");
    if (s_.size() - pos_ < n) return fail("truncated UTF-8");
    for (size_t i = 1; i < n; ++i) {
      auto b = static_cast<unsigned char>(s_[pos_ + i]);
      if ((b & 0xC0) != 0x80) return fail("invalid UTF-8");
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return fail("invalid UTF-8");
    if (out) out->append(s_.substr(pos_, n));
    pos_ += n;
    return true;
  }

  // A string literal at pos_; decoded into `out` unless it is null.
  bool string(std::string* out) {
    if (!expect('"')) return false;
    for (;;) {
      if (pos_ >= s_.size()) return fail("unterminated string");
      auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return fail("control character in a string");
      if (c >= 0x80) {
        if (!utf8(out)) return false;
        continue;
      }
      ++pos_;
      if (c != '\\') {
        if (out) out->push_back(static_cast<char>(c));
        continue;
      }
      if (pos_ >= s_.size()) return fail("unterminated string");
      char e = s_[pos_++];
      char plain;
      switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': {
          uint32_t cp;
          if (!hex4(&cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("unpaired surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (s_.substr(pos_, 2) != "\\u") return fail("unpaired surrogate");
            pos_ += 2;
            if (!hex4(&lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return fail("unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          if (out) put_utf8(out, cp);
          continue;
        }
        default: return fail("bad escape in a string");
      }
      if (out) out->push_back(plain);
    }
  }

  // Any value at pos_, checked and discarded. Iterative: `open` holds the
  // containers entered, so depth costs a byte each, never a stack frame.
  bool skip_value() {
    char open[64];
    size_t depth = 0;
    size_t max_depth = std::min(limits_.max_depth, sizeof open);
    size_t count[64];
    for (;;) {
      // A value is due here.
      ws();
      int c = peek();
      if (c == '{' || c == '[') {
        if (depth >= max_depth) return fail("nested too deeply");
        ++pos_;
        open[depth] = static_cast<char>(c);
        count[depth++] = 0;
        ws();
        if (peek() == (c == '{' ? '}' : ']')) {
          ++pos_;
          --depth;
        } else if (c == '{') {
          if (!member_name()) return false;
          continue;
        } else {
          continue;
        }
      } else if (c == '"') {
        if (!string(nullptr)) return false;
      } else if (!literal("true") && !literal("false") && !literal("null")) {
        if (!number(nullptr)) return false;
      }
      // A value is complete: close what ends here, or find the next one.
      for (;;) {
        if (depth == 0) return true;
        ws();
        char top = open[depth - 1];
        if (peek() == ',') {
          ++pos_;
          size_t cap = top == '{' ? limits_.max_members : limits_.max_array;
          if (++count[depth - 1] >= cap) return fail("too many elements");
          if (top == '{' && !member_name()) return false;
          break;
        }
        if (!expect(top == '{' ? '}' : ']')) return false;
        --depth;
      }
    }
  }

  // `"name" :` inside a skipped object.
  bool member_name() {
    ws();
    if (!string(nullptr)) return false;
    ws();
    return expect(':');
  }

  std::string_view s_;
  const JsonLimits& limits_;
  std::string* err_;
  size_t pos_ = 0;
};

}  // namespace

bool json_parse_object(std::string_view text, JsonMembers* out,
                       std::string* err, const JsonLimits& limits) {
  out->clear();
  if (text.size() > limits.max_bytes) {
    if (err) *err = "JSON text of " + std::to_string(text.size()) +
                    " bytes is over the limit of " +
                    std::to_string(limits.max_bytes);
    return false;
  }
  Reader r(text, limits, err);
  if (r.object(out)) return true;
  out->clear();
  return false;
}

void json_append_string(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  out += '"';
}

}  // namespace hazel
