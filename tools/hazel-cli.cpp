// hazel-cli: talk to a hazel server by hand. One command per run; exit 0 on
// success, 1 on an error reply or connection failure, 2 on bad usage.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "hazel/builtins.h"
#include "hazel/client.h"
#include "hazel/frame.h"
#include "jwt.h"
#include "services/token_policy.h"

namespace {

using hazel::BlockingClient;
using hazel::Frame;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// Service and op ids (hazel/builtins.h, docs/PROTOCOL.md).
constexpr uint16_t kSys = hazel::sys::kId, kEcho = hazel::echo::kId,
                   kKv = hazel::kv::kId, kRoom = hazel::room::kId;
constexpr uint16_t kSysPing = hazel::sys::kPing, kSysHello = hazel::sys::kHello,
                   kSysServices = hazel::sys::kServices,
                   kSysInfo = hazel::sys::kInfo, kSysTell = hazel::sys::kTell,
                   kSysAuth = hazel::sys::kAuth;
constexpr uint16_t kEchoEcho = hazel::echo::kEcho;
constexpr uint16_t kKvGet = hazel::kv::kGet, kKvSet = hazel::kv::kSet,
                   kKvDel = hazel::kv::kDel, kKvIncr = hazel::kv::kIncr;
constexpr uint16_t kRoomJoin = hazel::room::kJoin,
                   kRoomLeave = hazel::room::kLeave,
                   kRoomPublish = hazel::room::kPublish,
                   kRoomMembers = hazel::room::kMembers;

constexpr size_t kMaxRoomName = hazel::room::kMaxName;
constexpr std::string_view kPingBody = "hazel-cli";
// Without a HELLO answer, assume the server's documented default.
constexpr int kDefaultIdleMs = 60000;
constexpr int kMinKeepAliveMs = 50;

constexpr const char* kUsage =
    "usage: hazel-cli [-H host] [-p port] [-t timeout_ms] [--token TOKEN]\n"
    "                 COMMAND [args]\n"
    "\n"
    "options:\n"
    "  -H, --host HOST        server address or name (default 127.0.0.1)\n"
    "  -p, --port PORT        server port (default 9000)\n"
    "  -t, --timeout MS       connect and reply timeout (default 3000)\n"
    "  -T, --token TOKEN      sys AUTH with TOKEN right after connecting\n"
    "                         (default: $HAZEL_TOKEN, if set)\n"
    "  -h, --help             show this help\n"
    "\n"
    "commands:\n"
    "  ping                          round trip through sys PING\n"
    "  hello                         print the server's HELLO (key=value)\n"
    "  services                      list services (id name)\n"
    "  info                          server statistics (name value)\n"
    "  echo TEXT                     echo TEXT back\n"
    "  tell ID TEXT                  push TEXT to client ID\n"
    "  listen                        print every push until Ctrl-C\n"
    "  kv get KEY                    print the value of KEY\n"
    "  kv set KEY VALUE [--ttl MS]   store VALUE (expiring after MS)\n"
    "  kv del KEY                    delete KEY\n"
    "  kv incr KEY [DELTA]           add DELTA (default 1), print the result\n"
    "  room join ROOM                join ROOM, print its messages until "
    "Ctrl-C\n"
    "  room leave ROOM               leave ROOM\n"
    "  room publish ROOM TEXT        send TEXT to every member of ROOM\n"
    "  room members ROOM             list the members' client ids\n"
    "  auth TOKEN                    sys AUTH with TOKEN, print user= expires=\n"
    "  token --secret-file FILE --sub USER [--ttl S] [--rooms LIST]\n"
    "        [--kv LIST] [--kv-read LIST] [--tell]\n"
    "                                print a token signed with FILE's first key\n"
    "                                (no server needed): valid for S seconds\n"
    "                                (default 3600); LISTs are comma-separated\n"
    "                                room patterns (a trailing * matches any\n"
    "                                rest) and kv key prefixes\n";

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 9000;
  int timeout_ms = 3000;
  std::string token;  // sys AUTH with it once connected
};

using Args = std::vector<std::string>;

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "hazel-cli: %s\n\n%s", msg.c_str(), kUsage);
  return kExitUsage;
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "error: %s\n", msg.c_str());
  return kExitError;
}

// ---- parsing ----------------------------------------------------------------

bool parse_u64(const std::string& s, uint64_t* out) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

bool parse_i64(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || end == s.c_str()) return false;
  *out = v;
  return true;
}

bool parse_bounded(const std::string& s, uint64_t max, uint64_t* out) {
  return parse_u64(s, out) && *out <= max;
}

std::string join(const Args& a, size_t from) {
  std::string s;
  for (size_t i = from; i < a.size(); ++i) {
    if (i > from) s += ' ';
    s += a[i];
  }
  return s;
}

// ---- printing ---------------------------------------------------------------

// Bodies are bytes: never let one write control codes to a terminal.
std::string printable(std::string_view bytes, bool keep_newlines) {
  std::string out;
  out.reserve(bytes.size());
  for (const char ch : bytes) {
    const auto b = static_cast<unsigned char>(ch);
    if ((b >= 0x20 && b < 0x7F) || (keep_newlines && b == '\n')) {
      out += ch;
    } else {
      char esc[5];
      std::snprintf(esc, sizeof esc, "\\x%02x", b);
      out += esc;
    }
  }
  return out;
}

void print_line(std::string_view bytes) {
  std::printf("%s\n", printable(bytes, false).c_str());
}

void print_lines(std::string_view bytes) {
  const std::string s = printable(bytes, true);
  std::fputs(s.c_str(), stdout);
  if (!s.empty() && s.back() != '\n') std::fputc('\n', stdout);
}

std::string where(const Options& o) {
  const bool v6 = o.host.find(':') != std::string::npos;
  return (v6 ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port);
}

const char* service_name(uint16_t id) {
  switch (id) {
    case kSys: return "sys";
    case kEcho: return "echo";
    case kKv: return "kv";
    case kRoom: return "room";
    default: return nullptr;
  }
}

// ---- talking to the server --------------------------------------------------

struct Ctx {
  Options opt;
  BlockingClient client;
};

// Commands connect on their first request, after their arguments were
// checked, so a usage error never depends on the server being up.
bool request(Ctx& c, uint16_t service, uint16_t op, std::string_view body,
             Frame* reply, int* exit_code);

bool ensure_connected(Ctx& c, int* exit_code) {
  if (c.client.connected()) return true;
  std::string err;
  if (!c.client.connect(c.opt.host, c.opt.port, &err, c.opt.timeout_ms)) {
    *exit_code = fail(err);
    return false;
  }
  if (c.opt.token.empty()) return true;
  Frame r;
  return request(c, kSys, kSysAuth, c.opt.token, &r, exit_code);
}

// One request; prints the error and returns false unless the reply is OK.
bool request(Ctx& c, uint16_t service, uint16_t op, std::string_view body,
             Frame* reply, int* exit_code) {
  if (!ensure_connected(c, exit_code)) return false;
  std::string err;
  if (!c.client.call(service, op, body, reply, c.opt.timeout_ms, &err)) {
    *exit_code = fail(err);
    return false;
  }
  if (!reply->ok()) {
    std::string msg = hazel::status_name(reply->status());
    if (msg == "UNKNOWN") msg = "status " + std::to_string(reply->header.code);
    if (!reply->body.empty()) msg += ": " + printable(reply->body, false);
    *exit_code = fail(msg);
    return false;
  }
  return true;
}

// A u16-length-prefixed key, as kv SET and INCR want it.
bool append_key16(std::string& body, const std::string& key) {
  if (key.size() > UINT16_MAX) return false;
  hazel::append_u16(body, static_cast<uint16_t>(key.size()));
  body += key;
  return true;
}

// "[lobby] 17: hi" — the payload of a room PUSH, or "" if malformed.
std::string room_message(const std::string& body) {
  if (body.empty()) return "";
  const size_t name_len = static_cast<unsigned char>(body[0]);
  if (body.size() < 1 + name_len + 8) return "";
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  const uint64_t from = hazel::get_u64(p + 1 + name_len);
  return "[" + printable(std::string_view(body).substr(1, name_len), false) +
         "] " + std::to_string(from) + ": " +
         printable(std::string_view(body).substr(1 + name_len + 8), false);
}

void print_push(const Frame& f) {
  const uint16_t svc = f.header.service;
  const uint16_t code = f.header.code;
  const char* name = service_name(svc);
  std::string tag = "push " + (name ? std::string(name) : std::to_string(svc)) +
                    "/" + std::to_string(code);
  const auto* p = reinterpret_cast<const uint8_t*>(f.body.data());
  if (svc == kSys && code == kSysTell && f.body.size() >= 8) {
    std::printf("%s from client %" PRIu64 ": %s\n", tag.c_str(),
                hazel::get_u64(p),
                printable(std::string_view(f.body).substr(8), false).c_str());
    return;
  }
  if (svc == kRoom && code == kRoomPublish) {
    const std::string msg = room_message(f.body);
    if (!msg.empty()) {
      std::printf("%s %s\n", tag.c_str(), msg.c_str());
      return;
    }
  }
  std::printf("%s: %s\n", tag.c_str(), printable(f.body, false).c_str());
}

// The server closes clients that send nothing for its idle timeout, so a
// long-lived listener pings well within it.
int keepalive_interval(Ctx& c) {
  Frame reply;
  std::string err;
  int idle = kDefaultIdleMs;
  if (c.client.call(kSys, kSysHello, "", &reply, c.opt.timeout_ms, &err) &&
      reply.ok()) {
    const std::string key = "idle_timeout_ms=";
    const size_t at = reply.body.find(key);
    if (at != std::string::npos && (at == 0 || reply.body[at - 1] == '\n')) {
      idle = std::atoi(reply.body.c_str() + at + key.size());
    }
    const size_t id_at = reply.body.find("client=");
    if (id_at != std::string::npos) {
      const size_t eol = reply.body.find('\n', id_at);
      std::fprintf(stderr, "connected as client %s (Ctrl-C to stop)\n",
                   reply.body.substr(id_at + 7, eol - id_at - 7).c_str());
    }
  }
  if (idle <= 0) idle = kDefaultIdleMs;
  return std::max(idle / 3, kMinKeepAliveMs);
}

// Prints pushes until the server goes away; `room_style` prints room
// messages as "[room] id: text".
int stream_pushes(Ctx& c, bool room_style) {
  const int interval = keepalive_interval(c);
  for (;;) {
    Frame f;
    std::string err;
    if (c.client.next_push(&f, interval, &err)) {
      if (f.header.kind == hazel::Kind::kGoodbye) {
        std::fprintf(stderr, "server said goodbye: %s%s%s%s\n",
                     hazel::goodbye_name(static_cast<hazel::Goodbye>(
                         f.header.code)),
                     f.body.empty() ? "" : " (",
                     printable(f.body, false).c_str(),
                     f.body.empty() ? "" : ")");
        return kExitOk;
      }
      const std::string msg =
          room_style && f.header.service == kRoom ? room_message(f.body) : "";
      if (!msg.empty()) {
        std::printf("%s\n", msg.c_str());
      } else {
        print_push(f);
      }
      continue;
    }
    if (err == "connection closed by server") {
      std::fprintf(stderr, "%s\n", err.c_str());
      return kExitOk;
    }
    if (err.rfind("timed out", 0) != 0) return fail(err);
    Frame pong;
    int code = kExitOk;
    if (!request(c, kSys, kSysPing, "", &pong, &code)) return code;
  }
}

// ---- commands ---------------------------------------------------------------

int cmd_ping(Ctx& c, const Args& a) {
  if (a.size() != 1) return usage_error("ping takes no arguments");
  Frame r;
  int code = kExitOk;
  const auto t0 = std::chrono::steady_clock::now();
  if (!request(c, kSys, kSysPing, kPingBody, &r, &code)) return code;
  const std::chrono::duration<double, std::milli> dt =
      std::chrono::steady_clock::now() - t0;
  if (r.body != kPingBody) return fail("PING reply does not echo its body");
  std::printf("PONG from %s in %.3f ms\n", where(c.opt).c_str(), dt.count());
  return kExitOk;
}

// hello, services, info: an empty request whose reply is text lines.
int cmd_lines(Ctx& c, const Args& a, uint16_t op) {
  if (a.size() != 1) return usage_error(a[0] + " takes no arguments");
  Frame r;
  int code = kExitOk;
  if (!request(c, kSys, op, "", &r, &code)) return code;
  print_lines(r.body);
  return kExitOk;
}

int cmd_echo(Ctx& c, const Args& a) {
  if (a.size() < 2) return usage_error("echo needs TEXT");
  Frame r;
  int code = kExitOk;
  if (!request(c, kEcho, kEchoEcho, join(a, 1), &r, &code)) return code;
  print_line(r.body);
  return kExitOk;
}

int cmd_tell(Ctx& c, const Args& a) {
  uint64_t id = 0;
  if (a.size() < 3) return usage_error("tell needs ID TEXT");
  if (!parse_u64(a[1], &id)) return usage_error("bad client id: " + a[1]);
  std::string body;
  hazel::append_u64(body, id);
  body += join(a, 2);
  Frame r;
  int code = kExitOk;
  if (!request(c, kSys, kSysTell, body, &r, &code)) return code;
  std::printf("told client %" PRIu64 "\n", id);
  return kExitOk;
}

int cmd_listen(Ctx& c, const Args& a) {
  if (a.size() != 1) return usage_error("listen takes no arguments");
  int code = kExitOk;
  if (!ensure_connected(c, &code)) return code;
  return stream_pushes(c, false);
}

int kv_get(Ctx& c, const Args& a) {
  if (a.size() != 3) return usage_error("usage: kv get KEY");
  Frame r;
  int code = kExitOk;
  if (!request(c, kKv, kKvGet, a[2], &r, &code)) return code;
  print_line(r.body);
  return kExitOk;
}

int kv_set(Ctx& c, const Args& a) {
  Args rest;
  uint64_t ttl = 0;
  for (size_t i = 2; i < a.size(); ++i) {
    std::string ttl_text;
    if (a[i] == "--ttl") {
      if (i + 1 >= a.size()) return usage_error("--ttl needs MS");
      ttl_text = a[++i];
    } else if (a[i].rfind("--ttl=", 0) == 0) {
      ttl_text = a[i].substr(6);
    } else {
      rest.push_back(a[i]);
      continue;
    }
    if (!parse_bounded(ttl_text, UINT32_MAX, &ttl)) {
      return usage_error("bad --ttl: " + ttl_text);
    }
  }
  if (rest.size() != 2) return usage_error("usage: kv set KEY VALUE [--ttl MS]");
  std::string body;
  if (!append_key16(body, rest[0])) return usage_error("key too long");
  hazel::append_u32(body, static_cast<uint32_t>(ttl));
  body += rest[1];
  Frame r;
  int code = kExitOk;
  if (!request(c, kKv, kKvSet, body, &r, &code)) return code;
  std::printf("OK\n");
  return kExitOk;
}

int kv_del(Ctx& c, const Args& a) {
  if (a.size() != 3) return usage_error("usage: kv del KEY");
  Frame r;
  int code = kExitOk;
  if (!request(c, kKv, kKvDel, a[2], &r, &code)) return code;
  if (r.body.size() != 1) return fail("malformed DEL reply");
  std::printf("%s\n", r.body[0] == 1 ? "deleted" : "absent");
  return kExitOk;
}

int kv_incr(Ctx& c, const Args& a) {
  if (a.size() != 3 && a.size() != 4) {
    return usage_error("usage: kv incr KEY [DELTA]");
  }
  int64_t delta = 1;
  if (a.size() == 4 && !parse_i64(a[3], &delta)) {
    return usage_error("bad DELTA: " + a[3]);
  }
  std::string body;
  if (!append_key16(body, a[2])) return usage_error("key too long");
  hazel::append_u64(body, static_cast<uint64_t>(delta));
  Frame r;
  int code = kExitOk;
  if (!request(c, kKv, kKvIncr, body, &r, &code)) return code;
  print_line(r.body);
  return kExitOk;
}

int cmd_kv(Ctx& c, const Args& a) {
  if (a.size() < 2) return usage_error("kv needs get, set, del or incr");
  const std::string& sub = a[1];
  if (sub == "get") return kv_get(c, a);
  if (sub == "set") return kv_set(c, a);
  if (sub == "del") return kv_del(c, a);
  if (sub == "incr") return kv_incr(c, a);
  return usage_error("unknown kv command: " + sub);
}

int room_join(Ctx& c, const std::string& room) {
  Frame r;
  int code = kExitOk;
  if (!request(c, kRoom, kRoomJoin, room, &r, &code)) return code;
  if (r.body.size() != 4) return fail("malformed JOIN reply");
  const uint32_t n = hazel::get_u32(reinterpret_cast<const uint8_t*>(r.body.data()));
  std::printf("joined %s (%" PRIu32 " member%s)\n",
              printable(room, false).c_str(), n, n == 1 ? "" : "s");
  return stream_pushes(c, true);
}

int room_leave(Ctx& c, const std::string& room) {
  Frame r;
  int code = kExitOk;
  if (!request(c, kRoom, kRoomLeave, room, &r, &code)) return code;
  std::printf("left %s\n", printable(room, false).c_str());
  return kExitOk;
}

int room_publish(Ctx& c, const std::string& room, const std::string& text) {
  std::string body;
  hazel::append_u8(body, static_cast<uint8_t>(room.size()));
  body += room;
  body += text;
  Frame r;
  int code = kExitOk;
  if (!request(c, kRoom, kRoomPublish, body, &r, &code)) return code;
  if (r.body.size() != 4) return fail("malformed PUBLISH reply");
  std::printf("delivered to %" PRIu32 "\n",
              hazel::get_u32(reinterpret_cast<const uint8_t*>(r.body.data())));
  return kExitOk;
}

int room_members(Ctx& c, const std::string& room) {
  Frame r;
  int code = kExitOk;
  if (!request(c, kRoom, kRoomMembers, room, &r, &code)) return code;
  if (r.body.size() % 8 != 0) return fail("malformed MEMBERS reply");
  const auto* p = reinterpret_cast<const uint8_t*>(r.body.data());
  for (size_t off = 0; off < r.body.size(); off += 8) {
    std::printf("%" PRIu64 "\n", hazel::get_u64(p + off));
  }
  return kExitOk;
}

int cmd_room(Ctx& c, const Args& a) {
  if (a.size() < 3) {
    return usage_error("usage: room join|leave|publish|members ROOM ...");
  }
  const std::string& sub = a[1];
  const std::string& room = a[2];
  if (room.empty() || room.size() > kMaxRoomName) {
    return usage_error("room names are 1..255 bytes");
  }
  if (sub == "publish") {
    if (a.size() < 4) return usage_error("usage: room publish ROOM TEXT");
    return room_publish(c, room, join(a, 3));
  }
  if (a.size() != 3) return usage_error("usage: room " + sub + " ROOM");
  if (sub == "join") return room_join(c, room);
  if (sub == "leave") return room_leave(c, room);
  if (sub == "members") return room_members(c, room);
  return usage_error("unknown room command: " + sub);
}

int cmd_auth(Ctx& c, const Args& a) {
  if (a.size() != 2) return usage_error("usage: auth TOKEN");
  Frame r;
  int code = kExitOk;
  if (!ensure_connected(c, &code)) return code;
  if (!request(c, kSys, kSysAuth, a[1], &r, &code)) return code;
  print_lines(r.body);
  return kExitOk;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    if (comma > pos) out.push_back(s.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

// Mints a token locally, as a server-side issuer would (docs/SECURITY.md).
int cmd_token(Ctx&, const Args& a) {
  std::string secret_file;
  hazel::TokenClaims claims;
  uint64_t ttl = 3600;
  for (size_t i = 1; i < a.size(); ++i) {
    const std::string& flag = a[i];
    if (flag == "--tell") {
      claims.tell = true;
      continue;
    }
    if (i + 1 >= a.size()) return usage_error(flag + " needs a value");
    const std::string& v = a[++i];
    if (flag == "--secret-file") {
      secret_file = v;
    } else if (flag == "--sub") {
      claims.sub = v;
    } else if (flag == "--ttl") {
      if (!parse_bounded(v, UINT32_MAX, &ttl) || ttl == 0)
        return usage_error("bad --ttl: " + v);
    } else if (flag == "--rooms") {
      claims.rooms = split_list(v);
    } else if (flag == "--kv") {
      claims.kv = split_list(v);
    } else if (flag == "--kv-read") {
      claims.has_kv_read = true;
      claims.kv_read = split_list(v);
    } else {
      return usage_error("unknown token option: " + flag);
    }
  }
  if (secret_file.empty()) return usage_error("token needs --secret-file FILE");
  if (claims.sub.empty() || claims.sub.size() > hazel::kMaxUserName)
    return usage_error("token needs --sub USER (1..255 bytes)");
  std::vector<std::string> keys;
  std::string err;
  if (!hazel::services::load_secret_file(secret_file, &keys, &err)) return fail(err);
  claims.exp = static_cast<int64_t>(std::time(nullptr)) + static_cast<int64_t>(ttl);
  std::printf("%s\n", hazel::jwt_mint(claims, keys.front()).c_str());
  return kExitOk;
}

// ---- main -------------------------------------------------------------------

// Parses the options in front of COMMAND. Returns -1 to go on, else an exit
// code (help or a usage error).
int parse_options(int argc, char** argv, Options* o, int* next) {
  int i = 1;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
    if (arg.empty() || arg[0] != '-') break;
    if (i + 1 >= argc) return usage_error(arg + " needs a value");
    const std::string val = argv[++i];
    uint64_t n = 0;
    if (arg == "-T" || arg == "--token") {
      if (val.empty()) return usage_error("--token needs a token");
      o->token = val;
    } else if (arg == "-H" || arg == "--host") {
      o->host = val;
    } else if (arg == "-p" || arg == "--port") {
      if (!parse_bounded(val, UINT16_MAX, &n) || n == 0) {
        return usage_error("bad port: " + val);
      }
      o->port = static_cast<uint16_t>(n);
    } else if (arg == "-t" || arg == "--timeout") {
      if (!parse_bounded(val, INT32_MAX, &n)) {
        return usage_error("bad timeout: " + val);
      }
      o->timeout_ms = static_cast<int>(n);
    } else {
      return usage_error("unknown option: " + arg);
    }
  }
  *next = i;
  return -1;
}

using Command = int (*)(Ctx&, const Args&);

Command find_command(const std::string& name) {
  if (name == "ping") return cmd_ping;
  if (name == "hello") {
    return [](Ctx& c, const Args& a) { return cmd_lines(c, a, kSysHello); };
  }
  if (name == "services") {
    return [](Ctx& c, const Args& a) { return cmd_lines(c, a, kSysServices); };
  }
  if (name == "info") {
    return [](Ctx& c, const Args& a) { return cmd_lines(c, a, kSysInfo); };
  }
  if (name == "echo") return cmd_echo;
  if (name == "tell") return cmd_tell;
  if (name == "listen") return cmd_listen;
  if (name == "kv") return cmd_kv;
  if (name == "room") return cmd_room;
  if (name == "auth") return cmd_auth;
  if (name == "token") return cmd_token;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  // Pushes must reach a pipe line by line, even if we are killed by Ctrl-C.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  Ctx c;
  if (const char* t = std::getenv("HAZEL_TOKEN")) c.opt.token = t;
  int first = 0;
  const int early = parse_options(argc, argv, &c.opt, &first);
  if (early >= 0) return early;
  if (first >= argc) return usage_error("missing COMMAND");

  const Args args(argv + first, argv + argc);
  const Command cmd = find_command(args[0]);
  if (cmd == nullptr) return usage_error("unknown command: " + args[0]);
  return cmd(c, args);
}
