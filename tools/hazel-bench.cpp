// hazel-bench — a closed-loop load generator for hazel, Redis and a raw echo
// server, so that one table can compare the three on the same machine.
//
// Closed loop: every connection keeps exactly `depth` requests in flight and
// sends a new one only when a reply comes back, so the rate reported is what
// the server sustains, not what the generator pushes. Latency is measured per
// request, from the moment it is queued to the moment its reply is read, with
// a FIFO of send times on each connection.
//
// Every reply is checked against what the protocol promises (kind, status,
// session, service, body; for RESP, the exact reply bytes). A benchmark that
// counts wrong answers as work measures nothing, so a mismatch is counted,
// shown, and makes the exit status 1.
//
// One thread, one epoll instance, level-triggered. Self-contained on purpose:
// it uses only the inline helpers and constants of hazel/frame.h and does not
// link libhazel.a, so it can measure any server that speaks the protocol.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "hazel/builtins.h"
#include "hazel/frame.h"

namespace {

using hazel::FrameHeader;
using hazel::get_u16;
using hazel::get_u32;
using hazel::get_u64;
using hazel::kHeaderSize;
using hazel::Kind;
using hazel::put_u16;
using hazel::put_u32;
using hazel::put_u64;

constexpr size_t kNone = static_cast<size_t>(-1);

// Services and ops (hazel/builtins.h, docs/PROTOCOL.md).
constexpr uint16_t kSysService = hazel::sys::kId;
constexpr uint16_t kEchoService = hazel::echo::kId;
constexpr uint16_t kKvService = hazel::kv::kId;
constexpr uint16_t kRoomService = hazel::room::kId;
constexpr uint16_t kOpPing = hazel::sys::kPing;
constexpr uint16_t kOpHello = hazel::sys::kHello;
constexpr uint16_t kOpEcho = hazel::echo::kEcho;
constexpr uint16_t kOpGet = hazel::kv::kGet;
constexpr uint16_t kOpSet = hazel::kv::kSet;
constexpr uint16_t kOpJoin = hazel::room::kJoin;
constexpr uint16_t kOpPublish = hazel::room::kPublish;
constexpr uint16_t kStatusOk = static_cast<uint16_t>(hazel::Status::kOk);
constexpr std::string_view kBenchKey = "bench:key";
constexpr std::string_view kBenchRoom = "bench";

constexpr uint64_t kNsPerSec = 1'000'000'000;
constexpr size_t kReadBufferSize = 256 * 1024;
constexpr int kMaxEvents = 512;
// Opening thousands of sockets at once overflows the server's accept queue,
// and every dropped handshake costs a one-second retransmit. A connection
// counts as opening until its setup is answered, which proves the server has
// accepted it.
constexpr size_t kMaxOpening = 256;
constexpr double kSetupTimeoutSec = 30.0;
constexpr uint64_t kMaxErrorReports = 5;
// Room for the largest envelope (a room delivery adds 14 bytes) in max_frame.
constexpr size_t kMaxPayload = hazel::kDefaultMaxFrame - 64;
constexpr size_t kMaxConnections = 1'000'000;
constexpr size_t kMaxDepth = 65536;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// ---- modes ------------------------------------------------------------------

enum class Mode : uint8_t {
  kPing,
  kEcho,
  kSend,
  kKvGet,
  kKvSet,
  kPublish,
  kIdle,
  kRaw,
  kRespPing,
  kRespGet,
  kRespSet,
  kRespPublish,
  kRespIdle,
};
enum class Wire : uint8_t { kHazel, kResp, kRaw };
// kRequests: every connection is a worker. kFanOut: -c members receive what
// one extra publisher connection sends. kIdle: connect, one ping, hold.
enum class Shape : uint8_t { kRequests, kFanOut, kIdle };

struct ModeInfo {
  std::string_view name;
  Mode mode;
  Wire wire;
  Shape shape;
  const char* what;
};

constexpr ModeInfo kModes[] = {
    {"ping", Mode::kPing, Wire::kHazel, Shape::kRequests,
     "sys PING carrying the payload; the reply must echo it"},
    {"echo", Mode::kEcho, Wire::kHazel, Shape::kRequests,
     "echo ECHO request; the reply must echo the payload"},
    {"send", Mode::kSend, Wire::kHazel, Shape::kRequests,
     "one-way echo SEND; each comes back as a PUSH (depth = SENDs out)"},
    {"kv-get", Mode::kKvGet, Wire::kHazel, Shape::kRequests,
     "SET bench:key to the payload once, then GET it"},
    {"kv-set", Mode::kKvSet, Wire::kHazel, Shape::kRequests,
     "SET bench:key to the payload"},
    {"publish", Mode::kPublish, Wire::kHazel, Shape::kFanOut,
     "-c members JOIN room bench, one more connection PUBLISHes to it"},
    {"idle", Mode::kIdle, Wire::kHazel, Shape::kIdle,
     "open -c connections, PING once on each, hold them for -t seconds"},
    {"raw", Mode::kRaw, Wire::kRaw, Shape::kRequests,
     "write payload-sized chunks to an echo server, await each back"},
    {"resp-ping", Mode::kRespPing, Wire::kResp, Shape::kRequests,
     "Redis PING, expects +PONG"},
    {"resp-get", Mode::kRespGet, Wire::kResp, Shape::kRequests,
     "Redis SET bench:key once, then GET it"},
    {"resp-set", Mode::kRespSet, Wire::kResp, Shape::kRequests,
     "Redis SET bench:key to the payload"},
    {"resp-publish", Mode::kRespPublish, Wire::kResp, Shape::kFanOut,
     "-c members SUBSCRIBE bench, one more connection PUBLISHes to it"},
    {"resp-idle", Mode::kRespIdle, Wire::kResp, Shape::kIdle,
     "like idle, with a Redis PING"},
};

// Status and GOODBYE names, local because frame.h's are not inline.
constexpr const char* kStatusNames[] = {
    "OK",      "BAD_REQUEST", "NO_SERVICE", "NO_OP", "NOT_FOUND",
    "TIMEOUT", "UNAVAILABLE", "TOO_LARGE",  "BUSY",  "INTERNAL",
};
constexpr const char* kGoodbyeNames[] = {
    "?", "PROTOCOL", "TOO_LARGE", "IDLE", "SLOW", "SHUTDOWN", "FULL", "KICKED",
};

const char* status_name(uint16_t code) {
  return code < std::size(kStatusNames) ? kStatusNames[code] : "?";
}
const char* goodbye_name(uint16_t code) {
  return code < std::size(kGoodbyeNames) ? kGoodbyeNames[code] : "?";
}

// ---- options ----------------------------------------------------------------

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 9000;
  size_t connections = 50;
  size_t depth = 1;
  double seconds = 10;
  double warmup = 1;
  size_t payload = 16;
  const ModeInfo* mode = &kModes[0];
  bool quiet = false;
  bool json = false;
};

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
  std::fprintf(out,
               "  -q            no per-second progress on stderr\n"
               "  --json        print the summary as one JSON object\n"
               "  -h, --help    this text\n"
               "Exit status: 0 all replies correct, 1 errors or a failed "
               "connection, 2 bad usage.\n");
}

[[noreturn]] void usage_error(const char* fmt, ...) {
  std::fputs("hazel-bench: ", stderr);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputs("\n(try hazel-bench --help)\n", stderr);
  std::exit(kExitUsage);
}

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

Options parse_args(int argc, char** argv) {
  Options o;
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
    static constexpr std::string_view kValueFlags[] = {
        "-H", "-p", "-c", "-d", "-t", "--warmup", "-s", "-m"};
    if (std::find(std::begin(kValueFlags), std::end(kValueFlags), flag) ==
        std::end(kValueFlags)) {
      usage_error("unknown flag %s", argv[i]);
    }
    if (i + 1 >= argc) usage_error("%s needs a value", argv[i]);
    const char* value = argv[++i];
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
      o.payload = parse_count("-s", value, 0, kMaxPayload);
    } else if (flag == "-m") {
      const ModeInfo* found = nullptr;
      for (const ModeInfo& m : kModes) {
        if (m.name == value) found = &m;
      }
      if (found == nullptr) usage_error("unknown mode '%s'", value);
      o.mode = found;
    }
  }
  if (o.mode->wire == Wire::kRaw && o.payload == 0) {
    usage_error("raw mode needs -s of at least 1 byte");
  }
  return o;
}

// ---- time and latency -------------------------------------------------------

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kNsPerSec +
         static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t seconds_to_ns(double s) {
  return static_cast<uint64_t>(s * static_cast<double>(kNsPerSec));
}

// Log-linear histogram in the manner of HdrHistogram. Values below 64 get a
// bucket each; every power of two above is split into 64 equal buckets:
//
//   index  0..63     value 0..63, exact
//   index  64..127   [64, 128)   in steps of 1
//   index 128..191   [128, 256)  in steps of 2
//   ...              [2^k, 2^(k+1)) in steps of 2^(k-6)
//
// so a recorded value is known to within 1/64 (1.6 %) and the whole u64 range
// fits in 3,776 counters. Recording is a bit_width and a shift; percentiles
// walk the counters once. Samples are never stored or sorted.
class Histogram {
 public:
  void record(uint64_t v) {
    ++counts_[index_of(v)];
    ++total_;
    max_ = std::max(max_, v);
  }
  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }

  // Smallest bucket bound below which `pct` percent of samples lie, reported
  // as the bucket's highest value (clamped to the true max).
  uint64_t percentile(double pct) const {
    if (total_ == 0) return 0;
    auto want = static_cast<uint64_t>(
        std::ceil(static_cast<double>(total_) * pct / 100.0));
    want = std::clamp<uint64_t>(want, 1, total_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= want) return std::min(highest_of(i), max_);
    }
    return max_;
  }

 private:
  static constexpr unsigned kSubBits = 6;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;  // 64
  static constexpr size_t kBuckets = kSub + (64 - kSubBits) * kSub;

  static size_t index_of(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    unsigned shift = static_cast<unsigned>(std::bit_width(v)) - 1 - kSubBits;
    return static_cast<size_t>(kSub + shift * kSub + ((v >> shift) - kSub));
  }
  static uint64_t highest_of(size_t i) {
    if (i < kSub) return i;
    uint64_t shift = (i - kSub) / kSub;
    uint64_t sub = (i - kSub) % kSub;
    return ((kSub + sub + 1) << shift) - 1;
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

// ---- per-connection request FIFO -------------------------------------------

// A request on the wire: its session (hazel), when it was queued, and
// whether it belongs to the untimed setup (SET, JOIN, SUBSCRIBE, HELLO).
struct Pending {
  uint64_t sent_ns;
  uint32_t session;
  bool setup;
};

// FIFO of requests in flight: a ring that doubles when full. Replies nearly
// always come back in order, so the usual match is the oldest entry and is
// O(1); std::deque would do the same but allocates ~0.5 KiB even while empty,
// which is 5 MB for the idle mode's 10,000 connections.
class PendingQueue {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  const Pending& at(size_t i) const { return slots_[wrap(head_ + i)]; }

  void push(const Pending& p) {
    if (size_ == slots_.size()) grow();
    slots_[wrap(head_ + size_)] = p;
    ++size_;
  }
  Pending pop() {
    Pending p = slots_[head_];
    head_ = wrap(head_ + 1);
    --size_;
    return p;
  }
  // Removes entry i (0 = oldest), keeping the others in order.
  Pending take(size_t i) {
    Pending p = at(i);
    for (; i > 0; --i) slots_[wrap(head_ + i)] = at(i - 1);
    pop();
    return p;
  }
  size_t find_session(uint32_t session) const {
    for (size_t i = 0; i < size_; ++i) {
      if (at(i).session == session) return i;
    }
    return kNone;
  }

 private:
  size_t wrap(size_t i) const { return i & (slots_.size() - 1); }
  void grow() {
    std::vector<Pending> bigger(std::max<size_t>(4, slots_.size() * 2));
    for (size_t i = 0; i < size_; ++i) bigger[i] = at(i);
    slots_.swap(bigger);
    head_ = 0;
  }

  std::vector<Pending> slots_;  // capacity is always a power of two
  size_t head_ = 0;
  size_t size_ = 0;
};

// ---- encoding ---------------------------------------------------------------

// Alphanumeric and position-dependent, so a shifted or truncated echo cannot
// compare equal by accident and a dump stays readable.
std::string make_payload(size_t n) {
  static constexpr std::string_view kAlphabet =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = kAlphabet[i % kAlphabet.size()];
  return s;
}

void append_frame(std::string& out, Kind kind, uint16_t service, uint16_t code,
                  uint32_t session, std::string_view body) {
  uint8_t h[kHeaderSize];
  h[0] = hazel::kMagic0;
  h[1] = hazel::kMagic1;
  h[2] = hazel::kProtocolVersion;
  h[3] = static_cast<uint8_t>(kind);
  put_u16(h + 4, service);
  put_u16(h + 6, code);
  put_u32(h + 8, session);
  put_u32(h + 12, static_cast<uint32_t>(body.size()));
  out.append(reinterpret_cast<const char*>(h), kHeaderSize);
  out.append(body);
}

std::string be_u16(uint16_t v) {
  std::string s(2, '\0');
  put_u16(reinterpret_cast<uint8_t*>(s.data()), v);
  return s;
}
std::string be_u32(uint32_t v) {
  std::string s(4, '\0');
  put_u32(reinterpret_cast<uint8_t*>(s.data()), v);
  return s;
}

std::string room_prefix() {
  return std::string(1, static_cast<char>(kBenchRoom.size())) +
         std::string(kBenchRoom);
}

std::string resp_bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

std::string resp_command(std::initializer_list<std::string_view> args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (std::string_view a : args) s += resp_bulk(a);
  return s;
}

// Length of the complete RESP2 value at the start of `p`: > 0 its size in
// bytes, 0 if more bytes are needed, -1 if the bytes are not RESP. Only finds
// boundaries: replies are then compared byte for byte with what is expected.
constexpr size_t kMaxRespLine = 64;
constexpr int kMaxRespNesting = 4;

long resp_length(const uint8_t* p, size_t n, int nesting = 0) {
  if (n == 0) return 0;
  const void* cr = std::memchr(p, '\r', std::min(n, kMaxRespLine));
  if (cr == nullptr) return n >= kMaxRespLine ? -1 : 0;
  size_t line = static_cast<size_t>(static_cast<const uint8_t*>(cr) - p);
  if (line + 2 > n) return 0;
  if (p[line + 1] != '\n') return -1;
  size_t head = line + 2;
  char type = static_cast<char>(p[0]);
  if (type == '+' || type == '-' || type == ':') return static_cast<long>(head);
  if (type != '$' && type != '*') return -1;

  std::string digits(reinterpret_cast<const char*>(p + 1), line - 1);
  char* end = nullptr;
  long count = std::strtol(digits.c_str(), &end, 10);
  if (digits.empty() || *end != '\0' || count < -1) return -1;
  if (count == -1) return static_cast<long>(head);  // null bulk or array
  auto ucount = static_cast<size_t>(count);
  if (type == '$') {
    if (ucount > hazel::kDefaultMaxFrame) return -1;
    if (n < head + ucount + 2) return 0;
    if (p[head + ucount] != '\r' || p[head + ucount + 1] != '\n') return -1;
    return static_cast<long>(head + ucount + 2);
  }
  if (nesting >= kMaxRespNesting) return -1;
  size_t total = head;
  for (size_t i = 0; i < ucount; ++i) {
    long len = resp_length(p + total, n - total, nesting + 1);
    if (len <= 0) return len;
    total += static_cast<size_t>(len);
  }
  return static_cast<long>(total);
}

// `got` must equal `want`, except that the 8 bytes at `seq_at` carry a
// publish sequence number, which is returned through `seq` (unless seq_at is
// kNone).
bool matches_sequenced(std::string_view got, std::string_view want,
                       size_t seq_at, uint64_t* seq) {
  if (got.size() != want.size()) return false;
  if (seq_at == kNone) return got == want;
  *seq = get_u64(reinterpret_cast<const uint8_t*>(got.data() + seq_at));
  return got.substr(0, seq_at) == want.substr(0, seq_at) &&
         got.substr(seq_at + 8) == want.substr(seq_at + 8);
}

// Printable excerpt of received bytes for error messages.
std::string excerpt(std::string_view bytes) {
  constexpr size_t kMaxShown = 48;
  std::string s;
  for (size_t i = 0; i < bytes.size() && i < kMaxShown; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') {
      s += "\\r";
    } else if (c == '\n') {
      s += "\\n";
    } else if (c >= 0x20 && c < 0x7f && c != '\\') {
      s += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      s += hex;
    }
  }
  if (bytes.size() > kMaxShown) s += "...";
  return s;
}

// ---- what a run sends and expects -------------------------------------------

// Everything that is the same for every request of a run, encoded once: the
// per-request work is then one append plus patching a session id or a
// sequence number in place.
struct Workload {
  std::string payload;
  std::string request;        // one timed request, as bytes on the wire
  size_t session_at = kNone;  // offset of the hazel session in `request`
  size_t seq_at = kNone;      // offset of the publish sequence in `request`
  // Hazel: the frame that answers `request`. RESP: the exact reply bytes.
  Kind reply_kind = Kind::kReply;
  uint16_t reply_service = 0;
  uint16_t reply_code = kStatusOk;
  std::string reply;
  // Fan-out: what a member receives (hazel PUSH body, or RESP message bytes)
  // and the offset of the sequence number inside it.
  std::string delivery;
  size_t delivery_seq_at = kNone;
  size_t delivery_pubid_at = kNone;  // hazel: publisher id, known after HELLO
  std::string resp_setup_reply;      // RESP: exact reply to the setup command
};

// The 8 bytes at the start of a publish payload carry a sequence number so a
// member can tell lost or reordered deliveries; shorter payloads go unnumbered.
size_t sequence_offset(size_t payload) { return payload >= 8 ? 0 : kNone; }

size_t plus(size_t base, size_t off) {
  return off == kNone ? kNone : base + off;
}

Workload make_workload(const Options& o) {
  Workload w;
  w.payload = make_payload(o.payload);
  const std::string& pl = w.payload;
  const std::string key(kBenchKey);
  const auto members = static_cast<uint32_t>(o.connections);
  switch (o.mode->mode) {
    case Mode::kPing:
    case Mode::kIdle:
      append_frame(w.request, Kind::kRequest, kSysService, kOpPing, 0, pl);
      w.reply_service = kSysService;
      w.reply = pl;
      break;
    case Mode::kEcho:
      append_frame(w.request, Kind::kRequest, kEchoService, kOpEcho, 0, pl);
      w.reply_service = kEchoService;
      w.reply = pl;
      break;
    case Mode::kSend:
      append_frame(w.request, Kind::kSend, kEchoService, kOpEcho, 0, pl);
      w.reply_kind = Kind::kPush;
      w.reply_service = kEchoService;
      w.reply_code = kOpEcho;
      w.reply = pl;
      break;
    case Mode::kKvGet:
      append_frame(w.request, Kind::kRequest, kKvService, kOpGet, 0, key);
      w.reply_service = kKvService;
      w.reply = pl;
      break;
    case Mode::kKvSet:
      append_frame(
          w.request, Kind::kRequest, kKvService, kOpSet, 0,
          be_u16(static_cast<uint16_t>(key.size())) + key + be_u32(0) + pl);
      w.reply_service = kKvService;
      break;
    case Mode::kPublish: {
      std::string body = room_prefix() + pl;
      append_frame(w.request, Kind::kRequest, kRoomService, kOpPublish, 0,
                   body);
      w.seq_at =
          plus(kHeaderSize + room_prefix().size(), sequence_offset(pl.size()));
      w.reply_service = kRoomService;
      w.reply = be_u32(members);
      w.delivery = room_prefix() + std::string(8, '\0') + pl;
      w.delivery_pubid_at = room_prefix().size();
      w.delivery_seq_at =
          plus(room_prefix().size() + 8, sequence_offset(pl.size()));
      break;
    }
    case Mode::kRaw:
      w.request = pl;
      w.reply = pl;
      break;
    case Mode::kRespPing:
    case Mode::kRespIdle:
      w.request = resp_command({"PING"});
      w.reply = "+PONG\r\n";
      w.resp_setup_reply = w.reply;
      break;
    case Mode::kRespGet:
      w.request = resp_command({"GET", key});
      w.reply = resp_bulk(pl);
      w.resp_setup_reply = "+OK\r\n";
      break;
    case Mode::kRespSet:
      w.request = resp_command({"SET", key, pl});
      w.reply = "+OK\r\n";
      break;
    case Mode::kRespPublish: {
      w.request = resp_command({"PUBLISH", kBenchRoom, pl});
      w.seq_at =
          plus(w.request.size() - pl.size() - 2, sequence_offset(pl.size()));
      w.reply = ":" + std::to_string(members) + "\r\n";
      w.delivery = "*3\r\n" + resp_bulk("message") + resp_bulk(kBenchRoom) +
                   resp_bulk(pl);
      w.delivery_seq_at =
          plus(w.delivery.size() - pl.size() - 2, sequence_offset(pl.size()));
      w.resp_setup_reply =
          "*3\r\n" + resp_bulk("subscribe") + resp_bulk(kBenchRoom) + ":1\r\n";
      break;
    }
  }
  if (o.mode->wire == Wire::kHazel && w.reply_kind == Kind::kReply) {
    w.session_at = 8;  // the header's session field
  }
  return w;
}

// ---- connections ------------------------------------------------------------

enum class Role : uint8_t { kWorker, kMember, kPublisher };

struct Conn {
  int fd_ = -1;
  Role role_ = Role::kWorker;
  bool connected_ = false;
  bool ready_ = false;     // connected and every setup reply is in
  bool want_out_ = false;  // EPOLLOUT is registered
  uint32_t next_session_ = 1;
  uint64_t next_seq_ = 0;  // publisher: sequence stamped into the next publish
  uint64_t expect_seq_ = 0;  // member: sequence the next delivery should carry
  size_t raw_echoed_ = 0;    // raw: bytes of the oldest chunk echoed so far
  bool raw_bad_ = false;     // raw: the oldest chunk came back different
  PendingQueue pending_;
  std::string in_;   // an incomplete reply carried over to the next read
  std::string out_;  // requests not yet written
  size_t out_off_ = 0;
};

// ---- the run ----------------------------------------------------------------

// SIGINT or SIGTERM ends the run early; the summary still covers what was
// measured. The signal is raised again afterwards (see main).
volatile sig_atomic_t g_interrupted = 0;
void on_interrupt(int sig) { g_interrupted = sig; }

struct Summary {
  double duration_s = 0;
  uint64_t requests = 0;    // timed replies (publishes in fan-out modes)
  uint64_t deliveries = 0;  // fan-out: pushes received by members
  uint64_t errors = 0;
  double rate = 0;  // requests/s, or deliveries/s in fan-out modes
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  double connect_s = 0;  // idle: time to open and ping every connection
};

class Bench {
 public:
  Bench(const Options& o, const addrinfo& addr)
      : opt_(o),
        shape_(o.mode->shape),
        wire_(o.mode->wire),
        work_(make_workload(o)),
        addr_(addr),
        rbuf_(kReadBufferSize) {
    size_t n = o.connections + (shape_ == Shape::kFanOut ? 1 : 0);
    conns_.resize(n);
    if (shape_ == Shape::kFanOut) {
      for (size_t i = 0; i < o.connections; ++i)
        conns_[i].role_ = Role::kMember;
      conns_.back().role_ = Role::kPublisher;
    }
  }
  ~Bench() {
    for (Conn& c : conns_) {
      if (c.fd_ >= 0) close(c.fd_);
    }
    if (epfd_ >= 0) close(epfd_);
  }

  // Runs to the end and returns the exit status.
  int run();

 private:
  void loop();
  int timeout_ms(uint64_t now) const;
  void tick(uint64_t now);
  void start_run(uint64_t now);

  void start_connect(size_t i);
  void on_connected(Conn& c);
  void on_event(Conn& c, uint32_t events);
  void on_readable(Conn& c);
  void want_output(Conn& c, bool on);
  void flush(Conn& c);

  size_t consume(Conn& c, const uint8_t* p, size_t n);
  size_t consume_hazel(Conn& c, const uint8_t* p, size_t n);
  size_t consume_resp(Conn& c, const uint8_t* p, size_t n);
  size_t consume_raw(Conn& c, const uint8_t* p, size_t n);
  void on_frame(Conn& c, const FrameHeader& f, std::string_view body);
  void on_hazel_reply(Conn& c, const FrameHeader& f, std::string_view body);
  void on_hazel_push(Conn& c, const FrameHeader& f, std::string_view body);
  void on_resp_value(Conn& c, std::string_view bytes);

  bool check_reply(const FrameHeader& f, std::string_view body,
                   std::string* why) const;
  bool check_setup_reply(Conn& c, const FrameHeader& f, std::string_view body,
                         std::string* why);
  bool check_delivery(Conn& c, std::string_view got, std::string* why);
  bool check_status(const FrameHeader& f, uint16_t service,
                    std::string_view body, std::string* why) const;

  void append_setup(Conn& c);
  void append_request(Conn& c);
  void fill(Conn& c);
  void complete(Conn& c, const Pending& p, bool ok, const std::string& why);
  void setup_done(Conn& c, bool ok, const std::string& why);
  void deliver(Conn& c, bool ok, const std::string& why);

  void count_error(const Conn& c, const std::string& why);
  void count_lost_replies(uint64_t end_ns);
  void fail(Conn& c, const char* fmt, ...)
      __attribute__((format(printf, 3, 4)));
  void fatal(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  size_t index_of(const Conn& c) const {
    return static_cast<size_t>(&c - conns_.data());
  }
  bool measuring() const {
    return running_ && now_ >= measure_start_ns_ && now_ < measure_end_ns_;
  }

  Summary summarize(uint64_t end_ns) const;
  void print_summary(const Summary& s) const;
  void print_json(const Summary& s) const;

  const Options& opt_;
  const Shape shape_;
  const Wire wire_;
  Workload work_;
  const addrinfo& addr_;
  std::vector<Conn> conns_;
  std::vector<uint8_t> rbuf_;  // one receive buffer for every connection
  int epfd_ = -1;

  uint64_t now_ = 0;  // time of the read being handled, shared by its replies
  size_t next_connect_ = 0;
  size_t opening_ = 0;  // connects started, setup not yet answered
  size_t ready_ = 0;
  bool running_ = false;  // the barrier has passed: timed requests flow
  bool stop_ = false;
  bool broken_ = false;  // a connection failed: the result is not valid
  uint64_t begin_ns_ = 0;
  uint64_t setup_deadline_ns_ = 0;
  uint64_t run_start_ns_ = 0;
  uint64_t measure_start_ns_ = 0;
  uint64_t measure_end_ns_ = 0;
  uint64_t next_tick_ns_ = 0;
  unsigned tick_second_ = 0;

  Histogram latency_;
  uint64_t requests_ = 0;
  uint64_t deliveries_ = 0;
  uint64_t errors_ = 0;
  uint64_t tick_count_ =
      0;  // replies or deliveries since the last progress line
};

int Bench::run() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) fatal("epoll_create1: %s", std::strerror(errno));
  begin_ns_ = now_ns();
  setup_deadline_ns_ = begin_ns_ + seconds_to_ns(kSetupTimeoutSec);
  loop();

  uint64_t end = std::min(now_ns(), measure_end_ns_);
  if (running_) count_lost_replies(end);
  if (!running_) {
    if (!broken_) {
      std::fprintf(stderr, "hazel-bench: interrupted before the run started\n");
    }
    return kExitFailed;
  }
  Summary s = summarize(end);
  if (opt_.json) {
    print_json(s);
  } else {
    print_summary(s);
  }
  return (errors_ > 0 || broken_) ? kExitFailed : kExitOk;
}

void Bench::loop() {
  std::array<epoll_event, kMaxEvents> events{};
  while (!stop_ && !g_interrupted) {
    while (next_connect_ < conns_.size() && opening_ < kMaxOpening && !stop_) {
      start_connect(next_connect_++);
    }
    int n = epoll_wait(epfd_, events.data(), kMaxEvents, timeout_ms(now_ns()));
    if (n < 0) {
      if (errno == EINTR) continue;
      fatal("epoll_wait: %s", std::strerror(errno));
    }
    for (int i = 0; i < n && !stop_; ++i) {
      on_event(conns_[events[static_cast<size_t>(i)].data.u64],
               events[static_cast<size_t>(i)].events);
    }
    tick(now_ns());
  }
}

int Bench::timeout_ms(uint64_t now) const {
  uint64_t next =
      running_ ? std::min(next_tick_ns_, measure_end_ns_) : setup_deadline_ns_;
  if (next <= now) return 0;
  uint64_t ms = (next - now + 999'999) / 1'000'000;
  return static_cast<int>(std::min<uint64_t>(ms, 1000));
}

// Progress lines and the end of the run. Phase changes within a second are
// judged per reply by measuring(); here only whole seconds matter.
void Bench::tick(uint64_t now) {
  if (!running_) {
    if (now >= setup_deadline_ns_) {
      fatal("setup did not finish in %.0f s: %zu of %zu connections ready",
            kSetupTimeoutSec, ready_, conns_.size());
    }
    return;
  }
  while (now >= next_tick_ns_ && next_tick_ns_ <= measure_end_ns_) {
    ++tick_second_;
    if (!opt_.quiet && shape_ != Shape::kIdle) {
      std::fprintf(stderr, "[%3us] %" PRIu64 " %s/s  errors %" PRIu64 "%s\n",
                   tick_second_, tick_count_,
                   shape_ == Shape::kFanOut ? "deliveries" : "req", errors_,
                   next_tick_ns_ <= measure_start_ns_ ? "  (warmup)" : "");
    }
    tick_count_ = 0;
    next_tick_ns_ += kNsPerSec;
  }
  if (now >= measure_end_ns_) stop_ = true;
}

// Every connection is up and set up: start the clock and fill the pipes.
void Bench::start_run(uint64_t now) {
  running_ = true;
  run_start_ns_ = now;
  next_tick_ns_ = now + kNsPerSec;
  measure_start_ns_ = now + seconds_to_ns(opt_.warmup);
  if (shape_ == Shape::kIdle) measure_start_ns_ = now;
  measure_end_ns_ = measure_start_ns_ + seconds_to_ns(opt_.seconds);
  now_ = now;
  if (shape_ == Shape::kIdle) {
    if (!opt_.quiet) {
      std::fprintf(stderr, "holding %zu connections for %g s\n", conns_.size(),
                   opt_.seconds);
    }
    return;
  }
  for (Conn& c : conns_) {
    fill(c);
    flush(c);
  }
}

// ---- sockets ----------------------------------------------------------------

void Bench::start_connect(size_t i) {
  Conn& c = conns_[i];
  c.fd_ =
      socket(addr_.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd_ < 0) {
    fatal(
        "socket: %s%s", std::strerror(errno),
        errno == EMFILE ? " (raise ulimit -n above the connection count)" : "");
  }
  // Requests are small and latency is the point: no Nagle delay.
  int one = 1;
  if (setsockopt(c.fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
    fatal("setsockopt TCP_NODELAY: %s", std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.u64 = i;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd_, &ev) < 0) {
    fatal("epoll_ctl: %s", std::strerror(errno));
  }
  c.want_out_ = true;
  ++opening_;
  if (connect(c.fd_, addr_.ai_addr, addr_.ai_addrlen) < 0 &&
      errno != EINPROGRESS) {
    fatal("connect %s:%u: %s", opt_.host.c_str(), opt_.port,
          std::strerror(errno));
  }
  // Connected or in progress: either way EPOLLOUT reports the outcome.
}

void Bench::on_event(Conn& c, uint32_t events) {
  if (!c.connected_) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c.fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err != 0) {
      fatal("connect %s:%u: %s", opt_.host.c_str(), opt_.port,
            std::strerror(err));
    }
    on_connected(c);
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
  if ((events & EPOLLOUT) && !stop_) flush(c);
}

void Bench::on_connected(Conn& c) {
  c.connected_ = true;
  want_output(c, false);
  now_ = now_ns();
  append_setup(c);
  if (c.out_.empty()) {
    setup_done(c, true, "");
  } else {
    flush(c);
  }
}

void Bench::want_output(Conn& c, bool on) {
  if (c.want_out_ == on) return;
  epoll_event ev{};
  ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  ev.data.u64 = index_of(c);
  if (epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd_, &ev) < 0) {
    fatal("epoll_ctl: %s", std::strerror(errno));
  }
  c.want_out_ = on;
}

// Writes what is queued; what the socket does not take waits for EPOLLOUT.
// Requests queued while handling one read go out in this one call.
void Bench::flush(Conn& c) {
  while (c.out_off_ < c.out_.size()) {
    ssize_t w = send(c.fd_, c.out_.data() + c.out_off_,
                     c.out_.size() - c.out_off_, MSG_NOSIGNAL);
    if (w >= 0) {
      c.out_off_ += static_cast<size_t>(w);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      want_output(c, true);
      return;
    }
    fail(c, "write: %s", std::strerror(errno));
    return;
  }
  c.out_.clear();
  c.out_off_ = 0;
  want_output(c, false);
}

// One read per wakeup keeps the connections fair. Replies are parsed straight
// from the shared buffer; only a trailing partial reply is copied aside.
void Bench::on_readable(Conn& c) {
  ssize_t r = recv(c.fd_, rbuf_.data(), rbuf_.size(), 0);
  if (r == 0) {
    fail(c, "the server closed the connection");
    return;
  }
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    fail(c, "read: %s", std::strerror(errno));
    return;
  }
  now_ = now_ns();
  auto n = static_cast<size_t>(r);
  if (c.in_.empty()) {
    size_t used = consume(c, rbuf_.data(), n);
    if (used < n)
      c.in_.assign(reinterpret_cast<char*>(rbuf_.data() + used), n - used);
  } else {
    c.in_.append(reinterpret_cast<char*>(rbuf_.data()), n);
    size_t used = consume(c, reinterpret_cast<const uint8_t*>(c.in_.data()),
                          c.in_.size());
    c.in_.erase(0, used);
  }
  if (!stop_) flush(c);
}

// ---- parsing and checking ---------------------------------------------------

size_t Bench::consume(Conn& c, const uint8_t* p, size_t n) {
  switch (wire_) {
    case Wire::kHazel:
      return consume_hazel(c, p, n);
    case Wire::kResp:
      return consume_resp(c, p, n);
    case Wire::kRaw:
      return consume_raw(c, p, n);
  }
  return n;
}

size_t Bench::consume_hazel(Conn& c, const uint8_t* p, size_t n) {
  size_t used = 0;
  while (n - used >= kHeaderSize && !stop_) {
    const uint8_t* h = p + used;
    if (h[0] != hazel::kMagic0 || h[1] != hazel::kMagic1 ||
        h[2] != hazel::kProtocolVersion) {
      fail(c, "stream broken: a frame header starts with %s",
           excerpt({reinterpret_cast<const char*>(h), 4}).c_str());
      return n;
    }
    FrameHeader f;
    f.kind = static_cast<Kind>(h[3]);
    f.service = get_u16(h + 4);
    f.code = get_u16(h + 6);
    f.session = get_u32(h + 8);
    f.length = get_u32(h + 12);
    if (f.length > hazel::kDefaultMaxFrame) {
      fail(c, "stream broken: frame length %" PRIu32 " is above max_frame",
           f.length);
      return n;
    }
    if (n - used < kHeaderSize + f.length) break;
    on_frame(c, f, {reinterpret_cast<const char*>(h + kHeaderSize), f.length});
    used += kHeaderSize + f.length;
  }
  return used;
}

void Bench::on_frame(Conn& c, const FrameHeader& f, std::string_view body) {
  switch (f.kind) {
    case Kind::kReply:
      on_hazel_reply(c, f, body);
      return;
    case Kind::kPush:
      on_hazel_push(c, f, body);
      return;
    case Kind::kGoodbye:
      fail(c, "the server said GOODBYE %s: %s", goodbye_name(f.code),
           excerpt(body).c_str());
      return;
    default:
      count_error(c, "a frame of kind " + std::to_string(unsigned(f.kind)) +
                         ", which a server never sends");
      return;
  }
}

// The protocol lets replies overtake each other (they are matched by
// session), so any outstanding session is accepted; the oldest is the usual
// match and found first.
void Bench::on_hazel_reply(Conn& c, const FrameHeader& f,
                           std::string_view body) {
  size_t i = c.pending_.find_session(f.session);
  if (i == kNone || work_.reply_kind != Kind::kReply) {
    std::string why = "REPLY for session " + std::to_string(f.session) +
                      ", which is not outstanding";
    // Retire the oldest request anyway, or the closed loop would stall.
    if (c.pending_.empty()) {
      count_error(c, why);
    } else {
      Pending oldest = c.pending_.pop();
      if (oldest.setup) {
        setup_done(c, false, why);
      } else {
        complete(c, oldest, false, why);
      }
    }
    return;
  }
  Pending p = c.pending_.take(i);
  std::string why;
  if (p.setup) {
    bool ok = check_setup_reply(c, f, body, &why);
    setup_done(c, ok, why);
  } else {
    bool ok = check_reply(f, body, &why);
    complete(c, p, ok, why);
  }
}

void Bench::on_hazel_push(Conn& c, const FrameHeader& f,
                          std::string_view body) {
  std::string why;
  if (c.role_ == Role::kMember) {
    bool ok = f.service == kRoomService && f.code == kOpPublish;
    if (!ok)
      why = "PUSH service " + std::to_string(f.service) + " code " +
            std::to_string(f.code) + ", expected room delivery 3/3";
    ok = ok && check_delivery(c, body, &why);
    deliver(c, ok, why);
    return;
  }
  if (work_.reply_kind != Kind::kPush || c.pending_.empty()) {
    count_error(c, "unexpected PUSH service " + std::to_string(f.service) +
                       " code " + std::to_string(f.code));
    return;
  }
  // A SEND has no session: its echo PUSH answers the oldest SEND.
  bool ok = check_reply(f, body, &why);
  complete(c, c.pending_.pop(), ok, why);
}

bool Bench::check_status(const FrameHeader& f, uint16_t service,
                         std::string_view body, std::string* why) const {
  if (f.code != kStatusOk) {
    *why = std::string("status ") + status_name(f.code) + ": " + excerpt(body);
    return false;
  }
  if (f.service != service) {
    *why = "service " + std::to_string(f.service) + ", expected " +
           std::to_string(service);
    return false;
  }
  return true;
}

bool Bench::check_reply(const FrameHeader& f, std::string_view body,
                        std::string* why) const {
  if (f.kind == Kind::kPush) {
    if (f.service != work_.reply_service || f.code != work_.reply_code) {
      *why = "PUSH service " + std::to_string(f.service) + " code " +
             std::to_string(f.code) + ", expected " +
             std::to_string(work_.reply_service) + "/" +
             std::to_string(work_.reply_code);
      return false;
    }
  } else if (!check_status(f, work_.reply_service, body, why)) {
    return false;
  }
  if (body != work_.reply) {
    *why = "body '" + excerpt(body) + "' (" + std::to_string(body.size()) +
           " bytes), expected '" + excerpt(work_.reply) + "' (" +
           std::to_string(work_.reply.size()) + " bytes)";
    return false;
  }
  return true;
}

bool Bench::check_setup_reply(Conn& c, const FrameHeader& f,
                              std::string_view body, std::string* why) {
  switch (opt_.mode->mode) {
    case Mode::kKvGet:  // SET
      if (!check_status(f, kKvService, body, why)) return false;
      if (!body.empty()) *why = "SET replied with a body";
      return body.empty();
    case Mode::kPublish:
      if (c.role_ == Role::kMember) {  // JOIN
        if (!check_status(f, kRoomService, body, why)) return false;
        if (body.size() != 4 ||
            get_u32(reinterpret_cast<const uint8_t*>(body.data())) == 0) {
          *why =
              "JOIN replied '" + excerpt(body) + "', expected a u32 count >= 1";
          return false;
        }
        return true;
      } else {  // HELLO: learn the id deliveries will name as publisher
        if (!check_status(f, kSysService, body, why)) return false;
        size_t at = body.find("client=");
        uint64_t id = 0;
        if (at != std::string_view::npos) {
          id = std::strtoull(std::string(body.substr(at + 7, 20)).c_str(),
                             nullptr, 10);
        }
        if (id == 0) {
          *why = "HELLO reply has no client=<id> line: " + excerpt(body);
          return false;
        }
        put_u64(reinterpret_cast<uint8_t*>(work_.delivery.data() +
                                           work_.delivery_pubid_at),
                id);
        return true;
      }
    case Mode::kIdle:  // PING
      return check_reply(f, body, why);
    default:
      *why = "a reply to a setup request this mode never sends";
      return false;
  }
}

// The delivery must be byte for byte what was published, and its sequence
// the next in this member's order: no loss, no reordering.
bool Bench::check_delivery(Conn& c, std::string_view got, std::string* why) {
  uint64_t seq = c.expect_seq_;
  bool ok = matches_sequenced(got, work_.delivery, work_.delivery_seq_at, &seq);
  if (!ok) {
    *why = "delivery '" + excerpt(got) + "', expected '" +
           excerpt(work_.delivery) + "'";
    return false;
  }
  if (seq != c.expect_seq_) {
    *why = "delivery #" + std::to_string(seq) + " arrived where #" +
           std::to_string(c.expect_seq_) + " was due";
    c.expect_seq_ = seq + 1;  // resynchronise: report each gap once
    return false;
  }
  ++c.expect_seq_;
  return true;
}

size_t Bench::consume_resp(Conn& c, const uint8_t* p, size_t n) {
  size_t used = 0;
  while (used < n && !stop_) {
    long len = resp_length(p + used, n - used);
    if (len == 0) break;
    if (len < 0) {
      fail(
          c, "stream broken: not RESP: '%s'",
          excerpt({reinterpret_cast<const char*>(p + used), n - used}).c_str());
      return n;
    }
    on_resp_value(
        c, {reinterpret_cast<const char*>(p + used), static_cast<size_t>(len)});
    used += static_cast<size_t>(len);
  }
  return used;
}

// RESP replies come in request order; with nothing outstanding, a member is
// receiving a published message.
void Bench::on_resp_value(Conn& c, std::string_view bytes) {
  if (c.pending_.empty()) {
    if (c.role_ == Role::kMember) {
      std::string why;
      bool ok = check_delivery(c, bytes, &why);
      deliver(c, ok, why);
    } else {
      count_error(c,
                  "a reply with nothing outstanding: '" + excerpt(bytes) + "'");
    }
    return;
  }
  Pending p = c.pending_.pop();
  const std::string& want = p.setup ? work_.resp_setup_reply : work_.reply;
  std::string why;
  if (bytes != want) {
    why = "reply '" + excerpt(bytes) + "', expected '" + excerpt(want) + "'";
  }
  if (p.setup) {
    setup_done(c, why.empty(), why);
  } else {
    complete(c, p, why.empty(), why);
  }
}

// An echo server returns a byte stream, not messages: the oldest chunk is
// answered once as many bytes as it had have come back, and they must match.
size_t Bench::consume_raw(Conn& c, const uint8_t* p, size_t n) {
  const std::string& chunk = work_.payload;
  size_t used = 0;
  while (used < n && !stop_) {
    if (c.pending_.empty()) {
      count_error(c, std::to_string(n - used) + " echoed bytes nobody sent");
      return n;
    }
    size_t k = std::min(n - used, chunk.size() - c.raw_echoed_);
    if (std::memcmp(p + used, chunk.data() + c.raw_echoed_, k) != 0)
      c.raw_bad_ = true;
    c.raw_echoed_ += k;
    used += k;
    if (c.raw_echoed_ == chunk.size()) {
      bool ok = !c.raw_bad_;
      c.raw_echoed_ = 0;
      c.raw_bad_ = false;
      complete(c, c.pending_.pop(), ok,
               "the echoed bytes differ from the sent ones");
    }
  }
  return used;
}

// ---- requests and accounting ------------------------------------------------

// The untimed requests a connection needs before the run: the value to GET,
// room membership, the publisher's own id, the idle mode's single ping.
void Bench::append_setup(Conn& c) {
  const std::string key(kBenchKey);
  auto queue_hazel = [&](uint16_t service, uint16_t op, std::string_view body) {
    uint32_t session = c.next_session_++;
    append_frame(c.out_, Kind::kRequest, service, op, session, body);
    c.pending_.push({now_, session, true});
  };
  auto queue_resp = [&](const std::string& command) {
    c.out_ += command;
    c.pending_.push({now_, 0, true});
  };
  switch (opt_.mode->mode) {
    case Mode::kKvGet:
      queue_hazel(kKvService, kOpSet,
                  be_u16(static_cast<uint16_t>(key.size())) + key + be_u32(0) +
                      work_.payload);
      break;
    case Mode::kPublish:
      if (c.role_ == Role::kMember) {
        queue_hazel(kRoomService, kOpJoin, kBenchRoom);
      } else {
        queue_hazel(kSysService, kOpHello, "");
      }
      break;
    case Mode::kIdle:
      queue_hazel(kSysService, kOpPing, work_.payload);
      break;
    case Mode::kRespGet:
      queue_resp(resp_command({"SET", key, work_.payload}));
      break;
    case Mode::kRespPublish:
      if (c.role_ == Role::kMember)
        queue_resp(resp_command({"SUBSCRIBE", kBenchRoom}));
      break;
    case Mode::kRespIdle:
      queue_resp(work_.request);
      break;
    default:
      break;
  }
}

void Bench::append_request(Conn& c) {
  size_t at = c.out_.size();
  c.out_ += work_.request;
  auto* bytes = reinterpret_cast<uint8_t*>(c.out_.data() + at);
  uint32_t session = 0;
  if (work_.session_at != kNone) {
    session = c.next_session_++;
    put_u32(bytes + work_.session_at, session);
  }
  if (work_.seq_at != kNone) put_u64(bytes + work_.seq_at, c.next_seq_++);
  c.pending_.push({now_, session, false});
}

// Tops the connection up to `depth` requests in flight. Members only listen.
void Bench::fill(Conn& c) {
  if (!running_ || stop_ || c.role_ == Role::kMember || shape_ == Shape::kIdle)
    return;
  while (c.pending_.size() < opt_.depth) append_request(c);
}

void Bench::complete(Conn& c, const Pending& p, bool ok,
                     const std::string& why) {
  if (!ok) {
    count_error(c, why);
  } else {
    if (shape_ != Shape::kFanOut) ++tick_count_;
    if (measuring()) {
      ++requests_;
      latency_.record(now_ - p.sent_ns);
    }
  }
  fill(c);
}

void Bench::deliver(Conn& c, bool ok, const std::string& why) {
  if (!ok) {
    count_error(c, why);
    return;
  }
  ++tick_count_;
  if (measuring()) ++deliveries_;
}

void Bench::setup_done(Conn& c, bool ok, const std::string& why) {
  if (!ok) {
    fail(c, "setup failed: %s", why.c_str());
    return;
  }
  if (!c.pending_.empty() || c.ready_) return;
  c.ready_ = true;
  --opening_;
  if (++ready_ == conns_.size()) start_run(now_ns());
}

void Bench::count_error(const Conn& c, const std::string& why) {
  ++errors_;
  if (errors_ <= kMaxErrorReports) {
    std::fprintf(stderr, "hazel-bench: connection %zu: %s\n", index_of(c),
                 why.c_str());
  }
  if (errors_ == kMaxErrorReports) {
    std::fprintf(stderr,
                 "hazel-bench: further errors are counted, not shown\n");
  }
}

// A request still unanswered at the end that went out in the first half of
// the run has waited at least as long as the second half: call it lost, or a
// server that stops answering would end the run with zero errors.
void Bench::count_lost_replies(uint64_t end_ns) {
  uint64_t cutoff = run_start_ns_ + (end_ns - run_start_ns_) / 2;
  for (const Conn& c : conns_) {
    size_t lost = 0;
    for (size_t i = 0; i < c.pending_.size(); ++i) {
      if (c.pending_.at(i).sent_ns < cutoff) ++lost;
    }
    if (lost > 0) {
      count_error(c, std::to_string(lost) + " request(s) got no reply within " +
                         std::to_string((end_ns - cutoff) / 1'000'000) + " ms");
      errors_ += lost - 1;
    }
  }
}

// A connection is unusable: report, and end the run with what it measured.
// Sockets are closed after the loop, never inside a handler.
void Bench::fail(Conn& c, const char* fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ++errors_;
  std::fprintf(stderr, "hazel-bench: connection %zu: %s\n", index_of(c), msg);
  broken_ = true;
  stop_ = true;
}

// Nothing can be measured (no server, no descriptors): say why and leave.
void Bench::fatal(const char* fmt, ...) {
  std::fputs("hazel-bench: ", stderr);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
  std::exit(kExitFailed);
}

// ---- summary ----------------------------------------------------------------

double ns_to_us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

Summary Bench::summarize(uint64_t end_ns) const {
  Summary s;
  s.duration_s = end_ns > measure_start_ns_
                     ? static_cast<double>(end_ns - measure_start_ns_) / 1e9
                     : 0.0;
  s.requests = requests_;
  s.deliveries = deliveries_;
  s.errors = errors_;
  uint64_t counted = shape_ == Shape::kFanOut ? deliveries_ : requests_;
  s.rate = s.duration_s > 0 ? static_cast<double>(counted) / s.duration_s : 0.0;
  s.p50_us = ns_to_us(latency_.percentile(50));
  s.p99_us = ns_to_us(latency_.percentile(99));
  s.p999_us = ns_to_us(latency_.percentile(99.9));
  s.max_us = ns_to_us(latency_.max());
  s.connect_s = static_cast<double>(run_start_ns_ - begin_ns_) / 1e9;
  return s;
}

void Bench::print_summary(const Summary& s) const {
  const std::string_view mode = opt_.mode->name;
  std::printf("mode         %.*s\n", static_cast<int>(mode.size()),
              mode.data());
  if (shape_ == Shape::kIdle) {
    std::printf("connections  %zu\n", opt_.connections);
    std::printf("connect      %.2f s (open and ping every connection)\n",
                s.connect_s);
    std::printf("held         %.2f s\n", s.duration_s);
    std::printf("errors       %" PRIu64 "\n", s.errors);
    return;
  }
  if (shape_ == Shape::kFanOut) {
    std::printf("members      %zu (+1 publisher)\n", opt_.connections);
  } else {
    std::printf("connections  %zu\n", opt_.connections);
  }
  std::printf("depth        %zu\n", opt_.depth);
  std::printf("payload      %zu bytes\n", opt_.payload);
  std::printf("duration     %.2f s (after %g s warmup)\n", s.duration_s,
              opt_.warmup);
  if (shape_ == Shape::kFanOut) {
    std::printf("deliveries   %" PRIu64 "\n", s.deliveries);
    std::printf("rate         %.0f deliveries/s\n", s.rate);
    std::printf(
        "publishes    %" PRIu64 " (%.0f/s)\n", s.requests,
        s.duration_s > 0 ? static_cast<double>(s.requests) / s.duration_s : 0);
  } else {
    std::printf("requests     %" PRIu64 "\n", s.requests);
    std::printf("rate         %.0f req/s\n", s.rate);
  }
  std::printf("errors       %" PRIu64 "%s\n", s.errors,
              broken_ ? " (run aborted: a connection failed)" : "");
  std::printf(
      "latency      p50 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us%s\n",
      s.p50_us, s.p99_us, s.p999_us, s.max_us,
      shape_ == Shape::kFanOut ? " (publish to reply)" : "");
}

void Bench::print_json(const Summary& s) const {
  const std::string_view mode = opt_.mode->name;
  std::printf(
      "{\"mode\": \"%.*s\", \"connections\": %zu, \"depth\": %zu, "
      "\"payload\": %zu, \"warmup_s\": %.3f, \"duration_s\": %.3f, ",
      static_cast<int>(mode.size()), mode.data(), opt_.connections, opt_.depth,
      opt_.payload, opt_.warmup, s.duration_s);
  if (shape_ == Shape::kIdle) {
    std::printf("\"connect_s\": %.3f, ", s.connect_s);
  } else {
    std::printf("\"requests\": %" PRIu64 ", ", s.requests);
    if (shape_ == Shape::kFanOut) {
      std::printf("\"deliveries\": %" PRIu64 ", ", s.deliveries);
    }
    std::printf(
        "\"rate\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
        "\"p999_us\": %.1f, \"max_us\": %.1f, ",
        s.rate, s.p50_us, s.p99_us, s.p999_us, s.max_us);
  }
  std::printf("\"errors\": %" PRIu64 ", \"aborted\": %s}\n", s.errors,
              broken_ ? "true" : "false");
}

// ---- process setup ----------------------------------------------------------

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
    std::fprintf(stderr, "hazel-bench: cannot resolve %s: %s\n", o.host.c_str(),
                 gai_strerror(rc));
    std::exit(kExitFailed);
  }
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_args(argc, argv);
  raise_fd_limit(opt.connections);
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;  // no SA_RESTART: epoll_wait returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  addrinfo* addr = resolve(opt);
  int rc = 0;
  {
    Bench bench(opt, *addr);
    rc = bench.run();
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
