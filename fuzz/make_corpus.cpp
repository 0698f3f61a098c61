// Writes the fuzz targets' seed corpora (fuzz/corpus/<name>/) and
// dictionaries (fuzz/<name>.dict) from the wire numbers of hazel/frame.h and
// hazel/builtins.h, so that the seeds are real frames and the dictionaries
// name the real header fields. `make fuzz-corpus` runs it; its output is
// committed, so that `make fuzz` needs nothing but the fuzz targets.
//
//   make_corpus DIR      (DIR is fuzz/)
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/bench_resp.h"
#include "hazel/builtins.h"
#include "hazel/frame.h"
#include "lib/bytes.h"
#include "lib/kv_room_program.h"

namespace {

using namespace hazel;
namespace kr = hazel::fuzz::kv_room;
using fuzz::u16s;
using fuzz::u32s;
using fuzz::u64s;
using fuzz::u8s;

std::string dir_;

bool write_file(const std::string& path, std::string_view bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    std::perror(path.c_str());
    return false;
  }
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

bool seeds(const char* target,
           const std::vector<std::pair<const char*, std::string>>& files) {
  std::string d = dir_ + "/corpus/" + target;
  mkdir((dir_ + "/corpus").c_str(), 0755);
  mkdir(d.c_str(), 0755);
  for (auto& [name, bytes] : files)
    if (!write_file(d + "/" + name, bytes)) return false;
  return true;
}

// libFuzzer's dictionary format: one quoted token a line, \xNN escapes.
bool dict(const char* target,
          const std::vector<std::pair<const char*, std::string>>& tokens) {
  std::string out = std::string("# ") + target +
                    " fuzz target: tokens from hazel/frame.h and "
                    "hazel/builtins.h (written by fuzz/make_corpus.cpp)\n";
  for (auto& [name, bytes] : tokens) {
    out += name;
    out += "=\"";
    for (unsigned char c : bytes) {
      char esc[8];
      if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
        out += static_cast<char>(c);
      } else {
        std::snprintf(esc, sizeof esc, "\\x%02X", c);
        out += esc;
      }
    }
    out += "\"\n";
  }
  return write_file(dir_ + "/" + target + ".dict", out);
}

std::string frame(Kind k, uint16_t service, uint16_t code, uint32_t session,
                  std::string_view body = {}) {
  return encode_frame(k, service, code, session, body);
}
std::string req(uint16_t service, uint16_t op, uint32_t session,
                std::string_view body = {}) {
  return frame(Kind::kRequest, service, op, session, body);
}
std::string keyed(std::string_view key, std::string_view rest) {
  return u16s(static_cast<uint16_t>(key.size())) + std::string(key) +
         std::string(rest);
}
std::string header_only(Kind k, uint32_t length) {
  return frame(k, sys::kId, sys::kPing, 1).substr(0, 12) + u32s(length);
}

// Tokens of a frame header, shared by codec and message.
std::vector<std::pair<const char*, std::string>> header_tokens() {
  std::string magic = {static_cast<char>(kMagic0), static_cast<char>(kMagic1)};
  std::string v = magic + u8s(kProtocolVersion);
  return {
      {"magic", magic},
      {"magic_version", v},
      {"request", v + u8s(static_cast<uint8_t>(Kind::kRequest))},
      {"send", v + u8s(static_cast<uint8_t>(Kind::kSend))},
      {"reply", v + u8s(static_cast<uint8_t>(Kind::kReply))},
      {"push", v + u8s(static_cast<uint8_t>(Kind::kPush))},
      {"goodbye", v + u8s(static_cast<uint8_t>(Kind::kGoodbye))},
      {"bus_first", v + u8s(kBusKindFirst)},
      {"bus_last", v + u8s(kBusKindLast)},
      {"svc_sys", u16s(sys::kId)},
      {"svc_echo", u16s(echo::kId)},
      {"svc_kv", u16s(kv::kId)},
      {"svc_room", u16s(room::kId)},
      {"sys_ping", u16s(sys::kId) + u16s(sys::kPing)},
      {"sys_hello", u16s(sys::kId) + u16s(sys::kHello)},
      {"sys_resolve", u16s(sys::kId) + u16s(sys::kResolve)},
      {"sys_services", u16s(sys::kId) + u16s(sys::kServices)},
      {"sys_info", u16s(sys::kId) + u16s(sys::kInfo)},
      {"sys_tell", u16s(sys::kId) + u16s(sys::kTell)},
      {"sys_auth", u16s(sys::kId) + u16s(sys::kAuth)},
      {"echo_echo", u16s(echo::kId) + u16s(echo::kEcho)},
      {"kv_get", u16s(kv::kId) + u16s(kv::kGet)},
      {"kv_set", u16s(kv::kId) + u16s(kv::kSet)},
      {"kv_del", u16s(kv::kId) + u16s(kv::kDel)},
      {"kv_incr", u16s(kv::kId) + u16s(kv::kIncr)},
      {"room_join", u16s(room::kId) + u16s(room::kJoin)},
      {"room_leave", u16s(room::kId) + u16s(room::kLeave)},
      {"room_publish", u16s(room::kId) + u16s(room::kPublish)},
      {"room_members", u16s(room::kId) + u16s(room::kMembers)},
      {"len_0", u32s(0)},
      {"len_1k", u32s(1024)},
      {"len_1k_1", u32s(1025)},
      {"len_default_max", u32s(kDefaultMaxFrame)},
      {"len_default_max_1", u32s(kDefaultMaxFrame + 1)},
      {"len_max", u32s(UINT32_MAX)},
      {"client_1", u64s(1)},
      {"name_kv", "kv"},
      {"name_room", "room"},
  };
}

// ---- codec: u32 max_frame (0: the default), then bytes ------------------------

bool codec() {
  const std::string dflt = u32s(0);
  return seeds("codec",
             {{"ping", dflt + req(sys::kId, sys::kPing, 1, "hi")},
              {"send_then_get",
               dflt + frame(Kind::kSend, echo::kId, echo::kEcho, 0, "x") +
                   req(kv::kId, kv::kGet, 2, "k")},
              {"reply", u32s(1024) + frame(Kind::kReply, room::kId, 0, 7,
                                           u32s(1))},
              {"push", dflt + frame(Kind::kPush, room::kId, room::kPublish, 0,
                                    u8s(1) + "r" + u64s(1) + "hi")},
              {"goodbye", dflt + frame(Kind::kGoodbye, 0,
                                       static_cast<uint16_t>(Goodbye::kProtocol),
                                       0, "bad magic")},
              {"too_large", u32s(16) + header_only(Kind::kRequest, 17)},
              {"bus", dflt + frame(static_cast<Kind>(kBusKindFirst), 0, 0, 0, "b")},
              {"partial", dflt + req(sys::kId, sys::kPing, 1).substr(0, 5)}}) &&
         dict("codec", header_tokens());
}

// ---- message: u8 write size (0: one write; | 0x80: a slow client), stream ---

bool message() {
  auto stream = [](uint8_t chunk, std::string s) { return u8s(chunk) + s; };
  std::string hellos;
  for (uint32_t i = 0; i < 200; ++i) hellos += req(sys::kId, sys::kHello, i);
  // Long enough that a slow client's socket fills and the server's output
  // ring holds bytes across turns while more requests arrive.
  std::string more_hellos;
  for (uint32_t i = 0; i < 900; ++i) more_hellos += req(sys::kId, sys::kHello, i);
  // Frames straddling every write, so the input ring never empties and
  // its contents wrap around its end.
  std::string echoes;
  for (uint32_t i = 0; i < 60; ++i)
    echoes += req(echo::kId, echo::kEcho, i, std::string(84, static_cast<char>('a' + i % 26)));
  std::string kvs = req(kv::kId, kv::kSet, 1, keyed("k", u32s(0) + "v")) +
                    req(kv::kId, kv::kGet, 2, "k") +
                    req(kv::kId, kv::kIncr, 3, keyed("n", u64s(5))) +
                    req(kv::kId, kv::kDel, 4, "k");
  std::string rooms =
      req(room::kId, room::kJoin, 1, "r") +
      req(room::kId, room::kPublish, 2, u8s(1) + "r" + "hi") +
      req(room::kId, room::kMembers, 3, "r") + req(room::kId, room::kLeave, 4, "r");
  if (!seeds(
          "message",
          {{"hello", stream(0, req(sys::kId, sys::kHello, 1))},
           {"sys_ops", stream(0, req(sys::kId, sys::kPing, 1, "p") +
                                     req(sys::kId, sys::kServices, 2) +
                                     req(sys::kId, sys::kInfo, 3) +
                                     req(sys::kId, sys::kResolve, 4, "kv"))},
           {"kv_split", stream(7, kvs)},
           {"rooms", stream(0, rooms)},
           {"echo_tell",
            stream(0, frame(Kind::kSend, echo::kId, echo::kEcho, 0, "abc") +
                          req(echo::kId, echo::kEcho, 1, "abc") +
                          req(sys::kId, sys::kTell, 2, u64s(1) + "me"))},
           {"bad_version",
            stream(3, req(sys::kId, sys::kPing, 1) +
                          std::string("HZ") + u8s(kProtocolVersion + 1) +
                          std::string(13, '\0'))},
           {"too_large", stream(0, req(sys::kId, sys::kPing, 1) +
                                       header_only(Kind::kRequest, 2000))},
           {"cut_short", stream(0, req(echo::kId, echo::kEcho, 1, "abcdef")
                                       .substr(0, 19))},
           {"many_hellos", stream(0, hellos)},
           {"ring_wrap", stream(113, echoes)},
           {"slow_client", stream(0x80 | 127, more_hellos)}}))
    return false;
  return dict("message", header_tokens());
}

// ---- kv_room: programs (fuzz/lib/kv_room_program.h) ---------------------------

std::string step(kr::Action a, uint8_t slot, std::string operands = {}) {
  return u8s(a) + u8s(slot) + operands;
}
// Selectors.
std::string key(uint8_t n) { return u8s(n); }  // "k<n>"
std::string room_sel(uint8_t n) { return u8s(n); }  // "r<n>"
std::string value(std::string_view v) {
  return u8s(static_cast<uint8_t>(v.size())) + std::string(v);
}
std::string decimal(int64_t v) {
  return u8s(kr::kValueDecimal) + u64s(static_cast<uint64_t>(v));
}
std::string ttl_ms(uint8_t ms) { return u8s(static_cast<uint8_t>(0x7F + ms)); }
const std::string kNoTtl = u8s(0);
std::string delta(int8_t d) { return u8s(static_cast<uint8_t>(d + 0x40)); }

bool kv_room() {
  std::string kv_basic =
      step(kr::kKvSet, 0, key(0) + kNoTtl + value("hello")) +
      step(kr::kKvGet, 1, key(0)) + step(kr::kKvIncr, 2, key(1) + delta(5)) +
      step(kr::kKvIncr, 0, key(1) + delta(-7)) + step(kr::kKvDel, 1, key(0)) +
      step(kr::kKvGet, 2, key(0));
  std::string ttl = step(kr::kKvSet, 0, key(2) + ttl_ms(10) + value("soon")) +
                    step(kr::kKvGet, 0, key(2)) + step(kr::kAdvance, 0, u16s(20)) +
                    step(kr::kKvGet, 1, key(2)) + step(kr::kInfo, 2);
  // INCR keeps the key's TTL; after it the key still expires.
  std::string incr_ttl =
      step(kr::kKvSet, 0, key(5) + u8s(0xF0) + decimal(41)) +
      step(kr::kKvIncr, 1, key(5) + delta(1)) + step(kr::kKvGet, 2, key(5)) +
      step(kr::kAdvance, 0, u16s(1000)) + step(kr::kKvGet, 0, key(5));
  std::string incr_edges =
      step(kr::kKvSet, 0, key(3) + kNoTtl + decimal(INT64_MAX)) +
      step(kr::kKvIncr, 0, key(3) + delta(1)) +
      step(kr::kKvSet, 1, key(4) + kNoTtl + value("abc")) +
      step(kr::kKvIncr, 1, key(4) + delta(1));
  std::string rooms =
      step(kr::kJoin, 0, room_sel(0)) + step(kr::kJoin, 1, room_sel(0)) +
      step(kr::kJoin, 2, room_sel(1)) +
      step(kr::kPublish, 2, room_sel(0) + value("to r0")) +
      step(kr::kPublish, 0, room_sel(0) + value("mine too")) +
      step(kr::kMembers, 1, room_sel(0)) + step(kr::kLeave, 0, room_sel(0)) +
      step(kr::kLeave, 0, room_sel(0)) + step(kr::kInfo, 1) + step(kr::kStop, 0);
  std::string slow_member =
      step(kr::kJoin, 1, room_sel(0)) + step(kr::kStall, 1) +
      step(kr::kBurst, 0,
           u8s(199) + u8s(kr::kPublish) + room_sel(0) + u8s(kr::kValueLong + 8)) +
      step(kr::kInfo, 2) + step(kr::kKvGet, 1, key(0));
  std::string leaving =
      step(kr::kRaw, 0, u8s(2) + u16s(9) + u16s(3) + "abc") +
      step(kr::kRaw, 1, u8s(3) + u16s(0x8001) + u16s(2) + "r0") +
      step(kr::kOneWay, 2, u8s(kr::kJoin) + room_sel(2)) +
      step(kr::kJoin, 0, room_sel(2)) + step(kr::kDisconnect, 0) +
      step(kr::kShut, 2) + step(kr::kMembers, 1, room_sel(2)) +
      step(kr::kAdvance, 1, u16s(6000)) + step(kr::kInfo, 1);
  // Overwrites of a key with a TTL leave stale deadlines behind until kv
  // rebuilds its heap (more than 1024 of them).
  std::string ttl_churn;
  for (int i = 0; i < 5; ++i)
    ttl_churn += step(kr::kBurst, 0,
                      u8s(255) + u8s(kr::kKvSet) + key(0) + u8s(0xF0) + value("v"));
  ttl_churn += step(kr::kAdvance, 1, u16s(kr::kMaxAdvanceMs)) + step(kr::kInfo, 1);
  return seeds("kv_room", {{"kv_basic", kv_basic},
                           {"ttl_churn", ttl_churn},
                           {"ttl", ttl},
                           {"incr_edges", incr_edges},
                           {"incr_ttl", incr_ttl},
                           {"rooms", rooms},
                           {"slow_member", slow_member},
                           {"leaving", leaving}}) &&
         dict("kv_room",
              {{"pick_sized", u8s(kr::kPickSized)},
               {"pick_empty", u8s(kr::kPickEmpty)},
               {"pick_raw", u8s(kr::kPickRaw)},
               {"value_decimal", u8s(kr::kValueDecimal)},
               {"value_long", u8s(kr::kValueLong)},
               {"i64_max", u64s(INT64_MAX)},
               {"i64_min", u64s(static_cast<uint64_t>(INT64_MIN))},
               {"u32_max", u32s(UINT32_MAX)},
               {"count_local", u16s(0x8001)}});
}

// ---- resp: a reply stream ---------------------------------------------------------

bool resp_seeds() {
  using hazel_bench::resp_bulk;
  using hazel_bench::resp_command;
  return seeds("resp",
               {{"pong", "+PONG\r\n"},
                {"bulk", resp_bulk("hello")},
                {"subscribe", "*3\r\n" + resp_bulk("subscribe") +
                                  resp_bulk("bench") + ":1\r\n"},
                {"mixed", "-ERR unknown\r\n:42\r\n$-1\r\n*-1\r\n"},
                {"nested", "*2\r\n*1\r\n+a\r\n" + resp_bulk("")},
                {"partial", resp_bulk("abc").substr(0, 6)},
                {"command", resp_command({"SET", "k", "v"})},
                // What a cluster node's subscriber reads: a bus frame for it.
                {"message", "*3\r\n" + resp_bulk("message") +
                                resp_bulk("hazel:to:3") +
                                resp_bulk(std::string("\0\1", 2) +
                                          hazel::encode_frame(
                                              static_cast<hazel::Kind>(18), 0, 0,
                                              0, std::string(4, '\0')))},
                {"heartbeat", "*4\r\n$-1\r\n" + resp_bulk("host:42") +
                                  ":-9223372036854775808\r\n*2\r\n" +
                                  resp_bulk("hazel:to:1") + ":1\r\n"}}) &&
         dict("resp", {{"crlf", "\r\n"},
                       {"simple", "+"},
                       {"error", "-"},
                       {"integer", ":"},
                       {"bulk", "$"},
                       {"array", "*"},
                       {"null_bulk", "$-1\r\n"},
                       {"null_array", "*-1\r\n"},
                       {"max_bulk", std::to_string(hazel_bench::kMaxRespBulk)},
                       {"max_bulk_1",
                        std::to_string(hazel_bench::kMaxRespBulk + 1)},
                       {"pong", "+PONG\r\n"},
                       {"message", "message"},
                       {"int_min", "-9223372036854775808"}});
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus DIR\n");
    return 2;
  }
  dir_ = argv[1];
  bool ok = codec() && message() && kv_room() && resp_seeds();
  return ok ? 0 : 1;
}
