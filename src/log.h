// One-line logs on stderr: "2026-11-25T20:05:03.123Z warn  accept: EMFILE ...".
#pragma once

#include "hazel/config.h"

namespace hazel {

void set_log_level(LogLevel level);
// Names this process in every line after its pid ("master", "worker 1"):
// the processes of one server share stderr.
void set_log_tag(const char* tag);
LogLevel log_level();
bool log_enabled(LogLevel level);
void log_write(LogLevel level, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));

}  // namespace hazel

#define HZ_LOG(level, ...)                                     \
  do {                                                         \
    if (::hazel::log_enabled(level)) ::hazel::log_write(level, __VA_ARGS__); \
  } while (0)
#define HZ_ERROR(...) HZ_LOG(::hazel::LogLevel::kError, __VA_ARGS__)
#define HZ_WARN(...) HZ_LOG(::hazel::LogLevel::kWarn, __VA_ARGS__)
#define HZ_INFO(...) HZ_LOG(::hazel::LogLevel::kInfo, __VA_ARGS__)
#define HZ_DEBUG(...) HZ_LOG(::hazel::LogLevel::kDebug, __VA_ARGS__)
