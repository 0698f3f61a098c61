// room's caps over real sockets (--max-rooms-per-client, --max-rooms): the
// BUSY a client gets, that a refused JOIN changes nothing, that the other
// clients are unharmed; and memberships kept exact through many LEAVEs in
// any order (each LEAVE unlinks one membership from both of its lists).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kv_room_util.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;
using namespace hazel::test::kvroom;

namespace {

std::string room_n(int i) { return "room-" + std::to_string(i); }

// A started server with these room limits (0: the default).
std::unique_ptr<TestServer> serve(uint32_t per_client, uint32_t rooms = 0) {
  Config cfg = test_config();
  if (per_client != 0) cfg.max_rooms_per_client = per_client;
  if (rooms != 0) cfg.max_rooms = rooms;
  auto s = std::make_unique<TestServer>(cfg);
  s->start();
  return s;
}

// Sends one request per name in one write and expects every reply to have
// status `want`.
void pipeline(BlockingClient& c, uint16_t op, const std::vector<std::string>& names,
              Status want) {
  std::string burst;
  for (size_t i = 0; i < names.size(); ++i)
    burst += request(kRoom, op, static_cast<uint32_t>(i), names[i]);
  write_all(c, burst);
  auto replies = read_replies(c, names.size(), 20000);
  ASSERT_EQ(replies.size(), names.size());
  for (auto& [session, f] : replies)
    ASSERT_EQ(f.status(), want) << "op " << op << " " << names[session] << ": "
                                << f.body;
}

}  // namespace

TEST(RoomCap, JoinPastTheClientsLimitIsBusyAndOtherClientsStillJoin) {
  auto s = serve(3);
  auto greedy = s->connect();
  auto other = s->connect();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(join(*greedy, room_n(i)), 1u);
  Frame f = call(*greedy, kRoom, kJoin, room_n(3));
  expect_status(f, Status::kBusy);
  EXPECT_EQ(f.body, "client is in too many rooms (at most 3)");
  // The refused JOIN changed nothing: no such room, no such member.
  EXPECT_TRUE(members_of(*other, room_n(3)).empty());
  EXPECT_EQ(info_value(*other, "rooms"), 3);
  EXPECT_EQ(info_value(*other, "room_joins_refused"), 1);
  // Joining a room it is in already is no new room.
  EXPECT_EQ(join(*greedy, room_n(1)), 1u);
  // Another client joins the room it could not, and two of its rooms.
  EXPECT_EQ(join(*other, room_n(3)), 1u);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(join(*other, room_n(i)), 2u);
  // The greedy client still hears its rooms, and a LEAVE makes room for a
  // JOIN again.
  EXPECT_EQ(publish(*other, room_n(0), "hi"), 2u);
  RoomPush p;
  ASSERT_TRUE(parse_room_push(expect_push(*greedy), &p));
  EXPECT_EQ(p.room, room_n(0));
  ASSERT_TRUE(call(*greedy, kRoom, kLeave, room_n(0)).ok());
  EXPECT_EQ(join(*greedy, room_n(3)), 2u);
}

TEST(RoomCap, JoinCreatingARoomPastTheServersLimitIsBusy) {
  auto s = serve(0, 2);
  auto a = s->connect();
  auto b = s->connect();
  EXPECT_EQ(join(*a, "x"), 1u);
  EXPECT_EQ(join(*a, "y"), 1u);
  Frame f = call(*b, kRoom, kJoin, "z");
  expect_status(f, Status::kBusy);
  EXPECT_EQ(f.body, "server holds too many rooms (at most 2 on this worker)");
  EXPECT_TRUE(ping_ok(*b)) << "connection unusable after BUSY";
  // Rooms that exist take more members.
  EXPECT_EQ(join(*b, "x"), 2u);
  EXPECT_EQ(info_value(*b, "rooms"), 2);
  // A room that empties is gone, and its place is free.
  ASSERT_TRUE(call(*a, kRoom, kLeave, "y").ok());
  EXPECT_EQ(join(*b, "z"), 1u);
  EXPECT_EQ(info_value(*b, "room_joins_refused"), 1);
}

TEST(RoomMembership, LeavingThousandsOfRoomsInAnyOrderKeepsEveryOtherMembership) {
  constexpr int kRooms = 3000;
  auto s = serve(kRooms);
  auto a = s->connect();
  auto b = s->connect();
  const uint64_t a_id = hello_id(*a);
  const uint64_t b_id = hello_id(*b);
  std::vector<std::string> all, b_rooms;
  for (int i = 0; i < kRooms; ++i) {
    all.push_back(room_n(i));
    if (i % 3 == 0) b_rooms.push_back(room_n(i));
  }
  pipeline(*a, kJoin, all, Status::kOk);
  pipeline(*b, kJoin, b_rooms, Status::kOk);
  // a leaves two thirds of its rooms in a shuffled order, so the swap-
  // removes move memberships around inside both lists.
  std::vector<std::string> order = all;
  std::mt19937 rng(12345);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::string> leave(order.begin(), order.begin() + kRooms * 2 / 3);
  std::vector<std::string> stay(order.begin() + kRooms * 2 / 3, order.end());
  pipeline(*a, kLeave, leave, Status::kOk);
  pipeline(*a, kLeave, leave, Status::kNotFound);
  // Every room still has exactly its members.
  auto is_b_room = [&](const std::string& r) {
    return std::find(b_rooms.begin(), b_rooms.end(), r) != b_rooms.end();
  };
  for (const std::string& r : leave) {
    auto ids = members_of(*b, r);
    std::vector<uint64_t> want;
    if (is_b_room(r)) want = {b_id};
    ASSERT_EQ(ids, want) << r;
  }
  for (const std::string& r : stay) {
    auto ids = members_of(*b, r);
    std::vector<uint64_t> want = {a_id};
    if (is_b_room(r)) want.push_back(b_id);
    std::sort(want.begin(), want.end());
    ASSERT_EQ(ids, want) << r;
  }
  EXPECT_EQ(info_value(*b, "room_members"),
            static_cast<int64_t>(stay.size() + b_rooms.size()));
  // a can leave the rest, and rejoin as many as it may.
  pipeline(*a, kLeave, stay, Status::kOk);
  EXPECT_EQ(info_value(*b, "room_members"),
            static_cast<int64_t>(b_rooms.size()));
  EXPECT_EQ(info_value(*b, "rooms"), static_cast<int64_t>(b_rooms.size()));
  pipeline(*a, kJoin, all, Status::kOk);
  // Its disconnect takes it out of every one of them.
  a->close();
  EXPECT_TRUE(eventually([&] {
    return info_value(*b, "room_members") ==
           static_cast<int64_t>(b_rooms.size());
  }));
  EXPECT_EQ(info_value(*b, "rooms"), static_cast<int64_t>(b_rooms.size()));
}

TEST(RoomMembership, MembersStillGetEachPublishersMessagesInOrderAfterLeaves) {
  TestServer s;
  s.start();
  std::vector<std::unique_ptr<BlockingClient>> m;
  for (int i = 0; i < 6; ++i) {
    m.push_back(s.connect());
    EXPECT_EQ(join(*m.back(), "r"), static_cast<uint32_t>(i + 1));
  }
  // Leaves from the front and the middle move others into their places.
  ASSERT_TRUE(call(*m[0], kRoom, kLeave, "r").ok());
  ASSERT_TRUE(call(*m[3], kRoom, kLeave, "r").ok());
  auto pub = s.connect();
  const uint64_t pub_id = hello_id(*pub);
  for (uint32_t i = 0; i < 20; ++i)
    EXPECT_EQ(publish(*pub, "r", std::to_string(i)), 4u);
  for (int k : {1, 2, 4, 5}) {
    for (uint32_t i = 0; i < 20; ++i) {
      RoomPush p;
      ASSERT_TRUE(parse_room_push(expect_push(*m[k]), &p)) << "member " << k;
      EXPECT_EQ(p.publisher, pub_id);
      EXPECT_EQ(p.payload, std::to_string(i)) << "member " << k;
    }
  }
  for (int k : {0, 3}) EXPECT_TRUE(no_push_pending(*m[k])) << "member " << k;
}
