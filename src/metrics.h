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
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// The whole exposition: hazel_build_info, hazel_workers (the server's
// worker count), hazel_workers_answered, then every figure of every
// worker that answered.
std::string render(const std::vector<WorkerInfo>& workers, uint16_t worker_count,
                   std::string_view version);

}  // namespace hazel::metrics
