// hazel::Daemon: one single-threaded hazel server. Build it from a Config,
// mount services, start() to bind, run() until stopped.
//
//   hazel::Config cfg;
//   cfg.port = 9000;
//   hazel::Daemon d(cfg);            // sys, echo, kv and room are mounted
//   MyService mine;
//   d.mount(mine);
//   std::string err;
//   if (!d.start(&err)) { fprintf(stderr, "%s\n", err.c_str()); return 1; }
//   return d.run();                  // SIGTERM/SIGINT stop it cleanly
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "hazel/config.h"
#include "hazel/frame.h"
#include "hazel/service.h"

namespace hazel {

class Daemon;
namespace detail {
Core& core_of(Daemon& d);
}

class Daemon {
 public:
  explicit Daemon(Config config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Mounts a service the caller owns (it must outlive the mount). Fails if
  // the id or the name is taken.
  bool mount(Service& service, std::string* err = nullptr);
  void unmount(Service& service);

  // Policies (hazel/policy.h) the caller owns (each must outlive its
  // place here): asked in the order added before every client request
  // reaches its service. With Config::auth_secret_file set, the built-in
  // token policy is added by start(), after any added before it.
  void add_policy(Policy& policy);
  void remove_policy(Policy& policy);

  // Binds and listens. On failure `err` reads like
  // "bind 0.0.0.0:9000: Address already in use".
  bool start(std::string* err);
  // The bound port (useful with port 0).
  uint16_t port() const;
  // The bound WebSocket and admin ports (0 when off).
  uint16_t ws_port() const;
  uint16_t admin_port() const;
  // Serves until stop() or a signal; returns the exit code (0 = clean).
  int run();
  // Asks run() to shut down (GOODBYE SHUTDOWN, flush, return). Safe from
  // any thread and from a signal handler.
  void stop();
  // With Config::manual_clock: moves the server's clock by `ms` and returns
  // once the loop turn that did so is over: what fell due (an idle
  // timeout, a TTL, a session deadline) has happened and what it wrote has
  // gone to the sockets. Call it from another thread than run()'s.
  void advance_clock(uint64_t ms);

  Context& context();
  const Config& config() const;

 private:
  friend detail::Core& detail::core_of(Daemon&);
  std::unique_ptr<detail::Core> core_;
};

// Mounts an embedder's services on a fresh daemon; false (and `err`) to give
// up. With workers it runs once in every worker process, each time a worker
// starts, so the services it mounts must be created by it (or outlive every
// worker: a static object will do).
using DaemonSetup = UniqueFunction<bool(Daemon& d, std::string* err)>;

// Runs a whole server, as ./hazel does. With cfg.workers <= 1: one daemon in
// this process. With more: a master process that forks cfg.workers worker
// processes on one port and supervises them (docs/SCALING.md). `argv` is
// main's, so that ps shows "hazel: master" and "hazel: worker 1" (optional).
// Returns the exit code: 0 after a clean stop (SIGTERM/SIGINT), 1 if the
// server could not run; errors go to stderr.
int run_server(Config cfg, DaemonSetup setup = nullptr, char** argv = nullptr);

// Version string, e.g. "0.1.0".
const char* version();

}  // namespace hazel
