// libFuzzer target: the WebSocket frame decoder on what a client may send.
// The input is decoded whole and again in pieces (sized by the first
// byte); both must report the same events, take no more than they are
// given and never hold more than the message limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "websocket.h"

namespace {

constexpr size_t kLimit = 16 + 4096;

std::vector<std::string> run(const uint8_t* data, size_t size, size_t step) {
  using Event = hazel::ws::Reader::Event;
  hazel::ws::Reader r(kLimit);
  std::vector<uint8_t> copy(data, data + size);  // read() unmasks in place
  std::vector<std::string> out;
  size_t at = 0;
  while (at < size) {
    size_t piece = step < size - at ? step : size - at;
    uint8_t* p = copy.data() + at;
    at += piece;
    while (piece > 0) {
      size_t used = 0;
      Event e = r.read(p, piece, &used);
      if (used > piece) abort();
      if (r.buffered() > kLimit + hazel::ws::kMaxHeader + hazel::ws::kMaxControlPayload)
        abort();
      p += used;
      piece -= used;
      if (e == Event::kNeedMore) {
        if (piece != 0) abort();
        break;
      }
      if (r.payload().size() > kLimit) abort();
      std::string ev(1, static_cast<char>('0' + static_cast<int>(e)));
      ev += std::to_string(e == Event::kError ? r.error_code() : r.close_code());
      ev += ':';
      ev += r.payload();
      out.push_back(std::move(ev));
      if (e == Event::kError || e == Event::kClose) return out;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t step = size > 0 ? data[0] % 23 + 1 : 1;
  if (run(data, size, size ? size : 1) != run(data, size, step)) abort();
  return 0;
}
