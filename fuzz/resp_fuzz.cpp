// hazel-bench's RESP2 reply parser (tools/bench/resp.h) on arbitrary bytes,
// as it meets them: a Redis reply stream arriving in pieces.
//
// Beyond memory safety, resp_length() must behave as a streaming parser:
//   - its answer is -1, 0, or a length within the bytes given;
//   - a complete value of L bytes measures L on exactly those L bytes, and
//     every shorter prefix of it "needs more" (never -1, never a length);
//   - values back to back are measured one after the other;
//   - a command built by resp_command() is one complete value, all of it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/resp.h"
#include "lib/check.h"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_value_at(data, size);

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
