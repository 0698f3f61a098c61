// libFuzzer target: the HTTP request-head parser. Parsed in one call and
// again as the bytes trickle in (pieces sized by the first byte), it must
// reach the same result, never read past what it was given, and only hand
// out views inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http.h"
#include "websocket.h"

namespace {

bool inside(std::string_view part, std::string_view all) {
  return part.empty() ||
         (part.data() >= all.data() && part.data() + part.size() <= all.data() + all.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hazel::http;
  std::string_view all(reinterpret_cast<const char*>(data), size);
  RequestParser once;
  Parse r1 = once.parse(all);

  RequestParser bit;
  size_t step = size > 0 ? data[0] % 17 + 1 : 1;
  Parse r2 = Parse::kNeedMore;
  for (size_t n = step < size ? step : size;; n = n + step < size ? n + step : size) {
    r2 = bit.parse(all.substr(0, n));
    if (r2 != Parse::kNeedMore || n == size) break;
  }
  if (r1 != r2) abort();
  if (r1 == Parse::kError && once.error_status() != bit.error_status()) abort();
  if (r1 == Parse::kNeedMore && size >= kMaxHead) abort();
  if (r1 != Parse::kDone) return 0;

  const Request& q = once.request();
  if (once.head_size() > size || once.head_size() > kMaxHead) abort();
  if (bit.head_size() != once.head_size()) abort();
  std::string_view head = all.substr(0, once.head_size());
  if (!inside(q.method, head) || !inside(q.target, head) || !inside(q.path, head) ||
      !inside(q.query, head))
    abort();
  if (q.header_count > kMaxHeaders) abort();
  for (size_t i = 0; i < q.header_count; ++i)
    if (!inside(q.headers[i].name, head) || !inside(q.headers[i].value, head)) abort();
  if (q.header_count != bit.request().header_count) abort();
  // What the WebSocket port does next with a parsed head.
  hazel::ws::Handshake h = hazel::ws::check_handshake(q);
  if (h.status == 0 && h.accept.size() != 28) abort();
  return 0;
}
