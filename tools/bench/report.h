// The summary of a run, as text for a person or as one JSON object for
// scripts (bench/run.sh reads the JSON).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench/options.h"

namespace hazel_bench {

struct Summary {
  double duration_s = 0;
  uint64_t requests = 0;    // timed replies (publishes in fan-out modes)
  uint64_t deliveries = 0;  // pushes received: fan-out members, TELL targets
  uint64_t errors = 0;
  bool aborted = false;  // a connection failed: the result is not valid
  double rate = 0;       // requests/s, or deliveries/s in fan-out modes
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  double connect_s = 0;  // idle: time to open and ping every connection
  // --server-pid: the server's CPU time over the timed run, the processes it
  // was summed over, and operations (as counted by `rate`) per CPU-second.
  bool cpu_measured = false;
  double server_cpu_s = 0;
  size_t server_processes = 0;
  double per_cpu_s = 0;
  // Connections (members, in fan-out) per worker, from HELLO; empty in
  // modes that do not say HELLO.
  std::vector<size_t> per_worker;
};

void print_summary(const Options& o, const Summary& s);
void print_json(const Options& o, const Summary& s);

}  // namespace hazel_bench
