#include "http.h"

#include <charconv>

namespace hazel::http {

namespace {

// tchar (RFC 9110 section 5.6.2).
bool is_tchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9'))
    return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

bool is_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

// pchar, '/' and '?' (RFC 3986): what an origin-form target may hold.
bool is_target_char(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9'))
    return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                        // unreserved
    case '!': case '$': case '&': case '\'': case '(': case ')':   // sub-delims
    case '*': case '+': case ',': case ';': case '=':
    case ':': case '@': case '/': case '?':
      return true;
    default:
      return false;
  }
}

bool valid_target(std::string_view t) {
  if (t.empty() || t[0] != '/') return false;
  for (size_t i = 0; i < t.size(); ++i) {
    auto c = static_cast<unsigned char>(t[i]);
    if (c == '%') {
      if (i + 2 >= t.size()) return false;
      if (!is_hex(static_cast<unsigned char>(t[i + 1])) ||
          !is_hex(static_cast<unsigned char>(t[i + 2])))
        return false;
      i += 2;
      continue;
    }
    if (!is_target_char(c)) return false;
  }
  return true;
}

// uri-host [ ":" port ], loosely: the characters a reg-name, an IP literal
// and a port may use.
bool valid_host(std::string_view h) {
  for (unsigned char c : h) {
    if (is_target_char(c) && c != '/' && c != '?' && c != '@') continue;
    if (c == '[' || c == ']' || c == '%') continue;
    return false;
  }
  return true;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// ---- Request -----------------------------------------------------------------

std::optional<std::string_view> Request::get(std::string_view name) const {
  for (size_t i = 0; i < header_count; ++i)
    if (iequals(headers[i].name, name)) return headers[i].value;
  return std::nullopt;
}

size_t Request::count(std::string_view name) const {
  size_t n = 0;
  for (size_t i = 0; i < header_count; ++i)
    if (iequals(headers[i].name, name)) ++n;
  return n;
}

bool Request::has_token(std::string_view name, std::string_view token,
                        bool exact) const {
  for (size_t i = 0; i < header_count; ++i) {
    if (!iequals(headers[i].name, name)) continue;
    std::string_view list = headers[i].value;
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view item = trim(list.substr(0, comma));
      if (exact ? item == token : iequals(item, token)) return true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return false;
}

// ---- RequestParser -------------------------------------------------------------

Parse RequestParser::fail(int status, const char* why) {
  status_ = status;
  why_ = why;
  state_ = Parse::kError;
  return state_;
}

void RequestParser::rebase(std::string_view buf) {
  if (buf.size() < line_) return;  // not the bytes parsed so far
  auto at = [&](const Span& sp) { return buf.substr(sp.off, sp.len); };
  if (have_request_line_) {
    req_.method = at(spans_[0]);
    req_.target = at(spans_[1]);
    size_t q = req_.target.find('?');
    req_.path = req_.target.substr(0, q);
    req_.query = q == std::string_view::npos ? std::string_view() : req_.target.substr(q + 1);
  }
  for (size_t i = 0; i < req_.header_count; ++i) {
    req_.headers[i].name = at(spans_[2 + 2 * i]);
    req_.headers[i].value = at(spans_[3 + 2 * i]);
  }
}

bool RequestParser::request_line(std::string_view buf, std::string_view line) {
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos) {
    fail(400, "request line is not METHOD SP TARGET SP VERSION");
    return false;
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) {
    fail(400, "method is not a token");
    return false;
  }
  if (!valid_target(target)) {
    fail(400, "request target is not an origin-form path");
    return false;
  }
  if (version == "HTTP/1.1") {
    req_.minor = 1;
  } else if (version == "HTTP/1.0") {
    req_.minor = 0;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
             version[5] >= '0' && version[5] <= '9' && version[6] == '.' &&
             version[7] >= '0' && version[7] <= '9') {
    fail(505, "HTTP version not supported");
    return false;
  } else {
    fail(400, "bad HTTP version");
    return false;
  }
  spans_[0] = {static_cast<size_t>(method.data() - buf.data()), method.size()};
  spans_[1] = {static_cast<size_t>(target.data() - buf.data()), target.size()};
  return true;
}

bool RequestParser::header_line(std::string_view buf, std::string_view line) {
  if (line[0] == ' ' || line[0] == '\t') {
    fail(400, "obsolete line folding");
    return false;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
    fail(400, "header field name is not a token followed by ':'");
    return false;
  }
  if (req_.header_count == kMaxHeaders) {
    fail(431, "too many header fields");
    return false;
  }
  std::string_view name = line.substr(0, colon);
  std::string_view value = trim(line.substr(colon + 1));
  Span* sp = &spans_[2 + 2 * req_.header_count];
  sp[0] = {static_cast<size_t>(name.data() - buf.data()), name.size()};
  sp[1] = {static_cast<size_t>(value.data() - buf.data()), value.size()};
  Header& h = req_.headers[req_.header_count++];
  h.name = name;
  h.value = value;
  return true;
}

Parse RequestParser::finish() {
  size_t hosts = req_.count("host");
  if (hosts > 1) return fail(400, "more than one Host");
  if (hosts == 0 && req_.minor == 1) return fail(400, "HTTP/1.1 without Host");
  if (hosts == 1 && !valid_host(*req_.get("host"))) return fail(400, "bad Host");
  if (req_.count("transfer-encoding") > 0)
    return fail(501, "Transfer-Encoding: request bodies are not accepted");
  size_t lengths = req_.count("content-length");
  if (lengths > 1) return fail(400, "more than one Content-Length");
  if (lengths == 1) {
    std::string_view v = *req_.get("content-length");
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size())
      return fail(400, "bad Content-Length");
    req_.content_length = n;
  }
  state_ = Parse::kDone;
  return state_;
}

Parse RequestParser::parse(std::string_view buf) {
  rebase(buf);
  if (state_ != Parse::kNeedMore) return state_;
  const size_t limit = buf.size() < kMaxHead ? buf.size() : kMaxHead;
  // One pass over each byte: control characters are refused as soon as
  // they arrive (binary junk, a TLS hello), not when a line ends.
  for (; scan_ < limit; ++scan_) {
    auto c = static_cast<unsigned char>(buf[scan_]);
    if (scan_ > 0 && buf[scan_ - 1] == '\r' && c != '\n')
      return fail(400, "CR not followed by LF");
    if (c == '\r') continue;
    if (c != '\n') {
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return fail(400, "control character in the request head");
      if (!have_request_line_ && c >= 0x80)
        return fail(400, "non-ASCII byte in the request line");
      continue;
    }
    if (scan_ == line_ || buf[scan_ - 1] != '\r')
      return fail(400, "line not ended by CRLF");
    std::string_view line = buf.substr(line_, scan_ - 1 - line_);
    line_ = scan_ + 1;
    if (!have_request_line_) {
      if (line.empty()) return fail(400, "empty request line");
      if (!request_line(buf, line)) return state_;
      have_request_line_ = true;
      rebase(buf);
      continue;
    }
    if (line.empty()) {
      end_ = line_;
      ++scan_;
      return finish();
    }
    if (!header_line(buf, line)) return state_;
  }
  if (buf.size() >= kMaxHead) return fail(431, "request head over 8 KiB");
  return Parse::kNeedMore;
}

// ---- responses -------------------------------------------------------------------

const char* reason_phrase(int status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string head(int status, std::string_view fields) {
  std::string out = "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  out += fields;
  out += "\r\n";
  return out;
}

std::string response(int status, std::string_view content_type,
                     std::string_view body, std::string_view fields,
                     bool head_only) {
  std::string f;
  if (!content_type.empty()) {
    f += "Content-Type: ";
    f += content_type;
    f += "\r\n";
  }
  f += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  f += fields;
  f += "Connection: close\r\n";
  std::string out = head(status, f);
  if (!head_only) out += body;
  return out;
}

}  // namespace hazel::http
