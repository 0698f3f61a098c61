// The kv_room target's input format: a program for three client slots,
// shared by the target (fuzz/kv_room_fuzz.cpp) and the seed generator
// (fuzz/make_corpus.cpp). Past the end of the input every byte reads as 0.
//
//   step     := u8 action (mod kActions), u8 slot (mod 3), operands
//   kKvGet, kKvDel           key
//   kKvSet                   key, ttl, value
//   kKvIncr                  key, delta
//   kJoin, kLeave, kMembers  room
//   kPublish                 room, value (the payload)
//   kRaw                     u8 sel (bit 0: room, else kv; bit 1: a u16 op
//                            follows, else the op is bits 2..4), u16 body
//                            length (mod max_frame + 1), the body
//   kInfo, kStall, kDisconnect, kShut   nothing
//   kStop                    nothing: the daemon is stopped (every client
//                            gets GOODBYE SHUTDOWN) and the program ends
//   kBurst                   u8 copies - 1, u8 request action (mod
//                            kRequests + 1), its operands
//   kOneWay                  u8 request action, its operands (sent as SEND)
//   kAdvance                 u16 milliseconds (mod kMaxAdvanceMs + 1)
//
// Operands are selectors, so that most steps meet the same few keys and
// rooms and the rest hit the edges:
//   key    u8 k: below kPickSized "k<k mod 6>"; below kPickEmpty a key of
//          1, 2, 255, 256, 511, 512, 513 or 1000 bytes (k mod 8); kPickEmpty
//          the empty key; above, u8 length and the bytes
//   room   the same with "r<k mod 4>" and 1, 254, 255 or 256 bytes (k mod 4)
//   value  u8 v: below kValueDecimal, v mod 32 bytes follow; below
//          kValueLong a u64 follows, written as decimal text; above,
//          (v - kValueLong + 1) * 120 bytes of 'x'
//   ttl    u8 t: below 0x80 none; below 0xF0 t - 0x7F ms; below 0xFF
//          (t - 0xEF) s; 0xFF a u32 follows
//   delta  u8 d: below 0x80 d - 0x40; below 0xFF one of the i64 edges
//          (d mod 8); 0xFF an i64 follows
#pragma once

#include <cstdint>

namespace hazel::fuzz::kv_room {

enum Action : uint8_t {
  kKvGet, kKvSet, kKvDel, kKvIncr, kJoin, kLeave, kPublish, kMembers, kRaw,
  kRequests = kRaw,  // actions up to here build one request
  kInfo, kBurst, kOneWay, kAdvance, kStall, kDisconnect, kShut, kStop,
  kActions
};

inline constexpr uint8_t kPickSized = 0xC0;
inline constexpr uint8_t kPickEmpty = 0xE0;
inline constexpr uint8_t kPickRaw = 0xE1;
inline constexpr uint8_t kValueDecimal = 0xE0;
inline constexpr uint8_t kValueLong = 0xF0;
inline constexpr uint16_t kMaxAdvanceMs = 8191;

}  // namespace hazel::fuzz::kv_room
