// Body builders and parsers for the kv (2) and room (3) tests, plus
// pipelining over one BlockingClient. Everything here speaks the wire layout
// of PROTOCOL.md directly, so the tests do not lean on the server's code.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hazel/client.h"
#include "hazel/frame.h"
#include "net_util.h"
#include "test_server.h"

namespace hazel::test::kvroom {

// Short names for kv and room and their ops (hazel/builtins.h).
constexpr uint16_t kKv = kv::kId;
constexpr uint16_t kRoom = room::kId;

using kv::kDel;
using kv::kGet;
using kv::kIncr;
using kv::kSet;

using room::kJoin;
using room::kLeave;
using room::kMembers;
using room::kPublish;

// SET: u16 key length, key, u32 ttl ms, value.
inline std::string set_body(std::string_view key, uint32_t ttl_ms,
                            std::string_view value) {
  std::string b;
  append_u16(b, static_cast<uint16_t>(key.size()));
  b.append(key);
  append_u32(b, ttl_ms);
  b.append(value);
  return b;
}

// INCR: u16 key length, key, i64 delta (two's complement).
inline std::string incr_body(std::string_view key, int64_t delta) {
  std::string b;
  append_u16(b, static_cast<uint16_t>(key.size()));
  b.append(key);
  append_u64(b, static_cast<uint64_t>(delta));
  return b;
}

// PUBLISH: u8 name length, name, payload.
inline std::string publish_body(std::string_view room,
                                std::string_view payload) {
  std::string b;
  append_u8(b, static_cast<uint8_t>(room.size()));
  b.append(room);
  b.append(payload);
  return b;
}

// The PUSH 3/3 body every member should see.
inline std::string room_push_body(std::string_view room, uint64_t publisher,
                                  std::string_view payload) {
  std::string b;
  append_u8(b, static_cast<uint8_t>(room.size()));
  b.append(room);
  append_u64(b, publisher);
  b.append(payload);
  return b;
}

inline std::string u32_bytes(uint32_t v) {
  std::string s;
  append_u32(s, v);
  return s;
}

inline std::string u8_bytes(uint8_t v) {
  return std::string(1, static_cast<char>(v));
}

// A 4-byte body as u32; fails the test otherwise.
inline uint32_t body_u32(const Frame& f) {
  EXPECT_EQ(f.body.size(), 4u) << "expected a u32 body";
  if (f.body.size() != 4) return UINT32_MAX;
  return get_u32(reinterpret_cast<const uint8_t*>(f.body.data()));
}

// A MEMBERS body (u64 each) as a sorted list; fails the test if ragged.
inline std::vector<uint64_t> body_ids(const Frame& f) {
  EXPECT_EQ(f.body.size() % 8, 0u) << "MEMBERS body not a multiple of 8";
  std::vector<uint64_t> ids;
  for (size_t i = 0; i + 8 <= f.body.size(); i += 8)
    ids.push_back(get_u64(reinterpret_cast<const uint8_t*>(f.body.data()) + i));
  std::sort(ids.begin(), ids.end());
  return ids;
}

struct RoomPush {
  std::string room;
  uint64_t publisher = 0;
  std::string payload;
};

// Parses a PUSH 3/3 body; false if the layout is wrong.
inline bool parse_room_push(const Frame& f, RoomPush* out) {
  if (f.header.kind != Kind::kPush || f.header.service != kRoom ||
      f.header.code != kPublish || f.body.empty())
    return false;
  size_t nlen = static_cast<uint8_t>(f.body[0]);
  if (f.body.size() < 1 + nlen + 8) return false;
  out->room = f.body.substr(1, nlen);
  out->publisher =
      get_u64(reinterpret_cast<const uint8_t*>(f.body.data()) + 1 + nlen);
  out->payload = f.body.substr(1 + nlen + 8);
  return true;
}

// The next PUSH, or a frame of kind 0 on timeout/close (the test fails).
inline Frame expect_push(BlockingClient& c, int timeout_ms = 3000) {
  Frame f;
  f.header.kind = static_cast<Kind>(0);
  std::string err;
  EXPECT_TRUE(c.next_push(&f, timeout_ms, &err)) << err;
  return f;
}

// True if no PUSH is pending after a PING round trip: anything the server
// queued for `c` before it answered the PING has arrived by then.
inline bool no_push_pending(BlockingClient& c) {
  EXPECT_TRUE(ping_ok(c));
  Frame f;
  std::string err;
  return !c.next_push(&f, 0, &err);
}

// Sorted MEMBERS of `room` as seen by `c`.
inline std::vector<uint64_t> members_of(BlockingClient& c,
                                        std::string_view room) {
  Frame f = call(c, kRoom, kMembers, room);
  EXPECT_TRUE(f.ok()) << "MEMBERS status " << f.header.code << ": " << f.body;
  return body_ids(f);
}

// u32 count from a PUBLISH through `c`, or UINT32_MAX if it was not OK.
inline uint32_t publish(BlockingClient& c, std::string_view room,
                        std::string_view payload) {
  Frame f = call(c, kRoom, kPublish, publish_body(room, payload));
  EXPECT_TRUE(f.ok()) << "PUBLISH status " << f.header.code << ": " << f.body;
  if (!f.ok()) return UINT32_MAX;
  return body_u32(f);
}

// u32 count from a JOIN, or UINT32_MAX if it was not OK.
inline uint32_t join(BlockingClient& c, std::string_view room) {
  Frame f = call(c, kRoom, kJoin, room);
  EXPECT_TRUE(f.ok()) << "JOIN status " << f.header.code << ": " << f.body;
  if (!f.ok()) return UINT32_MAX;
  return body_u32(f);
}

// Reads `n` REPLY frames written in one pipelined burst, keyed by session.
// PUSHes met on the way are skipped.
inline std::map<uint32_t, Frame> read_replies(BlockingClient& c, size_t n,
                                              int timeout_ms = 5000) {
  std::map<uint32_t, Frame> out;
  while (out.size() < n) {
    Frame f;
    std::string err;
    if (!c.read_frame(&f, timeout_ms, &err)) {
      ADD_FAILURE() << "after " << out.size() << " of " << n
                    << " replies: " << err;
      break;
    }
    if (f.header.kind == Kind::kReply) {
      uint32_t s = f.header.session;
      if (!out.emplace(s, std::move(f)).second)
        ADD_FAILURE() << "a second REPLY for session " << s;
    }
  }
  return out;
}

}  // namespace hazel::test::kvroom
