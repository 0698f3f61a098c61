// How hazel-bench ends: its exit statuses, and the exit for a run that cannot
// measure anything (no server, no descriptors, a command line it rejects).
#pragma once

namespace hazel_bench {

inline constexpr int kExitOk = 0;      // every reply was correct
inline constexpr int kExitFailed = 1;  // wrong replies or a failed connection
inline constexpr int kExitUsage = 2;   // bad command line

// "hazel-bench: <message>" on stderr, then exit(kExitFailed).
[[noreturn]] void fatal(const char* fmt, ...)
    __attribute__((format(printf, 1, 2)));

// "hazel-bench: <message>" and a hint on stderr, then exit(kExitUsage).
[[noreturn]] void usage_error(const char* fmt, ...)
    __attribute__((format(printf, 1, 2)));

}  // namespace hazel_bench
