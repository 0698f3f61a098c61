// Large frames and the memory budgets, on real sockets: frames of max_frame
// bytes pipelined, frames cut at every point around the header and around
// the 64 KiB read, the input array sized for exactly the frame and given
// back once the client is quiet, --max-input-memory closing the biggest
// holder with GOODBYE LIMIT, --body-timeout closing a trickling client, and
// --max-output-memory cutting the subscriber with the most pending output.
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <string>
#include <thread>
#include <vector>

#include "kv_room_util.h"
#include "net_util.h"
#include "test_server.h"

namespace hazel::test {
namespace {

class Buffers : public ServerTest {};

std::string payload(size_t n, uint8_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 131 + seed + (i >> 12)) & 0xff);
  return s;
}

// A client with a small receive buffer, so the kernel soon stops taking
// what the server writes to it.
std::unique_ptr<BlockingClient> connect_small_window(uint16_t port) {
  auto c = std::make_unique<BlockingClient>();
  std::string err;
  EXPECT_TRUE(c->connect("127.0.0.1", port, &err)) << err;
  int small = 4096;
  setsockopt(c->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  return c;
}

std::string echo_request(uint32_t session, std::string_view body) {
  return request(echo::kId, echo::kEcho, session, body);
}

// A header announcing a `len`-byte ECHO body, and nothing of the body.
std::string echo_header(uint32_t session, uint32_t len) {
  return raw_header(kMagic0, kMagic1, kProtocolVersion,
                    static_cast<uint8_t>(Kind::kRequest), echo::kId,
                    echo::kEcho, session, len);
}

TEST_F(Buffers, MaxFrameFramesEchoCorrectlyInAPipelineOfEight) {
  auto c = connect();
  const uint32_t max = kDefaultMaxFrame;
  std::vector<std::string> bodies;
  std::string wire;
  for (uint32_t i = 0; i < 8; ++i) {
    bodies.push_back(payload(max, static_cast<uint8_t>(i)));
    wire += echo_request(i + 1, bodies.back());
  }
  // 8 MiB out while 8 MiB come back: write from another thread.
  std::thread writer([&] { write_all(*c, wire); });
  for (uint32_t i = 0; i < 8; ++i) {
    Frame f = read_any(*c, 20000);
    expect_reply(f, i + 1, bodies[i]);
    EXPECT_TRUE(f.ok());
  }
  writer.join();
}

TEST_F(Buffers, AFrameCutAtAnyPointAroundItsHeaderArrivesWhole) {
  auto c = connect();
  std::string body = payload(100, 7);
  for (uint32_t cut = 1; cut <= kHeaderSize + 2; ++cut) {
    std::string wire = echo_request(cut, body);
    write_all(*c, wire.substr(0, cut));
    // Give the server a turn to read the first part on its own.
    std::this_thread::sleep_for(Ms(5));
    write_all(*c, wire.substr(cut));
    expect_reply(read_any(*c), cut, body);
  }
}

TEST_F(Buffers, FramesCutAroundSixtyFourKiBArriveWhole) {
  auto c = connect();
  // Two frames back to back, cut around 64 KiB of the stream: inside the
  // first frame's body, at its end, and in the second frame's header.
  std::string a = payload(65536 - 8, 1), b = payload(3000, 2);
  std::string wire = echo_request(1, a) + echo_request(2, b);
  for (size_t cut : {size_t{65535}, size_t{65536}, size_t{65536 + 8},
                     size_t{65536 + 9}, size_t{65536 + 16}, size_t{65536 + 30}}) {
    write_all(*c, wire.substr(0, cut));
    std::this_thread::sleep_for(Ms(5));
    write_all(*c, wire.substr(cut));
    expect_reply(read_any(*c), 1, a);
    expect_reply(read_any(*c), 2, b);
  }
}

// The read buffer is 512 KiB: a pipeline of large frames cut around where
// one read ends.
TEST_F(Buffers, PipelinedLargeFramesCutAroundWhereOneReadEndsArriveWhole) {
  auto c = connect();
  constexpr size_t kRead = 512 * 1024;
  std::vector<std::string> bodies;
  std::string wire;
  // Eight frames that end 8 bytes short of a read and a small one: the
  // cuts below fall in the eighth frame's body, at its end, in the ninth's
  // header and in its body.
  for (uint32_t i = 0; i < 9; ++i) {
    bodies.push_back(payload(i < 8 ? kRead / 8 - 1 - kHeaderSize : 3000,
                             static_cast<uint8_t>(i)));
    wire += echo_request(i + 1, bodies.back());
  }
  ASSERT_EQ(wire.size(), kRead - 8 + kHeaderSize + 3000);
  for (size_t cut : {kRead - 9, kRead - 8, kRead - 1, kRead, kRead + 8, kRead + 400}) {
    std::thread writer([&] {
      write_all(*c, wire.substr(0, cut));
      std::this_thread::sleep_for(Ms(5));
      write_all(*c, wire.substr(cut));
    });
    for (uint32_t i = 0; i < bodies.size(); ++i) expect_reply(read_any(*c), i + 1, bodies[i]);
    writer.join();
  }
}

TEST_F(Buffers, AFrameCutShortIsHeldInAnArrayOfExactlyItsSizeAndGivenBackWhenQuiet) {
  auto c = connect();
  auto observer = connect();
  const uint32_t len = 300001;
  std::string body = payload(len, 3);
  std::string wire = echo_request(1, body);
  write_all(*c, wire.substr(0, 1000));
  EXPECT_TRUE(eventually(
      [&] { return info_value(*observer, "input_bytes") == kHeaderSize + len; }))
      << "input_bytes " << info_value(*observer, "input_bytes");
  write_all(*c, wire.substr(1000));
  expect_reply(read_any(*c, 10000), 1, body);
  // The client is quiet now: within a few seconds its array goes back.
  EXPECT_TRUE(eventually(
      [&] { return info_value(*observer, "input_bytes") == 0; }, 10000));
  EXPECT_TRUE(ping_ok(*c));
}

TEST_F(Buffers, InputBudgetClosesTheBiggestHolderWithGoodbyeLimit) {
  Config cfg = test_config();
  cfg.max_input_memory = 1 << 20;
  start_server(cfg);
  auto big = connect();
  auto small = connect();
  auto next = connect();
  auto observer = connect();
  // 800 KiB announced, a little of it sent: the biggest holder.
  write_all(*big, echo_header(1, 800 * 1024) + std::string(1000, 'x'));
  ASSERT_TRUE(eventually(
      [&] { return info_value(*observer, "input_bytes") >= 800 * 1024; }));
  // 600 KiB more would pass 1 MiB: the 800 KiB frame goes.
  std::string body = payload(600 * 1024, 4);
  std::string wire = echo_request(1, body);
  write_all(*next, wire.substr(0, 5000));
  Frame bye = read_any(*big);
  expect_goodbye(bye, Goodbye::kLimit);
  EXPECT_NE(bye.body.find("input memory"), std::string::npos) << bye.body;
  EXPECT_TRUE(big->wait_closed(3000));
  // The others are served: the small client at once, the 600 KiB frame
  // once the rest of it arrives.
  EXPECT_TRUE(ping_ok(*small));
  write_all(*next, wire.substr(5000));
  expect_reply(read_any(*next, 10000), 1, body);
  EXPECT_EQ(info_value(*observer, "clients_limited"), 1);
}

TEST_F(Buffers, AFrameAloneLargerThanTheInputBudgetClosesItsSender) {
  Config cfg = test_config();
  cfg.max_input_memory = 256 * 1024;
  start_server(cfg);
  auto c = connect();
  auto other = connect();
  write_all(*c, echo_header(1, 512 * 1024) + "abc");
  expect_goodbye(read_any(*c), Goodbye::kLimit);
  EXPECT_TRUE(ping_ok(*other));
}

TEST_F(Buffers, BodyTimeoutClosesAClientTricklingAFrame) {
  Config cfg = test_config();
  cfg.body_timeout_ms = 300;
  start_server(cfg);
  auto slow = connect();
  auto other = connect();
  auto start = SteadyClock::now();
  write_all(*slow, echo_header(1, 10000));
  // A byte every 50 ms: alive for the idle timeout, far too slow a frame.
  Frame f;
  std::string err;
  bool got = false;
  for (int i = 0; i < 200 && !got; ++i) {
    std::string werr;
    if (!slow->write_raw("x", &werr)) break;  // closed already
    got = slow->read_frame(&f, 50, &err);
  }
  if (!got) got = slow->read_frame(&f, 3000, &err);
  ASSERT_TRUE(got) << err;
  expect_goodbye(f, Goodbye::kLimit);
  EXPECT_NE(f.body.find("300 ms"), std::string::npos) << f.body;
  EXPECT_GE(elapsed_ms(start), 300);
  EXPECT_TRUE(ping_ok(*other));
  EXPECT_EQ(info_value(*other, "clients_limited"), 1);
}

TEST_F(Buffers, AFrameThatArrivesWithinTheBodyTimeoutIsServed) {
  Config cfg = test_config();
  cfg.body_timeout_ms = 60000;
  start_server(cfg);
  auto c = connect();
  std::string body = payload(5000, 9);
  std::string wire = echo_request(1, body);
  for (size_t off = 0; off < wire.size(); off += 1000) {
    write_all(*c, wire.substr(off, 1000));
    std::this_thread::sleep_for(Ms(20));
  }
  expect_reply(read_any(*c), 1, body);
}

TEST_F(Buffers, OutputBudgetCutsTheSubscriberWithTheMostPendingOutput) {
  Config cfg = test_config();
  cfg.max_output_memory = 1 << 20;
  start_server(cfg);
  // A member that never reads, with a small receive buffer so the kernel
  // cannot take what piles up for it.
  auto stuck = connect_small_window(server().port());
  auto reader = connect();
  auto publisher = connect();
  Frame r;
  std::string err;
  ASSERT_TRUE(stuck->call(room::kId, room::kJoin, "news", &r, 3000, &err)) << err;
  ASSERT_TRUE(reader->call(room::kId, room::kJoin, "news", &r, 3000, &err)) << err;
  std::string chunk = payload(32 * 1024, 5);
  int published = 0;
  bool cut = false;
  for (int i = 0; i < 400 && !cut; ++i) {
    ASSERT_TRUE(publisher->call(room::kId, room::kPublish,
                                kvroom::publish_body("news", chunk), &r, 5000, &err))
        << err;
    ++published;
    // The reader keeps up.
    Frame p;
    ASSERT_TRUE(reader->next_push(&p, 5000, &err)) << err;
    EXPECT_EQ(p.header.kind, Kind::kPush);
    cut = info_value(*publisher, "clients_limited") > 0;
  }
  ASSERT_TRUE(cut) << "published " << published << " x 32 KiB";
  EXPECT_TRUE(ping_ok(*reader));
  EXPECT_TRUE(ping_ok(*publisher));
  EXPECT_LE(info_value(*publisher, "output_bytes"), 1 << 20);
  // The stuck member has left the server's table (it does not read, so its
  // GOODBYE SLOW may never reach it); the others stay.
  EXPECT_TRUE(eventually(
      [&] { return info_value(*publisher, "clients") == 2; }, 5000));
  EXPECT_EQ(info_value(*publisher, "clients_limited"), 1);
}

TEST_F(Buffers, InfoReportsInputAndOutputBytesHeld) {
  auto c = connect();
  auto observer = connect();
  auto lines = parse_info([&] {
    Frame r;
    std::string err;
    EXPECT_TRUE(observer->call(sys::kId, kInfo, {}, &r, 3000, &err)) << err;
    return r.body;
  }());
  EXPECT_EQ(lines.count("input_bytes"), 1u);
  EXPECT_EQ(lines.count("output_bytes"), 1u);
  EXPECT_EQ(lines.count("clients_limited"), 1u);
  write_all(*c, echo_header(1, 50000) + "x");
  EXPECT_TRUE(eventually(
      [&] { return info_value(*observer, "input_bytes") == 50016; }));
}

// The server's end of `c`'s connection (the server runs in this process).
int server_end_of(const BlockingClient& c, uint16_t server_port) {
  sockaddr_in mine{};
  socklen_t len = sizeof mine;
  if (getsockname(c.fd(), reinterpret_cast<sockaddr*>(&mine), &len) != 0) return -1;
  for (int fd = 3; fd < 65536; ++fd) {
    sockaddr_in local{};
    sockaddr_in peer{};
    socklen_t l1 = sizeof local;
    socklen_t l2 = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &l1) != 0 ||
        local.sin_family != AF_INET || ntohs(local.sin_port) != server_port)
      continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &l2) == 0 &&
        peer.sin_port == mine.sin_port)
      return fd;
  }
  return -1;
}

TEST_F(Buffers, ReplyToAPipelinedLargeFrameIsNotHeldBackByTheFrameAfterIt) {
  start_server(manual_clock_config());
  auto c = connect();
  ASSERT_TRUE(ping_ok(*c));
  int server_fd = server_end_of(*c, server().port());
  ASSERT_GE(server_fd, 0);
  // A large ECHO, then a SEND that answers nothing: the ECHO's reply is
  // written knowing that another frame follows (so the kernel may hold it
  // for more), and must leave once that frame turns out to add nothing.
  std::string body = payload(20000, 7);
  write_all(*c, echo_request(1, body) +
                    encode_frame(Kind::kSend, sys::kId, sys::kPing, 0, ""));
  // Both were ready before this turn began, so they have been handled.
  server().advance_clock(1);
  int unsent = -1;
  ASSERT_EQ(ioctl(server_fd, SIOCOUTQNSD, &unsent), 0);
  EXPECT_EQ(unsent, 0) << "the reply waits in the server's send queue";
  Frame f;
  std::string err;
  ASSERT_TRUE(c->read_frame(&f, 10000, &err)) << err;
  EXPECT_EQ(f.body, body);
}

TEST_F(Buffers, ClientsStillClosingCountAgainstMaxClients) {
  Config cfg = manual_clock_config();
  cfg.max_clients = 2;
  cfg.max_output = 1024;
  cfg.idle_timeout_ms = 2000;
  start_server(cfg);
  // A client cut for not reading (its requests wait on output it has not
  // taken for the idle timeout) lingers: its GOODBYE cannot be written.
  // With it and one open client, a third connection is refused FULL.
  auto stuck = connect_small_window(server().port());
  std::string err;
  auto open = connect();
  // Far more replies than the kernel's socket buffers can hold.
  std::string wire = echo_request(1, payload(kDefaultMaxFrame, 6));
  std::thread writer([&] {
    std::string werr;
    for (int i = 0; i < 64; ++i)  // fails once the server gives up
      if (!stuck->write_raw(wire, &werr)) break;
  });
  bool paused =
      eventually([&] { return info_value(*open, "clients_paused") == 1; });
  EXPECT_TRUE(paused) << "its requests never had to wait";
  if (paused) {
    server().advance_clock(1000);
    ASSERT_TRUE(ping_ok(*open));  // `open` speaks halfway through
    server().advance_clock(1000);
    // The server no longer counts it as open, but it still holds its
    // socket (the clock stands still: its linger does not end).
    EXPECT_EQ(info_value(*open, "clients"), 1);
    auto third = connect();
    Frame f;
    EXPECT_TRUE(third->read_frame(&f, 10000, &err)) << err;
    expect_goodbye(f, Goodbye::kFull);
  }
  ::shutdown(stuck->fd(), SHUT_RDWR);
  writer.join();
}

}  // namespace
}  // namespace hazel::test
