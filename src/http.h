// HTTP/1.1, the little that hazel's HTTP ports need (RFC 9110, RFC 9112):
// a request-head parser and a response writer. Pure, no I/O, no clock.
//
// The parser reads one request head: the request line and the header
// fields up to the blank line, at most kMaxHead bytes. It is strict, since
// anything on a port may be an attacker: CRLF line ends only, no obs-fold,
// no whitespace before a field's colon, tokens and field values checked
// byte by byte, origin-form targets only (what browsers send to a server),
// exactly one Host in HTTP/1.1, no Transfer-Encoding (hazel takes no
// request bodies), one valid Content-Length at most. Anything else is an
// error with the status to answer. It is incremental: give it the bytes
// received so far, as often as more arrive; it never looks at a byte twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hazel::http {

inline constexpr size_t kMaxHead = 8192;    // over it: 431
inline constexpr size_t kMaxHeaders = 64;   // over it: 431

struct Header {
  std::string_view name;   // as sent; compare with iequals()
  std::string_view value;  // leading and trailing whitespace removed
};

struct Request {
  std::string_view method;  // case-sensitive token: "GET"
  std::string_view target;  // as sent: "/ws?x=1"
  std::string_view path;    // target up to '?': "/ws"
  std::string_view query;   // after '?', empty if none
  int minor = 1;            // HTTP/1.<minor>: 0 or 1
  uint64_t content_length = 0;
  Header headers[kMaxHeaders];
  size_t header_count = 0;

  // The value of the field `name` (case-insensitive); the first one if it
  // is repeated.
  std::optional<std::string_view> get(std::string_view name) const;
  size_t count(std::string_view name) const;
  // True if some `name` field, read as a comma-separated list, has an
  // element equal to `token`: Connection: keep-alive, Upgrade. Compared
  // case-insensitively unless `exact` (WebSocket subprotocol names).
  bool has_token(std::string_view name, std::string_view token,
                 bool exact = false) const;
};

enum class Parse : uint8_t { kNeedMore, kDone, kError };

class RequestParser {
 public:
  // `buf`: every byte received so far on the connection, the same bytes
  // each call with more behind them (it may have moved: the parser keeps
  // offsets). request() views the `buf` of the latest call.
  Parse parse(std::string_view buf);

  const Request& request() const { return req_; }
  // After kDone: the head's length, its blank line included; what follows
  // it in `buf` is not part of the request head.
  size_t head_size() const { return end_; }
  // After kError: 400, 431, 501 or 505, and why (for a log line).
  int error_status() const { return status_; }
  const char* error() const { return why_; }

 private:
  struct Span {
    size_t off = 0, len = 0;
  };
  Parse fail(int status, const char* why);
  bool request_line(std::string_view buf, std::string_view line);
  bool header_line(std::string_view buf, std::string_view line);
  Parse finish();
  // Points request()'s views into `buf`.
  void rebase(std::string_view buf);

  Request req_;
  // Where the views of req_ lie in the buffer: method, target, then a name
  // and a value per header field.
  Span spans_[2 + 2 * kMaxHeaders];
  size_t line_ = 0;  // start of the first line not parsed yet
  size_t scan_ = 0;  // bytes searched for the end of that line
  size_t end_ = 0;
  bool have_request_line_ = false;
  Parse state_ = Parse::kNeedMore;
  int status_ = 0;
  const char* why_ = "";
};

// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);

const char* reason_phrase(int status);

// A response head: the status line, `fields` (each "Name: value\r\n"),
// and the blank line.
std::string head(int status, std::string_view fields);

// A whole response with a body, Content-Length and Connection: close
// (hazel's HTTP ports answer one request per connection). `head_only`
// (a HEAD request) leaves the body out but keeps its length.
std::string response(int status, std::string_view content_type,
                     std::string_view body, std::string_view fields = {},
                     bool head_only = false);

}  // namespace hazel::http
