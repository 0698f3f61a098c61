// hazel-bench — a closed-loop load generator for hazel, Redis and a raw echo
// server, so that one table can compare the three on the same machine.
//
// The parts, lowest layer first (tools/bench/):
//   options      the command line: modes and flags
//   histogram, pending_queue, resp, ws, excerpt, peers, server_cpu
//                pure pieces: latency buckets, the FIFO of requests in
//                flight, RESP commands and reply boundaries, the WebSocket
//                client side (--ws), printable bytes, HELLO and TELL
//                partners, the server's CPU clock
//   workload     what a run sends and expects, encoded once
//   verify       whether a reply is what the protocol promises
//   driver       sockets and the epoll loop
//   bench        the closed loop: setup, timed requests, accounting
//   loris        a slow-loris attack (its own open loop)
//   report       the summary, as text or JSON
// Hazel frames are encoded and decoded by libhazel.a's codec (hazel/frame.h).
//
// This file only sets up the process and runs one Bench.
#include <netdb.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/bench.h"
#include "bench/exit.h"
#include "bench/loris.h"
#include "bench/options.h"

namespace {

using hazel_bench::Options;

// SIGINT or SIGTERM ends the run early; the summary still covers what was
// measured. The signal is raised again afterwards (see main).
volatile sig_atomic_t g_interrupted = 0;
void on_interrupt(int sig) { g_interrupted = sig; }

// Many connections need many descriptors; take what the hard limit allows
// rather than make every caller remember ulimit -n.
void raise_fd_limit(size_t connections) {
  constexpr rlim_t kSpareFds = 64;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  rlim_t want = static_cast<rlim_t>(connections) + kSpareFds;
  if (lim.rlim_cur >= want) return;
  lim.rlim_cur = std::min(want, lim.rlim_max);
  setrlimit(RLIMIT_NOFILE, &lim);  // best effort: socket() reports EMFILE
}

addrinfo* resolve(const Options& o) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(o.port);
  int rc = getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    hazel_bench::fatal("cannot resolve %s: %s", o.host.c_str(),
                       gai_strerror(rc));
  }
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = hazel_bench::parse_args(argc, argv);
  raise_fd_limit(opt.connections);
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;  // no SA_RESTART: epoll_wait returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  addrinfo* addr = resolve(opt);
  int rc = 0;
  if (opt.mode->shape == hazel_bench::Shape::kLoris) {
    rc = hazel_bench::run_loris(opt, *addr, g_interrupted);
  } else {
    hazel_bench::Bench bench(opt, *addr);
    rc = bench.run(g_interrupted);
  }
  freeaddrinfo(addr);
  // Die of the signal, as shells expect: a script running hazel-bench sees
  // that its child was interrupted and stops too, rather than carry on.
  if (g_interrupted != 0) {
    std::fflush(stdout);
    signal(g_interrupted, SIG_DFL);
    raise(g_interrupted);
  }
  return rc;
}
