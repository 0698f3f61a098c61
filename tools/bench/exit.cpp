#include "bench/exit.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace hazel_bench {

void fatal(const char* fmt, ...) {
  std::fputs("hazel-bench: ", stderr);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
  std::exit(kExitFailed);
}

void usage_error(const char* fmt, ...) {
  std::fputs("hazel-bench: ", stderr);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputs("\n(try hazel-bench --help)\n", stderr);
  std::exit(kExitUsage);
}

}  // namespace hazel_bench
