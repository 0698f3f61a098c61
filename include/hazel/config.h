// hazel::Config: everything a daemon is built from (what ./hazel's flags
// set), and the log levels. Defaults are defined here and nowhere else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hazel/frame.h"

namespace hazel {

enum class LogLevel : uint8_t { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// What kv does with a SET or INCR that would take it past kv_max_bytes:
// refuse it (BUSY "kv is full"), or evict approximately least recently used
// keys until it fits.
enum class KvEvict : uint8_t { kOff = 0, kLru = 1 };

struct Config {
  std::string bind = "0.0.0.0";
  uint16_t port = 9000;                        // 0 = pick a free port
  uint32_t max_frame = kDefaultMaxFrame;       // body bytes
  uint32_t idle_timeout_ms = 60000;            // 0 = never
  size_t max_output = size_t{16} << 20;        // pending output per client
  // Budgets across all clients. Input: arrays held for frames not complete
  // yet; past it, the client holding the most is closed with GOODBYE LIMIT.
  // Output: bytes queued and not written; past it, the client with the most
  // pending is closed with GOODBYE SLOW.
  size_t max_input_memory = size_t{256} << 20;
  size_t max_output_memory = size_t{1} << 30;
  uint32_t body_timeout_ms = 10000;            // header to last byte, 0 = off
  uint32_t max_clients = 100000;               // over it: GOODBYE FULL
  uint32_t max_sessions = 100000;              // over it: BUSY
  uint32_t max_client_sessions = 4096;         // per client, answered later
  uint32_t request_timeout_ms = 5000;          // async replies and call()
  // kv memory: keys, values and kv::kKeyOverhead per key, for the whole
  // server (each of N workers holds at most a share of 1/N). 0 = no limit.
  uint64_t kv_max_bytes = 0;
  KvEvict kv_evict = KvEvict::kOff;
  // Rooms: how many one client may be in (over it: BUSY), and how many
  // the server holds (each of N workers 1/N of them; over it a JOIN that
  // would create a room is BUSY).
  uint32_t max_rooms_per_client = 1024;
  uint32_t max_rooms = 1000000;
  uint32_t shutdown_flush_ms = 2000;           // output flush at stop
  LogLevel log_level = LogLevel::kInfo;
  bool builtin_services = true;                // mount sys, echo, kv, room
  bool handle_signals = true;                  // SIGTERM/SIGINT stop run()
  // For tests of time: the server's clock stands still and moves only by
  // Daemon::advance_clock(), so idle timeouts, TTLs and deadlines happen
  // when the test says, however loaded the machine is. One process only.
  bool manual_clock = false;
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

  // The WebSocket port (--ws-port), on `bind`: the chat page at /, the
  // JavaScript client at /hazel.js, WebSocket clients at /ws. Off unless
  // ws_listen; port 0 = pick a free port. With workers every worker
  // listens on it (SO_REUSEPORT), like the main port.
  bool ws_listen = false;
  uint16_t ws_port = 0;
  // --ws-origin: the Origins an upgrade may come from; empty = any.
  std::vector<std::string> ws_origins;
  // The admin port (--admin-port): Prometheus /metrics and /healthz, on
  // admin_bind (loopback unless told otherwise: the figures are not for
  // everyone). Off unless admin_listen; port 0 = pick a free port.
  bool admin_listen = false;
  uint16_t admin_port = 0;
  std::string admin_bind = "127.0.0.1";
  // HTTP on those ports: a request head must arrive, and be answered,
  // within this.
  uint32_t http_timeout_ms = 10000;
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

  // --cluster redis://[user:password@]host:port[/db]: every worker is a node
  // of one hazel spanning hosts, joined through this Redis (docs/SCALING.md).
  // Empty: no cluster, and Redis is never needed.
  std::string cluster_url;
  // --cluster-prefix: every key and channel starts with it and a colon.
  std::string cluster_prefix = "hazel";
  // --cluster-heartbeat-ms: a node renews its key this often; three
  // missed and it counts as dead.
  uint32_t cluster_heartbeat_ms = 1000;
  // --cluster-max-output: pending output to Redis before cross-node
  // traffic is dropped (and counted, INFO cluster_dropped) and kv answers
  // BUSY.
  size_t cluster_max_output = size_t{64} << 20;
  // --cluster-timeout: each Redis command must be answered within it, or
  // the connection is taken for stuck: dropped, what waited on it failed,
  // and opened again.
  uint32_t cluster_timeout_ms = 5000;
};

}  // namespace hazel
