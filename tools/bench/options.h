// hazel-bench's command line: the modes it can run and the flags that shape a
// run. parse_args() ends the process with a message on a bad command line.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "hazel/frame.h"

namespace hazel_bench {

enum class Mode : uint8_t {
  kPing,
  kEcho,
  kSend,
  kKvGet,
  kKvSet,
  kPublish,
  kTell,
  kIdle,
  kRaw,
  kRespPing,
  kRespGet,
  kRespSet,
  kRespPublish,
  kRespIdle,
  kRespEcho,
  kLoris,
};
enum class Wire : uint8_t { kHazel, kResp, kRaw };
// kRequests: every connection sends timed requests. kFanOut: -c members
// receive what one extra publisher connection sends. kIdle: connect, one
// ping, hold.
// kLoris: connections that announce -s byte frames and never finish them
// (see loris.h).
enum class Shape : uint8_t { kRequests, kFanOut, kIdle, kLoris };
// Which partner a connection TELLs in tell mode: one on its own worker
// process, or one on another worker.
enum class Peer : uint8_t { kLocal, kRemote };

struct ModeInfo {
  std::string_view name;
  Mode mode;
  Wire wire;
  Shape shape;
  bool keyed;  // takes --keys
  const char* what;
};

// Room for the largest envelope (a room delivery adds 14 bytes) in max_frame.
inline constexpr size_t kMaxPayload = hazel::kDefaultMaxFrame - 64;
inline constexpr size_t kMaxConnections = 1'000'000;
inline constexpr size_t kMaxDepth = 65536;
inline constexpr size_t kMaxKeys = 1'000'000;

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 9000;
  size_t connections = 50;
  size_t depth = 1;
  double seconds = 10;
  double warmup = 1;
  size_t payload = 16;
  const ModeInfo* mode = nullptr;  // parse_args sets it (default ping)
  size_t keys = 1;                 // distinct keys for kv and resp get/set
  Peer peer = Peer::kLocal;
  pid_t server_pid = 0;  // 0: do not measure the server's CPU time
  bool ws = false;  // --ws: over WebSocket (bench/ws.h), -p is the --ws-port
  bool quiet = false;
  bool json = false;
  std::string token;  // sys AUTH with it on every connection, before the run
};

Options parse_args(int argc, char** argv);
void print_usage(FILE* out);

}  // namespace hazel_bench
