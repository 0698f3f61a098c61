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

#include "hazel/frame.h"
#include "hazel/service.h"

namespace hazel {

enum class LogLevel : uint8_t { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

struct Config {
  std::string bind = "0.0.0.0";
  uint16_t port = 9000;                        // 0 = pick a free port
  uint32_t max_frame = kDefaultMaxFrame;       // body bytes
  uint32_t idle_timeout_ms = 60000;            // 0 = never
  size_t max_output = size_t{16} << 20;        // pending output per client
  uint32_t max_clients = 100000;               // over it: GOODBYE FULL
  uint32_t max_sessions = 100000;              // over it: BUSY
  uint32_t max_client_sessions = 4096;         // per client, answered later
  uint32_t request_timeout_ms = 5000;          // async replies and call()
  uint32_t shutdown_flush_ms = 2000;           // output flush at stop
  LogLevel log_level = LogLevel::kInfo;
  bool builtin_services = true;                // mount sys, echo, kv, room
  bool handle_signals = true;                  // SIGTERM/SIGINT stop run()
  // SO_REUSEPORT on the listener, for worker processes sharing one port.
  // Off for a lone server, so a second one started by mistake fails with
  // "Address already in use" instead of silently splitting the clients.
  bool reuse_port = false;
  uint16_t worker_index = 0;
  uint16_t workers = 1;
};

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

  // Binds and listens. On failure `err` reads like
  // "bind 0.0.0.0:9000: Address already in use".
  bool start(std::string* err);
  // The bound port (useful with port 0).
  uint16_t port() const;
  // Serves until stop() or a signal; returns the exit code (0 = clean).
  int run();
  // Asks run() to shut down (GOODBYE SHUTDOWN, flush, return). Safe from
  // any thread and from a signal handler.
  void stop();

  Context& context();
  const Config& config() const;

 private:
  std::unique_ptr<detail::Core> core_;
};

// Version string, e.g. "0.1.0".
const char* version();

}  // namespace hazel
