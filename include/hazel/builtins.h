// Wire numbers of the built-in services (docs/PROTOCOL.md, "Built-in
// services"): service ids, op codes and the size limits of their bodies.
// This is the one definition; the services, the tools, the tests and the
// examples all use it.
//
//   client.call(hazel::kv::kId, hazel::kv::kGet, "greeting", &reply, ...);
#pragma once

#include <cstddef>
#include <cstdint>

namespace hazel {

namespace sys {
inline constexpr uint16_t kId = 0;
inline constexpr uint16_t kPing = 1;
inline constexpr uint16_t kHello = 2;
inline constexpr uint16_t kResolve = 3;
inline constexpr uint16_t kServices = 4;
inline constexpr uint16_t kInfo = 5;
inline constexpr uint16_t kTell = 6;   // also the PUSH code a TELL arrives as
inline constexpr uint16_t kAuth = 7;
}  // namespace sys

namespace echo {
inline constexpr uint16_t kId = 1;
inline constexpr uint16_t kEcho = 1;  // also the PUSH code of an echoed SEND
}  // namespace echo

namespace kv {
inline constexpr uint16_t kId = 2;
inline constexpr uint16_t kGet = 1;
inline constexpr uint16_t kSet = 2;
inline constexpr uint16_t kDel = 3;
inline constexpr uint16_t kIncr = 4;
inline constexpr size_t kMaxKey = 512;  // keys are 1..kMaxKey bytes
// What one key costs beyond its key and value bytes, as INFO kv_bytes and
// --kv-max-bytes count it: about what the hash node, its bucket, the
// bookkeeping and the allocator's headers take.
inline constexpr size_t kKeyOverhead = 128;
}  // namespace kv

namespace room {
inline constexpr uint16_t kId = 3;
inline constexpr uint16_t kJoin = 1;
inline constexpr uint16_t kLeave = 2;
inline constexpr uint16_t kPublish = 3;  // also the PUSH code members get
inline constexpr uint16_t kMembers = 4;
inline constexpr size_t kMaxName = 255;  // room names are 1..kMaxName bytes
}  // namespace room

}  // namespace hazel
