// The RESP2 reply parser (src/resp.h) on arbitrary bytes, as it meets
// them: a Redis reply stream arriving in pieces. It is the one parser of
// the cluster's Redis client and of hazel-bench (tools/bench/bench_resp.h, the
// bench's limits), so both are checked here.
//
// Beyond memory safety, resp_length() must behave as a streaming parser:
//   - its answer is -1, 0, or a length within the bytes given;
//   - a complete value of L bytes measures L on exactly those L bytes, and
//     every shorter prefix of it "needs more" (never -1, never a length);
//   - values back to back are measured one after the other;
//   - a command built by resp_command() is one complete value, all of it;
//   - with the server's limits, parsing into a Value agrees with measuring,
//     and what it builds stays within the bytes given (strings point into
//     them, arrays hold no more items than the limit).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_resp.h"
#include "lib/check.h"
#include "resp.h"

namespace {

using hazel_bench::resp_command;
using hazel_bench::resp_length;

long measure(const uint8_t* p, size_t n) {
  long len = resp_length(p, n);
  FUZZ_CHECK(len >= -1 && len <= static_cast<long>(n),
             "resp_length %ld of %zu bytes", len, n);
  return len;
}

void check_value_at(const uint8_t* p, size_t n) {
  long len = measure(p, n);
  if (len <= 0) return;
  auto l = static_cast<size_t>(len);
  FUZZ_CHECK(measure(p, l) == len, "a value of %zu bytes measures otherwise "
             "on its own bytes", l);
  size_t cuts[] = {0, 1, 2, l / 2, l - 2, l - 1};
  for (size_t m : cuts) {
    if (m >= l) continue;
    FUZZ_CHECK(measure(p, m) == 0,
               "a %zu-byte prefix of a %zu-byte value does not need more", m,
               l);
  }
}

// Every string of `v` lies inside [p, p + n), every array within limits.
void check_inside(const hazel::resp::Value& v, const uint8_t* p, size_t n,
                  const hazel::resp::Limits& lim, int depth) {
  FUZZ_CHECK(depth <= lim.max_depth, "a Value nested %d deep", depth);
  auto* s = reinterpret_cast<const uint8_t*>(v.str.data());
  FUZZ_CHECK(v.str.empty() || (s >= p && s + v.str.size() <= p + n),
             "a string outside the bytes parsed");
  FUZZ_CHECK(v.items.size() <= lim.max_items, "an array of %zu items",
             v.items.size());
  for (const hazel::resp::Value& i : v.items) check_inside(i, p, n, lim, depth + 1);
}

void check_server_parse(const uint8_t* p, size_t n) {
  hazel::resp::Limits lim;
  lim.max_bulk = 1u << 16;
  lim.max_items = 64;
  hazel::resp::Value v;
  long measured = hazel::resp::measure(p, n, lim);
  long parsed = hazel::resp::parse(p, n, lim, &v);
  FUZZ_CHECK(measured == parsed, "measure %ld but parse %ld", measured, parsed);
  if (parsed > 0) {
    check_inside(v, p, static_cast<size_t>(parsed), lim, 0);
    std::string_view ch, payload;
    if (hazel::resp::as_message(v, &ch, &payload))
      FUZZ_CHECK(v.items.size() == 3, "a message of %zu items", v.items.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_value_at(data, size);
  check_server_parse(data, size);

  // Back to back: each value is measured where the previous one ended.
  size_t off = 0;
  for (int values = 0; off < size && values < 64; ++values) {
    long len = measure(data + off, size - off);
    if (len <= 0) break;
    check_value_at(data + off, size - off);
    off += static_cast<size_t>(len);
  }

  // The input cut at NUL bytes as the arguments of a command.
  std::vector<std::string_view> args;
  std::string_view all(reinterpret_cast<const char*>(data), size);
  for (size_t pos = 0; pos <= all.size() && args.size() < 8;) {
    size_t nul = all.find('\0', pos);
    if (nul == std::string_view::npos) nul = all.size();
    args.push_back(all.substr(pos, nul - pos));
    pos = nul + 1;
  }
  std::string cmd;
  switch (args.size()) {
    case 1: cmd = resp_command({args[0]}); break;
    case 2: cmd = resp_command({args[0], args[1]}); break;
    default: cmd = resp_command({args[0], args[1], args[2]}); break;
  }
  auto* c = reinterpret_cast<const uint8_t*>(cmd.data());
  FUZZ_CHECK(measure(c, cmd.size()) == static_cast<long>(cmd.size()),
             "a command of %zu bytes is not one whole value", cmd.size());
  return 0;
}
