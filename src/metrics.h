// Prometheus text exposition (format 0.0.4) of hazel's INFO figures: what
// the admin port's /metrics answers. Pure: it turns INFO text ("name
// value" lines, as sys INFO gives them) into metric families.
//
// Each INFO figure becomes one family, `hazel_` + its name, with one
// series per worker labelled worker="<index>". Counters get the
// conventional _total suffix (frames_in -> hazel_frames_in_total), seconds
// are spelled out (uptime_s -> hazel_uptime_seconds); a figure this table
// does not know yet is a gauge under its own name (a counter if its name
// ends in _total). Summing over `worker` gives the whole server, as INFO
// does.
//
// Request durations (src/request_durations.h) become one histogram family,
// hazel_request_duration_seconds, with a series per worker and service.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "request_durations.h"

namespace hazel::metrics {

inline constexpr std::string_view kContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// One worker's own INFO (not summed with the others'), or `ok` false if
// it did not answer.
struct WorkerInfo {
  uint16_t worker = 0;
  bool ok = false;
  std::string text;
};

// One worker's request durations in their text form: a line per service,
// "<sum_ns> <count of each bucket, +Inf last> <service name>" (the name
// last, so that any name reads back).
struct WorkerDurations {
  uint16_t worker = 0;
  std::string text;
};

// Adds the line of one service to a worker's durations text.
void append_durations(std::string& out, std::string_view service,
                      const detail::DurationHistogram& h);

// The body of the sys INFO request by which one worker asks another for
// its durations text over the bus; the core of the worker asked answers it.
inline constexpr std::string_view kDurationsQuery = "request_durations";

// The whole exposition: hazel_build_info, hazel_workers (the server's
// worker count), hazel_workers_answered, then every figure of every
// worker that answered, then the request-duration histograms (cumulative
// buckets, as the format has them).
std::string render(const std::vector<WorkerInfo>& workers, uint16_t worker_count,
                   std::string_view version,
                   const std::vector<WorkerDurations>& durations = {});

}  // namespace hazel::metrics
