// The message module fed an arbitrary byte stream as one client, in process
// (fuzz/lib/in_process.h): a daemon with the built-in services, the stream
// written to a socketpair the message module took as an accepted client,
// the loop settled, then everything torn down.
//
// Input: byte 0 says how the client behaves, the rest is the stream. With
// bit 7 clear, its low 7 bits n cut the stream into writes of n bytes, the
// loop settling after each (0: one write), so frames arrive split anywhere.
// With bit 7 set the client is slow: it writes at most n bytes a turn
// (0: 64) and reads at most 512, so its input keeps coming while the
// server's output backs up, and the server pauses its input.
//
// Besides the sanitizers, what the client receives is checked against the
// contract (docs/PROTOCOL.md), predicted by decoding the stream as the
// server must:
//   - every byte the server sends decodes as frames a client may receive;
//   - each REPLY answers a REQUEST that was sent (same service and session)
//     and is never INTERNAL; PING and ECHO answer the very bytes sent,
//     HELLO, SERVICES, INFO and RESOLVE what docs/PROTOCOL.md says they
//     answer, an unknown service NO_SERVICE, an unknown sys or echo op
//     NO_OP; each PUSH comes from a service that pushes;
//   - every REQUEST before the first bad frame gets its REPLY;
//   - a bad frame gets GOODBYE PROTOCOL or TOO_LARGE as the codec says,
//     and no other GOODBYE comes (a client that reads, however slowly, is
//     never cut off as slow for its own answers); a GOODBYE is the last
//     frame;
//   - after the client shuts its side the server closes the connection.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>
#include <vector>
#include <string>
#include <utility>

#include "hazel/builtins.h"
#include "hazel/frame.h"
#include "hazel/daemon.h"
#include "lib/bytes.h"
#include "lib/in_process.h"

namespace {

using namespace hazel;
using fuzz::take_frame;

// Small limits so that the fuzzer reaches them: frames above max_frame,
// output that backs up until input is paused. max_output is several times
// what a socket holds (a few KiB here), so the output ring keeps bytes
// across turns while requests still come in (and wraps around its end);
// it leaves room for two whole frames past the pause point, so a client
// that reads is never cut off as slow.
constexpr uint32_t kMaxFrame = 1024;
constexpr size_t kMaxOutput = 32768;
constexpr size_t kSlowReadBytes = 512;
constexpr size_t kSlowWriteBytes = 64;

Config fuzz_config() {
  Config cfg;
  cfg.max_frame = kMaxFrame;
  cfg.max_output = kMaxOutput;
  cfg.log_level = LogLevel::kError;
  return cfg;
}

// A REQUEST still to be answered.
struct Asked {
  uint16_t op = 0;
  std::string body;
};

// What the server must do with the stream: the requests it must answer and
// the GOODBYE it owes, if any.
struct Prediction {
  std::multimap<std::pair<uint16_t, uint32_t>, Asked> requests;  // (service, session)
  bool bad_frame = false;
  Goodbye goodbye = Goodbye::kProtocol;
};

Prediction predict(const uint8_t* p, size_t n) {
  Prediction out;
  size_t off = 0;
  while (off < n) {
    Decoded d = decode(p + off, n - off, kMaxFrame, Peer::kServer);
    if (d.status == DecodeStatus::kError) {
      out.bad_frame = true;
      out.goodbye = d.error;
      break;
    }
    if (d.status == DecodeStatus::kNeedMore) break;  // cut short: EOF
    if (d.header.kind == Kind::kRequest) {
      Asked a;
      a.op = d.header.code;
      a.body.assign(reinterpret_cast<const char*>(p + off + kHeaderSize),
                    d.header.length);
      out.requests.emplace(std::make_pair(d.header.service, d.header.session),
                           std::move(a));
    }
    off += kHeaderSize + d.header.length;
  }
  return out;
}

bool pushes(uint16_t service, uint16_t code) {
  return (service == sys::kId && code == sys::kTell) ||
         (service == echo::kId && code == echo::kEcho) ||
         (service == room::kId && code == room::kPublish);
}

// Lines of `text`, each ending in '\n', each of them `ok`.
template <class Ok>
bool lines(std::string_view text, Ok ok) {
  while (!text.empty()) {
    size_t eol = text.find('\n');
    if (eol == std::string_view::npos || !ok(text.substr(0, eol))) return false;
    text.remove_prefix(eol + 1);
  }
  return true;
}

bool decimal(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// HELLO: key=value lines, these first (docs/PROTOCOL.md), more may follow.
bool hello_body(std::string_view body) {
  std::vector<std::pair<std::string_view, std::string_view>> kv;
  bool form = lines(body, [&](std::string_view l) {
    size_t eq = l.find('=');
    if (eq == std::string_view::npos || eq == 0) return false;
    kv.emplace_back(l.substr(0, eq), l.substr(eq + 1));
    return true;
  });
  if (!form || kv.size() < 6) return false;
  return kv[0] == std::pair<std::string_view, std::string_view>("protocol", "1") &&
         kv[1].first == "server" &&
         kv[1].second == std::string("hazel/") + version() &&
         kv[2].first == "client" && decimal(kv[2].second) &&
         kv[2].second != "0" &&
         kv[3] == std::pair<std::string_view, std::string_view>("worker", "0") &&
         kv[4].first == "max_frame" &&
         kv[4].second == std::to_string(kMaxFrame) &&
         kv[5].first == "idle_timeout_ms" && decimal(kv[5].second);
}

// The built-in services as SERVICES lists them and RESOLVE finds them.
const std::pair<uint16_t, const char*> kServices[] = {
    {sys::kId, "sys"}, {echo::kId, "echo"}, {kv::kId, "kv"}, {room::kId, "room"}};

// Whether `status` and `body` can answer `a` to `service`. kv and room are
// the kv_room target's business; here, what sys and echo owe (the bodies
// checked byte for byte where they are known, so that a byte lost or moved
// in the server's buffers shows) and that an unknown service or op is
// refused as such.
bool answers(uint16_t service, const Asked& a, uint16_t status,
             const std::string& body) {
  const auto st = static_cast<Status>(status);
  switch (service) {
    case sys::kId:
      switch (a.op) {
        case sys::kPing:
          return st == Status::kOk && body == a.body;
        case sys::kHello:
          return st == Status::kOk && hello_body(body);
        case sys::kServices: {
          std::string want;
          for (auto& [id, name] : kServices)
            want += std::to_string(id) + " " + name + "\n";
          return st == Status::kOk && body == want;
        }
        case sys::kInfo:
          return st == Status::kOk && lines(body, [](std::string_view l) {
                   size_t sp = l.find(' ');
                   return sp != std::string_view::npos && sp > 0 &&
                          decimal(l.substr(sp + 1));
                 });
        case sys::kResolve:
          for (auto& [id, name] : kServices) {
            if (a.body == name)
              return st == Status::kOk && body == fuzz::u16s(id);
          }
          return st == Status::kNotFound;
        case sys::kTell:
          if (a.body.size() < 8) return st == Status::kBadRequest;
          return (st == Status::kOk && body.empty()) || st == Status::kNotFound;
        case sys::kAuth:
          return true;  // its rules are the authentication's business
        default:
          return st == Status::kNoOp;
      }
    case echo::kId:
      if (a.op == echo::kEcho) return st == Status::kOk && body == a.body;
      return st == Status::kNoOp;
    case kv::kId:
    case room::kId:
      return true;
    default:
      return st == Status::kNoService;
  }
}

struct Observed {
  bool goodbye = false;
  Goodbye code = Goodbye::kProtocol;
};

void check_output(std::string& rx, Prediction& want, Observed& seen) {
  FrameHeader h;
  std::string body;
  while (take_frame(rx, kMaxFrame, &h, &body)) {
    FUZZ_CHECK(!seen.goodbye, "a %s frame after GOODBYE", kind_name(h.kind));
    switch (h.kind) {
      case Kind::kReply: {
        FUZZ_CHECK(h.code <= static_cast<uint16_t>(Status::kDenied),
                   "REPLY status %u is not in the contract", h.code);
        FUZZ_CHECK(h.code != static_cast<uint16_t>(Status::kInternal),
                   "INTERNAL from service %u: %s", h.service, body.c_str());
        // Replies may come in any order, and a session id may be reused:
        // any REQUEST still open with this service and session will do.
        auto [first, last] = want.requests.equal_range({h.service, h.session});
        FUZZ_CHECK(first != last,
                   "REPLY service %u session %u answers no REQUEST sent",
                   h.service, h.session);
        auto it = first;
        while (it != last && !answers(h.service, it->second, h.code, body)) ++it;
        FUZZ_CHECK(it != last,
                   "REPLY service %u op %u session %u: status %s, %zu bytes, "
                   "is not its answer",
                   h.service, first->second.op, h.session,
                   status_name(static_cast<Status>(h.code)), body.size());
        want.requests.erase(it);
        break;
      }
      case Kind::kPush:
        FUZZ_CHECK(pushes(h.service, h.code), "PUSH %u/%u from nowhere",
                   h.service, h.code);
        break;
      case Kind::kGoodbye:
        seen.goodbye = true;
        seen.code = static_cast<Goodbye>(h.code);
        break;
      default:
        FUZZ_CHECK(false, "kind %u", static_cast<unsigned>(h.kind));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t* stream = data + 1;
  const size_t n = size - 1;
  // At most a few hundred writes: one byte at a time through a long input
  // would only make the run slow.
  const size_t cut = data[0] & 0x7F;
  const bool slow = (data[0] & 0x80) != 0;
  size_t chunk = cut == 0 ? std::max<size_t>(n, 1)
                          : std::max<size_t>(cut, n / 256 + 1);

  Prediction want = predict(stream, n);
  Observed seen;
  fuzz::InProcessServer srv(fuzz_config());
  size_t c = srv.connect();
  if (slow) {
    srv.set_write_limit(c, cut == 0 ? kSlowWriteBytes : chunk);
    srv.set_read_limit(c, kSlowReadBytes);
    chunk = std::max<size_t>(n, 1);  // one settle: the limits do the cutting
  }
  for (size_t off = 0; off < n; off += chunk) {
    size_t len = std::min(chunk, n - off);
    srv.send(c, {reinterpret_cast<const char*>(stream + off), len});
    srv.settle();
    check_output(srv.received(c), want, seen);
  }
  srv.shut_write(c);
  srv.settle();
  check_output(srv.received(c), want, seen);

  FUZZ_CHECK(srv.closed_by_server(c),
             "the server kept the connection after the client shut its side");
  FUZZ_CHECK(srv.received(c).empty(), "%zu bytes of a cut frame at the end",
             srv.received(c).size());
  if (want.bad_frame) {
    FUZZ_CHECK(seen.goodbye, "no GOODBYE for a bad frame");
    FUZZ_CHECK(seen.code == want.goodbye, "GOODBYE %s for a bad frame, not %s",
               goodbye_name(seen.code), goodbye_name(want.goodbye));
  } else {
    FUZZ_CHECK(!seen.goodbye, "GOODBYE %s for a good stream",
               goodbye_name(seen.code));
  }
  FUZZ_CHECK(want.requests.empty(), "%zu REQUESTs got no REPLY",
             want.requests.size());
  return 0;
}
