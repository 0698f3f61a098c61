#include "bench/options.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iterator>

#include "bench/exit.h"

namespace hazel_bench {

namespace {

constexpr ModeInfo kModes[] = {
    {"ping", Mode::kPing, Wire::kHazel, Shape::kRequests, false,
     "sys PING carrying the payload; the reply must echo it"},
    {"echo", Mode::kEcho, Wire::kHazel, Shape::kRequests, false,
     "echo ECHO request; the reply must echo the payload"},
    {"send", Mode::kSend, Wire::kHazel, Shape::kRequests, false,
     "one-way echo SEND; each comes back as a PUSH (depth = SENDs out)"},
    {"kv-get", Mode::kKvGet, Wire::kHazel, Shape::kRequests, true,
     "SET bench:key to the payload once, then GET it"},
    {"kv-set", Mode::kKvSet, Wire::kHazel, Shape::kRequests, true,
     "SET bench:key to the payload"},
    {"publish", Mode::kPublish, Wire::kHazel, Shape::kFanOut, false,
     "-c members JOIN room bench, one more connection PUBLISHes to it"},
    {"tell", Mode::kTell, Wire::kHazel, Shape::kRequests, false,
     "sys TELL a partner (--peer); time the REPLY, check the PUSH"},
    {"idle", Mode::kIdle, Wire::kHazel, Shape::kIdle, false,
     "open -c connections, PING once on each, hold them for -t seconds"},
    {"raw", Mode::kRaw, Wire::kRaw, Shape::kRequests, false,
     "write payload-sized chunks to an echo server, await each back"},
    {"resp-ping", Mode::kRespPing, Wire::kResp, Shape::kRequests, false,
     "Redis PING, expects +PONG"},
    {"resp-get", Mode::kRespGet, Wire::kResp, Shape::kRequests, true,
     "Redis SET bench:key once, then GET it"},
    {"resp-set", Mode::kRespSet, Wire::kResp, Shape::kRequests, true,
     "Redis SET bench:key to the payload"},
    {"resp-publish", Mode::kRespPublish, Wire::kResp, Shape::kFanOut, false,
     "-c members SUBSCRIBE bench, one more connection PUBLISHes to it"},
    {"resp-idle", Mode::kRespIdle, Wire::kResp, Shape::kIdle, false,
     "like idle, with a Redis PING"},
    {"resp-echo", Mode::kRespEcho, Wire::kResp, Shape::kRequests, false,
     "Redis ECHO of the payload, expects it back"},
    {"loris", Mode::kLoris, Wire::kHazel, Shape::kLoris, false,
     "slow-loris attack: -c connections each announce an ECHO of -s\n"
     "                    bytes and trickle it (1/100 every 100 ms) but for\n"
     "                    its last byte; one the server closes is reopened"},
};

// Whole-string decimal parse; partial numbers like "10x" are usage errors.
unsigned long long parse_count(const char* flag, const char* text,
                               unsigned long long lo, unsigned long long hi) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < lo ||
      v > hi) {
    usage_error("%s needs a whole number in %llu..%llu, got '%s'", flag, lo, hi,
                text);
  }
  return v;
}

double parse_seconds(const char* flag, const char* text, double lo) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !(v >= lo) || v > 86400) {
    usage_error("%s needs seconds (>= %g), got '%s'", flag, lo, text);
  }
  return v;
}

}  // namespace

void print_usage(FILE* out) {
  std::fprintf(out,
               "usage: hazel-bench [options]\n"
               "  -H host       server address (default 127.0.0.1)\n"
               "  -p port       server port (default 9000)\n"
               "  -c n          connections; members in publish modes "
               "(default 50)\n"
               "  -d n          requests in flight per connection (default 1)\n"
               "  -t seconds    measured duration (default 10)\n"
               "  --warmup s    unmeasured lead-in (default 1)\n"
               "  -s bytes      payload size (default 16)\n"
               "  -m mode       what to send (default ping), one of:\n");
  for (const ModeInfo& m : kModes) {
    std::fprintf(out, "      %-13.*s %s\n", static_cast<int>(m.name.size()),
                 m.name.data(), m.what);
  }
  std::fprintf(
      out,
      "  --keys n      kv-get, kv-set, resp-get, resp-set: spread the requests\n"
      "                round-robin over n keys bench:key:0.. (default 1: the\n"
      "                single key bench:key)\n"
      "  --peer p      tell: local (default) TELLs a connection on the same\n"
      "                worker process, remote one on another worker (HELLO\n"
      "                says which worker each connection is on)\n"
      "  --ws          speak WebSocket to -p (a hazel --ws-port): upgrade on\n"
      "                GET /ws, then each frame as one masked binary message\n"
      "  --token t     sys AUTH with token t on every connection before the\n"
      "                run (a server with --auth-secret-file)\n"
      "  --server-pid pid\n"
      "                measure the CPU time of this process and all its\n"
      "                descendants over the timed run, and report operations\n"
      "                per server CPU-second\n"
      "  -q            no per-second progress on stderr\n"
      "  --json        print the summary as one JSON object\n"
      "  -h, --help    this text\n"
      "Exit status: 0 all replies correct, 1 errors or a failed "
      "connection, 2 bad usage.\n");
}

Options parse_args(int argc, char** argv) {
  Options o;
  o.mode = &kModes[0];
  bool keys_given = false;
  bool peer_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      print_usage(stdout);
      std::exit(kExitOk);
    }
    if (flag == "-q") {
      o.quiet = true;
      continue;
    }
    if (flag == "--json") {
      o.json = true;
      continue;
    }
    if (flag == "--ws") {
      o.ws = true;
      continue;
    }
    static constexpr std::string_view kValueFlags[] = {
        "-H", "-p",     "-c",     "-d",          "-t",
        "--warmup", "-s", "-m", "--keys", "--peer", "--server-pid", "--token"};
    if (std::find(std::begin(kValueFlags), std::end(kValueFlags), flag) ==
        std::end(kValueFlags)) {
      usage_error("unknown flag %s", argv[i]);
    }
    if (i + 1 >= argc) usage_error("%s needs a value", argv[i]);
    const char* value = argv[++i];
    const std::string_view v = value;
    if (flag == "-H") {
      o.host = value;
    } else if (flag == "-p") {
      o.port = static_cast<uint16_t>(parse_count("-p", value, 1, 65535));
    } else if (flag == "-c") {
      o.connections = parse_count("-c", value, 1, kMaxConnections);
    } else if (flag == "-d") {
      o.depth = parse_count("-d", value, 1, kMaxDepth);
    } else if (flag == "-t") {
      o.seconds = parse_seconds("-t", value, 0.001);
    } else if (flag == "--warmup") {
      o.warmup = parse_seconds("--warmup", value, 0);
    } else if (flag == "-s") {
      o.payload = parse_count("-s", value, 0, hazel::kDefaultMaxFrame);
    } else if (flag == "--keys") {
      o.keys = parse_count("--keys", value, 1, kMaxKeys);
      keys_given = true;
    } else if (flag == "--peer") {
      if (v == "local") {
        o.peer = Peer::kLocal;
      } else if (v == "remote") {
        o.peer = Peer::kRemote;
      } else {
        usage_error("--peer needs local or remote, got '%s'", value);
      }
      peer_given = true;
    } else if (flag == "--token") {
      if (v.empty()) usage_error("--token needs a token");
      o.token = value;
    } else if (flag == "--server-pid") {
      o.server_pid = static_cast<pid_t>(
          parse_count("--server-pid", value, 1, 0x7fffffff));
    } else if (flag == "-m") {
      const ModeInfo* found = nullptr;
      for (const ModeInfo& m : kModes) {
        if (m.name == v) found = &m;
      }
      if (found == nullptr) usage_error("unknown mode '%s'", value);
      o.mode = found;
    }
  }
  if (o.payload > kMaxPayload && o.mode->mode != Mode::kLoris) {
    usage_error("-s needs a whole number in 0..%zu, got '%zu'", kMaxPayload,
                o.payload);
  }
  if (o.mode->wire == Wire::kRaw && o.payload == 0) {
    usage_error("raw mode needs -s of at least 1 byte");
  }
  if (keys_given && !o.mode->keyed) {
    usage_error("--keys is for kv-get, kv-set, resp-get and resp-set");
  }
  if (peer_given && o.mode->mode != Mode::kTell) {
    usage_error("--peer is for tell mode");
  }
  if (!o.token.empty() && o.mode->wire != Wire::kHazel) {
    usage_error("--token is for the hazel modes");
  }
  if (o.ws && (o.mode->wire != Wire::kHazel || o.mode->shape == Shape::kLoris)) {
    usage_error("--ws is for the hazel modes but loris");
  }
  if (o.mode->mode == Mode::kTell && o.connections < 2) {
    usage_error("tell mode needs -c of at least 2: a partner for each");
  }
  return o;
}

}  // namespace hazel_bench
