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

#include "client_id.h"
#include "hazel/builtins.h"
#include "hazel/daemon.h"

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
    "      --max-clients N      connections served at once (default 100000)\n"
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
    "      --log-level LEVEL    error, warn, info or debug (default info)\n"
    "  -h, --help               show this help and exit\n"
    "      --version            print the version and exit\n"
    "\n"
    "The default address 0.0.0.0 accepts clients on every network interface,\n"
    "and nothing is authenticated: any client can read and write the kv store\n"
    "and the rooms. Bind 127.0.0.1 unless the port is meant to be reachable.\n"
    "\n"
    "SIGTERM or SIGINT stops the server: every client gets GOODBYE SHUTDOWN\n"
    "and output gets up to 2 s to drain. Exit status: 0 after a clean stop,\n"
    "1 if the server cannot run (e.g. the port is taken), 2 for a bad command\n"
    "line. With -w, SIGHUP to the master replaces the workers one at a time\n"
    "without refusing a connection, and a worker that dies is restarted.\n";

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

}  // namespace

int main(int argc, char** argv) {
  hazel::Config cfg;
  constexpr uint64_t kU32 = std::numeric_limits<uint32_t>::max();
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
    } else if (a == "--log-level") {
      cfg.log_level = parse_level(value());
    } else {
      usage_error("unknown option '" + std::string(argv[i]) + "'");
    }
  }

  return hazel::run_server(cfg, nullptr, argv);
}
