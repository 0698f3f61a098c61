// ./hazel — parse flags, run a daemon. Exit codes: 0 clean stop, 1 runtime
// failure (e.g. the port is taken), 2 bad command line.
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "client_id.h"
#include "hazel/builtins.h"
#include "hazel/daemon.h"
#include "redis.h"

namespace {

// The help text below states kv's per-key overhead in words.
static_assert(hazel::kv::kKeyOverhead == 128, "update --kv-max-bytes in kUsage");

constexpr const char* kUsage =
    "usage: hazel [options]\n"
    "\n"
    "A single-threaded epoll server for long-lived TCP clients\n"
    "(protocol v1; services sys, echo, kv, room).\n"
    "\n"
    "  -p, --port PORT          TCP port to listen on (default 9000)\n"
    "  -b, --bind ADDR          address to bind, IPv4 or IPv6 (default 0.0.0.0)\n"
    "      --max-frame BYTES    largest frame body accepted (default 1048576)\n"
    "      --idle-timeout MS    close clients silent this long, 0 = never\n"
    "                           (default 60000)\n"
    "      --max-output BYTES   pending output per client before it is closed\n"
    "                           as slow (default 16777216)\n"
    "      --max-input-memory BYTES\n"
    "                           input all clients may hold for frames not\n"
    "                           complete yet; past it the client holding the\n"
    "                           most gets GOODBYE LIMIT (default 268435456)\n"
    "      --max-output-memory BYTES\n"
    "                           output pending across all clients; past it the\n"
    "                           client with the most gets GOODBYE SLOW\n"
    "                           (default 1073741824)\n"
    "      --body-timeout MS    a frame must be complete this long after its\n"
    "                           header arrived, or GOODBYE LIMIT; 0 = never\n"
    "                           (default 10000)\n"
    "      --max-clients N      connections held at once (default 100000),\n"
    "                           counting those still closing\n"
    "      --max-sessions N     requests pending at once (default 100000)\n"
    "      --max-client-sessions N\n"
    "                           requests and SENDs of one client pending\n"
    "                           at once (default 4096)\n"
    "      --kv-max-bytes BYTES\n"
    "                           kv memory for the whole server: keys, values\n"
    "                           and 128 bytes a key; 0 = no limit (default 0)\n"
    "      --kv-evict off|lru   when kv is full, answer SET/INCR BUSY (off) or\n"
    "                           evict least recently used keys (default off)\n"
    "      --max-rooms-per-client N\n"
    "                           rooms one client may be in at once\n"
    "                           (default 1024)\n"
    "      --max-rooms N        rooms the whole server holds (default 1000000)\n"
    "  -w, --workers N|auto     worker processes on the port, sharing clients,\n"
    "                           rooms and keys; auto = one per CPU (default 1)\n"
    "      --ws-port PORT       also serve browsers on PORT: the chat page at /,\n"
    "                           the JavaScript client at /hazel.js, WebSocket\n"
    "                           clients at /ws (default off)\n"
    "      --ws-origin LIST     comma-separated origins a WebSocket may be opened\n"
    "                           from, e.g. https://chat.example.com (default any)\n"
    "      --admin-port PORT    Prometheus /metrics and /healthz on PORT\n"
    "                           (default off)\n"
    "      --admin-bind ADDR    address of the admin port (default 127.0.0.1)\n"
    "      --auth-secret-file PATH\n"
    "                           clients must present a token (sys AUTH: a JWT\n"
    "                           signed HS256 with a key in PATH, one key a line,\n"
    "                           32 bytes or more) for anything but PING and\n"
    "                           HELLO; PATH must be closed to group and others\n"
    "      --rate-limit N       requests and SENDs per second per client, TELL\n"
    "                           and PUBLISH counting each client reached;\n"
    "                           over it BUSY, SENDs dropped (default 0 = none)\n"
    "      --rate-burst N       requests a client may make at once within the\n"
    "                           rate limit (default: the rate limit)\n"
    "      --cluster URL        join the other hazel nodes sharing this Redis,\n"
    "                           redis://[user:password@]host:port[/db]: TELL,\n"
    "                           rooms, kv and INFO span every node (default off)\n"
    "      --cluster-prefix NAME\n"
    "                           prefix of every Redis key and channel, one per\n"
    "                           cluster sharing a Redis (default hazel)\n"
    "      --cluster-heartbeat-ms MS\n"
    "                           a node renews its key this often and is dead\n"
    "                           after 3 missed (default 1000)\n"
    "      --cluster-max-output BYTES\n"
    "                           output to Redis pending before cross-node\n"
    "                           traffic is dropped and kv answers BUSY\n"
    "                           (default 67108864)\n"
    "      --cluster-timeout MS each Redis command must be answered within it,\n"
    "                           or the connection is dropped and opened again\n"
    "                           (default 5000)\n"
    "      --log-level LEVEL    error, warn, info or debug (default info)\n"
    "  -h, --help               show this help and exit\n"
    "      --version            print the version and exit\n"
    "\n"
    "The default address 0.0.0.0 accepts clients on every network interface,\n"
    "and without --auth-secret-file nothing is authenticated: any client can\n"
    "read and write the kv store and the rooms (the server warns at start).\n"
    "Bind 127.0.0.1 unless the port is meant to be reachable. A client over\n"
    "--rate-limit for 10 s running gets GOODBYE LIMIT and is closed.\n"
    "\n"
    "SIGTERM or SIGINT stops the server: every client gets GOODBYE SHUTDOWN\n"
    "and output gets up to 2 s to drain. Exit status: 0 after a clean stop,\n"
    "1 if the server cannot run (e.g. the port is taken, or the secret file\n"
    "is missing, holds no key of 32 bytes or is open to others), 2 for a bad\n"
    "command line. With -w, SIGHUP to the master replaces the workers one at\n"
    "a time without refusing a connection (and makes them read the secret\n"
    "file again), and a worker that dies is restarted.\n"
    "\n"
    "With --cluster every worker is a node. If Redis goes away, kv answers\n"
    "UNAVAILABLE, rooms and TELL keep working within each node, traffic for\n"
    "other nodes is dropped and counted (INFO cluster_dropped), and the nodes\n"
    "join again by themselves when Redis is back.\n";

[[noreturn]] void usage_error(const std::string& msg) {
  fprintf(stderr, "hazel: %s (see hazel --help)\n", msg.c_str());
  exit(2);
}

uint64_t parse_uint(const std::string& flag, const char* text, uint64_t min,
                    uint64_t max) {
  if (text == nullptr) usage_error(flag + " needs a value");
  errno = 0;
  char* end = nullptr;
  unsigned long long v = strtoull(text, &end, 10);
  if (*text == '\0' || *text == '-' || *end != '\0' || errno == ERANGE ||
      v < min || v > max)
    usage_error(flag + ": '" + text + "' is not a number in " +
                std::to_string(min) + ".." + std::to_string(max));
  return v;
}

hazel::LogLevel parse_level(const char* text) {
  if (text == nullptr) usage_error("--log-level needs a value");
  std::string_view t(text);
  if (t == "error") return hazel::LogLevel::kError;
  if (t == "warn") return hazel::LogLevel::kWarn;
  if (t == "info") return hazel::LogLevel::kInfo;
  if (t == "debug") return hazel::LogLevel::kDebug;
  usage_error(std::string("--log-level: '") + text +
              "' is not one of error, warn, info, debug");
}

hazel::KvEvict parse_evict(const char* text) {
  if (text == nullptr) usage_error("--kv-evict needs a value (off or lru)");
  std::string_view t(text);
  if (t == "off") return hazel::KvEvict::kOff;
  if (t == "lru") return hazel::KvEvict::kLru;
  usage_error(std::string("--kv-evict: '") + text + "' is not off or lru");
}

uint16_t parse_workers(const std::string& flag, const char* text) {
  if (text == nullptr) usage_error(flag + " needs a value (a number or auto)");
  if (std::string_view(text) == "auto") {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int n = CPU_COUNT(&set);
    return static_cast<uint16_t>(std::clamp<int>(n, 1, hazel::kMaxWorkers));
  }
  char* end = nullptr;
  errno = 0;
  unsigned long v = strtoul(text, &end, 10);
  if (*text == '\0' || *text == '-' || *end != '\0' || errno != 0 || v < 1 ||
      v > hazel::kMaxWorkers)
    usage_error(flag + ": '" + text + "' is not auto or a number in 1.." +
                std::to_string(hazel::kMaxWorkers));
  return static_cast<uint16_t>(v);
}

// --ws-origin: origins as browsers send them, scheme://host[:port] (or
// "null"), comma-separated. A path or a trailing slash would never match.
std::vector<std::string> parse_origins(const std::string& flag, const char* text) {
  if (text == nullptr) usage_error(flag + " needs a list of origins");
  std::vector<std::string> out;
  std::string_view list(text);
  while (true) {
    size_t comma = list.find(',');
    std::string_view o = list.substr(0, comma);
    size_t scheme = o.find("://");
    bool ok = o == "null" ||
              (scheme != std::string_view::npos && scheme > 0 &&
               o.size() > scheme + 3 &&
               o.find('/', scheme + 3) == std::string_view::npos &&
               o.find_first_of(" \t") == std::string_view::npos);
    if (!ok)
      usage_error(flag + ": '" + std::string(o) +
                  "' is not an origin like https://chat.example.com");
    out.emplace_back(o);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  hazel::Config cfg;
  constexpr uint64_t kU32 = std::numeric_limits<uint32_t>::max();
  bool admin_bind_given = false;
  bool cluster_flag_given = false;
  // A rate of a million a second per client is no limit at all.
  constexpr uint64_t kMaxRate = 1000000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    // --flag=value is accepted as well as --flag value.
    const char* inline_value = nullptr;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      size_t eq = a.find('=');
      inline_value = argv[i] + eq + 1;
      a = a.substr(0, eq);
    }
    auto value = [&]() -> const char* {
      if (inline_value) return inline_value;
      return i + 1 < argc ? argv[++i] : nullptr;
    };
    if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      printf("hazel %s (protocol 1)\n", hazel::version());
      return 0;
    } else if (a == "-p" || a == "--port") {
      cfg.port = static_cast<uint16_t>(parse_uint(a, value(), 0, 65535));
    } else if (a == "-b" || a == "--bind") {
      const char* v = value();
      if (v == nullptr || *v == '\0') usage_error(a + " needs an address");
      cfg.bind = v;
    } else if (a == "--max-frame") {
      cfg.max_frame = static_cast<uint32_t>(parse_uint(a, value(), 1, 1u << 30));
    } else if (a == "--idle-timeout") {
      cfg.idle_timeout_ms = static_cast<uint32_t>(parse_uint(a, value(), 0, kU32));
    } else if (a == "--max-output") {
      cfg.max_output = static_cast<size_t>(
          parse_uint(a, value(), 1024, uint64_t{1} << 40));
    } else if (a == "--max-input-memory") {
      cfg.max_input_memory = static_cast<size_t>(
          parse_uint(a, value(), 65536, uint64_t{1} << 40));
    } else if (a == "--max-output-memory") {
      cfg.max_output_memory = static_cast<size_t>(
          parse_uint(a, value(), 65536, uint64_t{1} << 40));
    } else if (a == "--body-timeout") {
      cfg.body_timeout_ms = static_cast<uint32_t>(parse_uint(a, value(), 0, kU32));
    } else if (a == "--max-clients") {
      cfg.max_clients = static_cast<uint32_t>(parse_uint(a, value(), 1, kU32));
    } else if (a == "--max-sessions") {
      cfg.max_sessions = static_cast<uint32_t>(parse_uint(a, value(), 1, kU32));
    } else if (a == "--max-client-sessions") {
      cfg.max_client_sessions =
          static_cast<uint32_t>(parse_uint(a, value(), 1, kU32));
    } else if (a == "--kv-max-bytes") {
      cfg.kv_max_bytes = parse_uint(a, value(), 0, uint64_t{1} << 50);
    } else if (a == "--kv-evict") {
      cfg.kv_evict = parse_evict(value());
    } else if (a == "--max-rooms-per-client") {
      cfg.max_rooms_per_client =
          static_cast<uint32_t>(parse_uint(a, value(), 1, kU32));
    } else if (a == "--max-rooms") {
      cfg.max_rooms = static_cast<uint32_t>(parse_uint(a, value(), 1, kU32));
    } else if (a == "-w" || a == "--workers") {
      cfg.workers = parse_workers(a, value());
    } else if (a == "--ws-port") {
      cfg.ws_listen = true;
      cfg.ws_port = static_cast<uint16_t>(parse_uint(a, value(), 0, 65535));
    } else if (a == "--ws-origin") {
      cfg.ws_origins = parse_origins(a, value());
    } else if (a == "--admin-port") {
      cfg.admin_listen = true;
      cfg.admin_port = static_cast<uint16_t>(parse_uint(a, value(), 0, 65535));
    } else if (a == "--admin-bind") {
      const char* v = value();
      if (v == nullptr || *v == '\0') usage_error(a + " needs an address");
      cfg.admin_bind = v;
      admin_bind_given = true;
    } else if (a == "--auth-secret-file") {
      const char* v = value();
      if (v == nullptr || *v == '\0') usage_error(a + " needs a path");
      cfg.auth_secret_file = v;
    } else if (a == "--rate-limit") {
      cfg.rate_limit = static_cast<uint32_t>(parse_uint(a, value(), 0, kMaxRate));
    } else if (a == "--rate-burst") {
      cfg.rate_burst = static_cast<uint32_t>(parse_uint(a, value(), 1, kMaxRate));
    } else if (a == "--cluster") {
      const char* v = value();
      if (v == nullptr || *v == '\0') usage_error(a + " needs a redis:// URL");
      hazel::RedisAddress addr;
      std::string why;
      if (!hazel::parse_redis_url(v, &addr, &why))
        usage_error(a + ": '" + v + "': " + why);
      cfg.cluster_url = v;
    } else if (a == "--cluster-prefix") {
      const char* v = value();
      std::string_view p = v ? v : "";
      if (p.empty() || p.size() > 64 ||
          p.find_first_of(" \t\r\n:") != std::string_view::npos)
        usage_error(a + " needs a name of 1..64 bytes without spaces or ':'");
      cfg.cluster_prefix = std::string(p);
      cluster_flag_given = true;
    } else if (a == "--cluster-heartbeat-ms") {
      cfg.cluster_heartbeat_ms =
          static_cast<uint32_t>(parse_uint(a, value(), 10, 60000));
      cluster_flag_given = true;
    } else if (a == "--cluster-max-output") {
      cfg.cluster_max_output = static_cast<size_t>(
          parse_uint(a, value(), 65536, uint64_t{1} << 40));
      cluster_flag_given = true;
    } else if (a == "--cluster-timeout") {
      cfg.cluster_timeout_ms =
          static_cast<uint32_t>(parse_uint(a, value(), 100, 600000));
      cluster_flag_given = true;
    } else if (a == "--log-level") {
      cfg.log_level = parse_level(value());
    } else {
      usage_error("unknown option '" + std::string(argv[i]) + "'");
    }
  }

  // A flag that would do nothing is a mistake worth hearing about.
  if (!cfg.ws_origins.empty() && !cfg.ws_listen)
    usage_error("--ws-origin needs --ws-port");
  if (admin_bind_given && !cfg.admin_listen)
    usage_error("--admin-bind needs --admin-port");
  if (cluster_flag_given && cfg.cluster_url.empty())
    usage_error("--cluster-prefix, --cluster-heartbeat-ms, --cluster-max-output and --cluster-timeout need --cluster");

  if (cfg.rate_burst != 0 && cfg.rate_limit == 0)
    usage_error("--rate-burst needs --rate-limit");
  return hazel::run_server(cfg, nullptr, argv);
}
