// Who is where: what a connection learns from sys HELLO (its client id and
// the worker process serving it), and who TELLs whom in tell mode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bench/options.h"

namespace hazel_bench {

struct Hello {
  uint64_t client = 0;
  uint32_t worker = 0;
};

// Reads the client= and worker= lines of a HELLO body. A server without
// worker processes may leave out worker=: that is worker 0. Returns false,
// with the reason in *why, if client= is missing or not a non-zero number.
bool parse_hello(std::string_view body, Hello* out, std::string* why);

// For each connection (by index, with the worker HELLO named for it), the
// index of the connection it TELLs: never itself; on its own worker for
// --peer local, on another worker for --peer remote. Each connection is told
// by exactly one other, except with --peer remote when one worker holds more
// than half of the connections: then some of those are told by nobody, and
// the others' partners by more than one. Empty, with the reason in *why, if
// no partner fits: --peer local and a connection alone on its worker,
// --peer remote and every connection on one worker.
std::vector<size_t> plan_tells(std::span<const uint32_t> workers, Peer peer,
                               std::string* why);

// How many connections each worker serves: index = worker.
std::vector<size_t> count_per_worker(std::span<const uint32_t> workers);

// "worker 0: 26, worker 1: 24" (workers with no connection left out).
std::string describe_per_worker(std::span<const size_t> counts);

}  // namespace hazel_bench
