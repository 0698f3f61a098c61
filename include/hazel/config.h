// hazel::Config: everything a daemon is built from (what ./hazel's flags
// set), and the log levels. Defaults are defined here and nowhere else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "hazel/frame.h"

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
  // Worker processes (./hazel -w N): how many, and which one this is. Set
  // by the master for each worker; a lone server is worker 0 of 1.
  uint16_t workers = 1;
  uint16_t worker_index = 0;
  // Pending output on one bus link to another worker before requests over
  // it are answered BUSY and one-way deliveries are dropped.
  size_t bus_max_output = size_t{64} << 20;
  // Token authentication (--auth-secret-file): the file of HMAC-SHA256 keys
  // (one a line) that sys AUTH tokens are checked against. Empty: none, and
  // every client may use every service.
  std::string auth_secret_file;
  // Requests plus SENDs per second per client (--rate-limit), 0 = no limit;
  // bursts of up to rate_burst (--rate-burst, 0 = the same as rate_limit).
  uint32_t rate_limit = 0;
  uint32_t rate_burst = 0;
  // A client refused for the rate this long, without a pause of more than
  // rate_pause_ms between refusals, is closed with GOODBYE LIMIT.
  uint32_t rate_close_ms = 10000;
  uint32_t rate_pause_ms = 1000;
};

}  // namespace hazel
