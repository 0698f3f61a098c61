// A slow-loris attack on a hazel server, to measure what it costs the
// server and its honest clients: -c connections each announce an echo ECHO
// request of -s body bytes and trickle the body (a hundredth every 100 ms),
// never sending its last byte. A
// connection the server closes (GOODBYE LIMIT, or any other way) is counted
// and opened again at once, so the pressure lasts the whole -t seconds.
// Prints what the server did to the attack, as text or --json.
#pragma once

#include <netdb.h>
#include <signal.h>

#include "bench/options.h"

namespace hazel_bench {

int run_loris(const Options& o, const addrinfo& addr,
              const volatile sig_atomic_t& interrupted);

}  // namespace hazel_bench
