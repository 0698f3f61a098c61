// room (service 3) against PROTOCOL.md, over real loopback sockets: JOIN /
// LEAVE / PUBLISH / MEMBERS, the PUSH layout, fan-out, ordering, members that
// go away by every means (FIN, RST, idle timeout, slow reader), size limits,
// bad bodies and INFO. Also sys TELL (PUSH 0/6), the other client-to-client
// path.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kv_room_util.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;
using namespace hazel::test::kvroom;

namespace {

class Room : public ServerTest {};
class RoomTell : public ServerTest {};

using Clients = std::vector<std::unique_ptr<BlockingClient>>;

// Expects `f` to be the PUSH 3/3 for (room, publisher, payload).
void expect_room_push(const Frame& f, std::string_view room, uint64_t publisher,
                      std::string_view payload) {
  expect_push_frame(f, kRoom, kPublish,
                    room_push_body(room, publisher, payload));
}

std::string seq_payload(uint64_t seq, size_t filler = 0) {
  std::string p;
  append_u64(p, seq);
  p.append(filler, static_cast<char>('a' + seq % 26));
  return p;
}

uint64_t seq_of(std::string_view payload) {
  if (payload.size() < 8) return UINT64_MAX;
  return get_u64(reinterpret_cast<const uint8_t*>(payload.data()));
}

}  // namespace

// ---- JOIN / LEAVE -----------------------------------------------------------

TEST_F(Room, JoinReturnsMemberCountAfterJoining) {
  auto a = connect();
  auto b = connect();
  auto c = connect();
  EXPECT_EQ(join(*a, "lobby"), 1u);
  EXPECT_EQ(join(*b, "lobby"), 2u);
  EXPECT_EQ(join(*c, "lobby"), 3u);
  EXPECT_EQ(join(*c, "other"), 1u);
}

TEST_F(Room, JoiningTwiceKeepsCountAndMembership) {
  auto a = connect();
  auto b = connect();
  uint64_t a_id = hello_id(*a);
  EXPECT_EQ(join(*b, "r"), 1u);
  EXPECT_EQ(join(*a, "r"), 2u);
  EXPECT_EQ(join(*a, "r"), 2u);
  auto ids = members_of(*b, "r");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), a_id), 1);
  EXPECT_EQ(ids.size(), 2u);
  EXPECT_EQ(publish(*b, "r", "x"), 2u);
}

TEST_F(Room, JoinedTwiceNeedsOnlyOneLeave) {
  auto a = connect();
  join(*a, "r");
  join(*a, "r");
  EXPECT_TRUE(call(*a, kRoom, kLeave, "r").ok());
  expect_status(call(*a, kRoom, kLeave, "r"), Status::kNotFound);
  EXPECT_TRUE(members_of(*a, "r").empty());
}

TEST_F(Room, LeaveReturnsOkWithEmptyBody) {
  auto a = connect();
  join(*a, "r");
  Frame f = call(*a, kRoom, kLeave, "r");
  EXPECT_TRUE(f.ok()) << "status " << f.header.code;
  EXPECT_TRUE(f.body.empty());
}

TEST_F(Room, LeaveTwiceIsNotFound) {
  auto a = connect();
  auto b = connect();
  join(*a, "r");
  join(*b, "r");  // the room outlives a's leave
  ASSERT_TRUE(call(*a, kRoom, kLeave, "r").ok());
  expect_status(call(*a, kRoom, kLeave, "r"), Status::kNotFound);
  EXPECT_TRUE(ping_ok(*a));
}

TEST_F(Room, LeaveOfRoomNeverJoinedIsNotFound) {
  auto a = connect();
  auto b = connect();
  join(*b, "r");
  expect_status(call(*a, kRoom, kLeave, "r"), Status::kNotFound);
  expect_status(call(*a, kRoom, kLeave, "nowhere"), Status::kNotFound);
  EXPECT_EQ(members_of(*a, "r").size(), 1u) << "b was taken out by a's LEAVE";
}

TEST_F(Room, LeaveStopsPushes) {
  auto a = connect();
  auto b = connect();
  auto pub = connect();
  uint64_t pub_id = hello_id(*pub);
  join(*a, "r");
  join(*b, "r");
  ASSERT_TRUE(call(*b, kRoom, kLeave, "r").ok());
  EXPECT_EQ(publish(*pub, "r", "after"), 1u);
  expect_room_push(expect_push(*a), "r", pub_id, "after");
  EXPECT_TRUE(no_push_pending(*b)) << "a member that left still gets pushes";
}

// ---- PUBLISH ----------------------------------------------------------------

TEST_F(Room, PublishToRoomWithNoMembersReturnsZero) {
  auto a = connect();
  EXPECT_EQ(publish(*a, "empty", "hello"), 0u);
  EXPECT_TRUE(no_push_pending(*a));
}

TEST_F(Room, PublishFansOutToFiftyMembers) {
  constexpr uint32_t kMembers = 50;
  Clients members;
  for (uint32_t i = 0; i < kMembers; ++i) {
    members.push_back(connect());
    ASSERT_EQ(join(*members.back(), "fan"), i + 1);
  }
  auto pub = connect();
  uint64_t pub_id = hello_id(*pub);
  ASSERT_NE(pub_id, 0u);
  const std::string payload("pay\0load", 8);
  EXPECT_EQ(publish(*pub, "fan", payload), kMembers);
  for (uint32_t i = 0; i < kMembers; ++i) {
    SCOPED_TRACE("member " + std::to_string(i));
    expect_room_push(expect_push(*members[i]), "fan", pub_id, payload);
  }
  EXPECT_TRUE(no_push_pending(*pub)) << "a non-member publisher got a push";
}

TEST_F(Room, PublisherReceivesOwnMessageWhenMember) {
  auto a = connect();
  auto b = connect();
  uint64_t a_id = hello_id(*a);
  join(*a, "r");
  join(*b, "r");
  EXPECT_EQ(publish(*a, "r", "mine"), 2u);
  expect_room_push(expect_push(*a), "r", a_id, "mine");
  expect_room_push(expect_push(*b), "r", a_id, "mine");
}

TEST_F(Room, PublishWithEmptyPayloadIsDelivered) {
  auto a = connect();
  uint64_t a_id = hello_id(*a);
  join(*a, "r");
  EXPECT_EQ(publish(*a, "r", ""), 1u);
  expect_room_push(expect_push(*a), "r", a_id, "");
}

TEST_F(Room, PushNamesTheRoomItCameFrom) {
  auto a = connect();
  auto pub = connect();
  uint64_t pub_id = hello_id(*pub);
  join(*a, "red");
  join(*a, "blue");
  EXPECT_EQ(publish(*pub, "blue", "1"), 1u);
  EXPECT_EQ(publish(*pub, "red", "2"), 1u);
  EXPECT_EQ(publish(*pub, "green", "3"), 0u);
  expect_room_push(expect_push(*a), "blue", pub_id, "1");
  expect_room_push(expect_push(*a), "red", pub_id, "2");
  EXPECT_TRUE(no_push_pending(*a));
}

TEST_F(Room, PublishAsSendIsDeliveredWithoutReply) {
  auto a = connect();
  auto pub = connect();
  uint64_t pub_id = hello_id(*pub);
  join(*a, "r");
  std::string err;
  ASSERT_TRUE(pub->send(kRoom, kPublish, publish_body("r", "fire"), &err))
      << err;
  expect_room_push(expect_push(*a), "r", pub_id, "fire");
  // Nothing answers the SEND: the next frame is the PING's REPLY.
  write_all(*pub, request(kSys, kPing, 9, "p"));
  expect_reply(read_any(*pub), 9u, "p");
}

TEST_F(Room, ThousandPipelinedPublishesArriveInOrder) {
  auto m1 = connect();
  auto m2 = connect();
  auto pub = connect();
  uint64_t pub_id = hello_id(*pub);
  join(*m1, "seq");
  join(*m2, "seq");
  constexpr uint32_t kN = 1000;
  std::string burst;
  for (uint32_t i = 0; i < kN; ++i)
    burst +=
        request(kRoom, kPublish, i, publish_body("seq", seq_payload(i, 32)));
  write_all(*pub, burst);
  auto replies = read_replies(*pub, kN);
  ASSERT_EQ(replies.size(), kN);
  for (auto& [sess, f] : replies) {
    ASSERT_TRUE(f.ok()) << "session " << sess << " status " << f.header.code;
    ASSERT_EQ(body_u32(f), 2u) << "session " << sess;
  }
  for (BlockingClient* m : {m1.get(), m2.get()}) {
    for (uint32_t i = 0; i < kN; ++i) {
      Frame f = expect_push(*m);
      RoomPush p;
      ASSERT_TRUE(parse_room_push(f, &p)) << "push " << i;
      ASSERT_EQ(p.publisher, pub_id);
      ASSERT_EQ(seq_of(p.payload), i) << "out of order";
      ASSERT_EQ(p.payload, seq_payload(i, 32));
    }
    EXPECT_TRUE(no_push_pending(*m));
  }
}

TEST_F(Room, PublishWhosePushExceedsMaxFrameIsTooLarge) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  start_server(cfg);
  auto a = connect();
  join(*a, "r");
  // PUSH body = 1 + 1 + 8 + payload = 4097: one byte over max_frame, while
  // the PUBLISH itself (1 + 1 + payload = 4089) fits.
  std::string payload(4096 - 10 + 1, 'x');
  Frame f = call(*a, kRoom, kPublish, publish_body("r", payload));
  expect_status(f, Status::kTooLarge);
  EXPECT_TRUE(no_push_pending(*a)) << "a TOO_LARGE publish was delivered";
}

TEST_F(Room, PublishWhosePushExactlyFillsMaxFrameIsDelivered) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  start_server(cfg);
  auto a = connect();
  uint64_t a_id = hello_id(*a);
  join(*a, "r");
  std::string payload(4096 - 10, 'x');
  EXPECT_EQ(publish(*a, "r", payload), 1u);
  Frame p = expect_push(*a);
  EXPECT_EQ(p.body.size(), 4096u);
  expect_room_push(p, "r", a_id, payload);
}

TEST_F(Room, PublishWithEmptyBodyIsBadRequest) {
  auto a = connect();
  expect_status(call(*a, kRoom, kPublish, ""), Status::kBadRequest);
  EXPECT_TRUE(ping_ok(*a));
}

TEST_F(Room, PublishWithZeroNameLengthIsBadRequest) {
  auto a = connect();
  join(*a, "r");
  expect_status(call(*a, kRoom, kPublish, u8_bytes(0) + "payload"),
                Status::kBadRequest);
  EXPECT_TRUE(no_push_pending(*a));
}

TEST_F(Room, PublishWithNameLengthBeyondBodyIsBadRequest) {
  auto a = connect();
  join(*a, "abcdef");
  // Declares 10 name bytes but carries 6.
  expect_status(call(*a, kRoom, kPublish, u8_bytes(10) + "abcdef"),
                Status::kBadRequest);
  EXPECT_TRUE(no_push_pending(*a));
}

TEST_F(Room, PublishWith255ByteNameIsDelivered) {
  auto a = connect();
  uint64_t a_id = hello_id(*a);
  const std::string name(255, 'n');
  EXPECT_EQ(join(*a, name), 1u);
  EXPECT_EQ(publish(*a, name, "p"), 1u);
  expect_room_push(expect_push(*a), name, a_id, "p");
}

// ---- MEMBERS ----------------------------------------------------------------

TEST_F(Room, MembersReturnsEveryMemberId) {
  Clients cs;
  std::vector<uint64_t> want;
  for (int i = 0; i < 5; ++i) {
    cs.push_back(connect());
    want.push_back(hello_id(*cs.back()));
    join(*cs.back(), "r");
  }
  std::sort(want.begin(), want.end());
  auto outsider = connect();
  EXPECT_EQ(members_of(*outsider, "r"), want);
}

TEST_F(Room, MembersOfUnknownRoomIsEmpty) {
  auto a = connect();
  Frame f = call(*a, kRoom, kMembers, "ghost");
  ASSERT_TRUE(f.ok()) << "status " << f.header.code;
  EXPECT_TRUE(f.body.empty());
}

TEST_F(Room, MembersAfterLeaveOmitsLeaver) {
  auto a = connect();
  auto b = connect();
  uint64_t b_id = hello_id(*b);
  join(*a, "r");
  join(*b, "r");
  ASSERT_TRUE(call(*a, kRoom, kLeave, "r").ok());
  EXPECT_EQ(members_of(*a, "r"), std::vector<uint64_t>{b_id});
}

// ---- bad bodies and unknown ops ---------------------------------------------

TEST_F(Room, JoinWithEmptyNameIsBadRequest) {
  auto a = connect();
  expect_status(call(*a, kRoom, kJoin, ""), Status::kBadRequest);
  EXPECT_EQ(info_value(*a, "rooms"), 0);
}

TEST_F(Room, JoinWith256ByteNameIsBadRequest) {
  auto a = connect();
  expect_status(call(*a, kRoom, kJoin, std::string(256, 'n')),
                Status::kBadRequest);
  EXPECT_EQ(info_value(*a, "rooms"), 0);
}

TEST_F(Room, LeaveWithEmptyNameIsBadRequest) {
  auto a = connect();
  expect_status(call(*a, kRoom, kLeave, ""), Status::kBadRequest);
}

TEST_F(Room, MembersWithEmptyNameIsBadRequest) {
  auto a = connect();
  expect_status(call(*a, kRoom, kMembers, ""), Status::kBadRequest);
}

TEST_F(Room, UnknownOpIsNoOp) {
  auto a = connect();
  expect_status(call(*a, kRoom, 5, "r"), Status::kNoOp);
  expect_status(call(*a, kRoom, 0, "r"), Status::kNoOp);
  EXPECT_TRUE(ping_ok(*a));
}

// ---- INFO and freeing -------------------------------------------------------

TEST_F(Room, InfoCountsRoomsAndMemberships) {
  auto a = connect();
  auto b = connect();
  EXPECT_EQ(info_value(*a, "rooms"), 0);
  EXPECT_EQ(info_value(*a, "room_members"), 0);
  join(*a, "x");
  join(*a, "y");
  join(*b, "y");
  join(*b, "y");  // no second membership
  EXPECT_EQ(info_value(*a, "rooms"), 2);
  EXPECT_EQ(info_value(*a, "room_members"), 3);
  ASSERT_TRUE(call(*b, kRoom, kLeave, "y").ok());
  EXPECT_EQ(info_value(*a, "rooms"), 2);
  EXPECT_EQ(info_value(*a, "room_members"), 2);
}

TEST_F(Room, EmptyRoomIsFreedWhenLastMemberLeaves) {
  auto a = connect();
  auto b = connect();
  join(*a, "r");
  join(*b, "r");
  ASSERT_TRUE(call(*a, kRoom, kLeave, "r").ok());
  EXPECT_EQ(info_value(*a, "rooms"), 1);
  ASSERT_TRUE(call(*b, kRoom, kLeave, "r").ok());
  EXPECT_EQ(info_value(*a, "rooms"), 0);
  EXPECT_EQ(info_value(*a, "room_members"), 0);
  // A freed room is reusable and starts from one member again.
  EXPECT_EQ(join(*b, "r"), 1u);
}

TEST_F(Room, EmptyRoomsAreFreedWhenLastMemberDisconnects) {
  auto a = connect();
  auto watcher = connect();
  join(*a, "r1");
  join(*a, "r2");
  join(*a, "r3");
  ASSERT_EQ(info_value(*watcher, "rooms"), 3);
  a->close();
  EXPECT_TRUE(eventually([&] { return info_value(*watcher, "rooms") == 0; }))
      << "rooms still " << info_value(*watcher, "rooms");
  EXPECT_EQ(info_value(*watcher, "room_members"), 0);
}

// ---- members that go away ---------------------------------------------------

TEST_F(Room, MemberThatClosesCleanlyLeavesTheRoom) {
  auto gone = connect();
  auto stays = connect();
  uint64_t stays_id = hello_id(*stays);
  join(*gone, "r");
  join(*stays, "r");
  gone->close();
  EXPECT_TRUE(eventually([&] { return members_of(*stays, "r").size() == 1; }));
  EXPECT_EQ(members_of(*stays, "r"), std::vector<uint64_t>{stays_id});
  EXPECT_EQ(publish(*stays, "r", "x"), 1u);
}

TEST_F(Room, MemberThatResetsLeavesTheRoom) {
  auto gone = connect();
  auto stays = connect();
  uint64_t stays_id = hello_id(*stays);
  join(*gone, "r");
  join(*stays, "r");
  close_with_rst(*gone);
  EXPECT_TRUE(eventually([&] { return members_of(*stays, "r").size() == 1; }));
  EXPECT_EQ(members_of(*stays, "r"), std::vector<uint64_t>{stays_id});
  EXPECT_EQ(publish(*stays, "r", "x"), 1u);
}

TEST_F(Room, MemberClosedByIdleTimeoutLeavesTheRoom) {
  Config cfg = manual_clock_config();
  cfg.idle_timeout_ms = 1000;
  start_server(cfg);
  auto idler = connect();
  auto stays = connect();
  auto pub = connect();
  uint64_t stays_id = hello_id(*stays);
  uint64_t pub_id = hello_id(*pub);
  join(*idler, "r");
  join(*stays, "r");
  // The idler says nothing after its JOIN; the others speak 600 ms in, so
  // at 1000 ms only the idler has been silent for the whole timeout.
  server().advance_clock(600);
  ASSERT_TRUE(ping_ok(*stays));
  ASSERT_TRUE(ping_ok(*pub));
  server().advance_clock(400);
  expect_goodbye(read_any(*idler, 10000), Goodbye::kIdle);
  // The server closed it, so it is out of the room before this PUBLISH.
  EXPECT_EQ(publish(*pub, "r", "after"), 1u);
  EXPECT_EQ(members_of(*pub, "r"), std::vector<uint64_t>{stays_id});
  expect_room_push(expect_push(*stays), "r", pub_id, "after");
}

TEST_F(Room, DisconnectTakesMemberOutOfEveryRoom) {
  auto gone = connect();
  auto stays = connect();
  uint64_t stays_id = hello_id(*stays);
  for (const char* r : {"a", "b", "c"}) {
    join(*gone, r);
    join(*stays, r);
  }
  gone->close();
  EXPECT_TRUE(
      eventually([&] { return info_value(*stays, "room_members") == 3; }));
  for (const char* r : {"a", "b", "c"}) {
    SCOPED_TRACE(r);
    EXPECT_EQ(members_of(*stays, r), std::vector<uint64_t>{stays_id});
    EXPECT_EQ(publish(*stays, r, "x"), 1u);
  }
}

TEST_F(Room, SlowMemberIsClosedWhileOthersReceiveEverything) {
  raise_nofile(1024);
  Config cfg = test_config();
  cfg.max_output = 64 * 1024;
  cfg.max_frame = 64 * 1024;
  start_server(cfg);
  constexpr uint32_t kGood = 100;
  constexpr size_t kFiller = 16 * 1024;
  constexpr uint64_t kMaxPublishes = 2000;
  auto pub = connect();
  uint64_t pub_id = hello_id(*pub);
  Clients good;
  for (uint32_t i = 0; i < kGood; ++i) {
    good.push_back(connect());
    ASSERT_EQ(join(*good.back(), "r"), i + 1);
  }
  RawSocket slow;  // joins, then never reads
  ASSERT_TRUE(slow.connect_v4(server().port(), 4096));
  const std::string j = request(kRoom, kJoin, 1, "r");
  ASSERT_EQ(slow.try_send(j), static_cast<ssize_t>(j.size()));
  ASSERT_TRUE(
      eventually([&] { return members_of(*pub, "r").size() == kGood + 1; }));

  // One reader thread per good member counts in-order data pushes until the
  // "end" push; the publisher waits for every reader between publishes so a
  // good member is never more than one message behind.
  std::vector<std::atomic<uint64_t>> got(kGood);
  std::vector<std::atomic<bool>> done(kGood);  // reader returned
  std::vector<std::string> errors(kGood);      // read only after join
  std::vector<std::thread> readers;
  struct Joiner {
    Clients& cs;
    std::vector<std::thread>& ts;
    ~Joiner() {
      for (auto& c : cs)
        ::shutdown(c->fd(), SHUT_RDWR);  // wakes a stuck reader
      for (auto& t : ts) t.join();
    }
  };
  for (uint32_t i = 0; i < kGood; ++i) {
    readers.emplace_back([&, i] {
      struct Done {
        std::atomic<bool>& flag;
        ~Done() { flag.store(true); }
      } mark{done[i]};
      for (;;) {
        Frame f;
        std::string err;
        if (!good[i]->next_push(&f, 10000, &err)) {
          errors[i] = "next_push: " + err;
          return;
        }
        RoomPush p;
        if (!parse_room_push(f, &p) || p.publisher != pub_id) {
          errors[i] = "unexpected frame kind " +
                      std::to_string(static_cast<int>(f.header.kind)) +
                      " code " + std::to_string(f.header.code);
          return;
        }
        if (p.payload == "end") return;
        if (seq_of(p.payload) != got[i].load()) {
          errors[i] = "seq " + std::to_string(seq_of(p.payload)) + " where " +
                      std::to_string(got[i].load()) + " expected";
          return;
        }
        got[i].fetch_add(1);
      }
    });
  }
  Joiner joiner{good, readers};
  auto all_caught_up = [&](uint64_t n) {
    return eventually(
        [&] {
          for (uint32_t i = 0; i < kGood; ++i)
            if (got[i].load() < n && !done[i].load()) return false;
          return true;
        },
        10000);
  };

  uint64_t sent = 0;
  bool slow_closed = false;
  while (!slow_closed && sent < kMaxPublishes) {
    uint32_t n = publish(*pub, "r", seq_payload(sent, kFiller));
    ++sent;
    if (n == kGood)
      slow_closed = true;
    else
      ASSERT_EQ(n, kGood + 1) << "publish " << sent - 1;
    ASSERT_TRUE(all_caught_up(sent - 1));
  }
  ASSERT_TRUE(slow_closed) << "slow member never closed after " << sent
                           << " publishes of " << kFiller << " bytes";
  // Reading now (within the server's 2 s linger), the slow member finds
  // what was queued for it and then GOODBYE SLOW, the last frame.
  expect_goodbye(last_frame_before_close(slow.fd()), Goodbye::kSlow);
  // Out of the room before any later PUBLISH is answered.
  for (int k = 0; k < 20; ++k) {
    ASSERT_EQ(publish(*pub, "r", seq_payload(sent, kFiller)), kGood);
    ++sent;
    ASSERT_TRUE(all_caught_up(sent - 1));
  }
  ASSERT_EQ(publish(*pub, "r", "end"), kGood);
  ASSERT_TRUE(all_caught_up(sent));
  for (auto& t : readers) t.join();
  readers.clear();
  for (uint32_t i = 0; i < kGood; ++i) {
    EXPECT_EQ(errors[i], "") << "member " << i;
    EXPECT_EQ(got[i].load(), sent) << "member " << i;
  }
  EXPECT_EQ(members_of(*pub, "r").size(), kGood);
  EXPECT_EQ(info_value(*pub, "room_members"), kGood);
}

// ---- TELL (sys 6): the one-to-one counterpart of PUBLISH --------------------

TEST_F(RoomTell, TellBetweenClientsCarriesSenderIdAndPayload) {
  auto a = connect();
  auto b = connect();
  uint64_t a_id = hello_id(*a);
  uint64_t b_id = hello_id(*b);
  const std::string payload("t\0ell", 5);
  Frame r = call(*a, kSys, kTell, u64_bytes(b_id) + payload);
  ASSERT_TRUE(r.ok()) << "status " << r.header.code << ": " << r.body;
  EXPECT_TRUE(r.body.empty());
  expect_push_frame(expect_push(*b), kSys, kTell, u64_bytes(a_id) + payload);
  EXPECT_TRUE(no_push_pending(*a)) << "the sender got its own TELL";
}

TEST_F(RoomTell, TellToSelfPushesToSender) {
  auto a = connect();
  uint64_t a_id = hello_id(*a);
  ASSERT_TRUE(call(*a, kSys, kTell, u64_bytes(a_id) + "me").ok());
  Frame p = expect_push(*a);
  EXPECT_EQ(p.header.service, kSys);
  EXPECT_EQ(p.header.code, kTell);
  EXPECT_EQ(p.body, u64_bytes(a_id) + "me");
}

TEST_F(RoomTell, TellWithEmptyPayloadPushesSenderIdOnly) {
  auto a = connect();
  auto b = connect();
  uint64_t a_id = hello_id(*a);
  uint64_t b_id = hello_id(*b);
  ASSERT_TRUE(call(*a, kSys, kTell, u64_bytes(b_id)).ok());
  EXPECT_EQ(expect_push(*b).body, u64_bytes(a_id));
}

TEST_F(RoomTell, TellShorterThanTargetIdIsBadRequest) {
  auto a = connect();
  expect_status(call(*a, kSys, kTell, std::string(7, '\0')),
                Status::kBadRequest);
  EXPECT_TRUE(ping_ok(*a));
}
