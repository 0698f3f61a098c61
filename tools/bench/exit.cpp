#include "bench/exit.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace hazel_bench {

namespace {
[[noreturn]] void die(int code, const char* tail, const char* fmt, va_list ap) {
  std::fputs("hazel-bench: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fputs(tail, stderr);
  std::exit(code);
}
}  // namespace

void fatal(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  die(kExitFailed, "\n", fmt, ap);
}

void usage_error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  die(kExitUsage, "\n(try hazel-bench --help)\n", fmt, ap);
}

}  // namespace hazel_bench
