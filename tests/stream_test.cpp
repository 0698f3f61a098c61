// The byte stream: pipelining, frames split anywhere, body size limits, many
// clients, slow readers, idle timeout, connection limit, IPv6.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <random>
#include <vector>

#include "kv_room_util.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;

namespace {

class Stream : public ServerTest {
 protected:
  // Starts a server with room for two clients and takes both places with
  // `a` and `b`, each answering a PING.
  void fill_two_client_server(std::unique_ptr<BlockingClient>& a,
                              std::unique_ptr<BlockingClient>& b) {
    Config cfg = test_config();
    cfg.max_clients = 2;
    start_server(cfg);
    a = connect();
    b = connect();
    ASSERT_TRUE(ping_ok(*a));
    ASSERT_TRUE(ping_ok(*b));
  }
};

}  // namespace

TEST_F(Stream, ThousandPipelinedPingsInOneWriteAreAnsweredInOrder) {
  auto c = connect();
  constexpr uint32_t kN = 1000;
  std::string bytes;
  for (uint32_t i = 0; i < kN; ++i)
    bytes += request(0, 1, 1000 + i, "b" + std::to_string(i));
  write_all(*c, bytes);
  for (uint32_t i = 0; i < kN; ++i) {
    Frame f = read_any(*c);
    ASSERT_EQ(f.header.kind, Kind::kReply) << "reply " << i;
    // sys PING answers at once, so replies keep request order.
    ASSERT_EQ(f.header.session, 1000 + i) << "reply " << i;
    ASSERT_EQ(f.body, "b" + std::to_string(i));
  }
}

TEST_F(Stream, FrameWrittenOneByteAtATimeIsAnswered) {
  auto c = connect();
  std::string req = request(0, 1, 5, "hello");
  for (char ch : req) {
    write_all(*c, std::string_view(&ch, 1));
    std::this_thread::sleep_for(Ms(2));
  }
  expect_reply(read_any(*c), 5u, "hello");
}

TEST_F(Stream, TwoFramesSplitAtEveryBytePositionAreBothAnswered) {
  auto c = connect();
  uint32_t session = 100;
  const std::string probe = request(0, 1, 0, "ab") + request(1, 1, 0, "xyz");
  for (size_t k = 1; k < probe.size(); ++k) {
    std::string bytes = request(0, 1, session, "ab") +
                        request(1, 1, session + 1, "xyz");
    write_all(*c, std::string_view(bytes).substr(0, k));
    std::this_thread::sleep_for(Ms(2));  // let the server read the first part
    write_all(*c, std::string_view(bytes).substr(k));
    Frame a = read_any(*c);
    ASSERT_EQ(a.header.kind, Kind::kReply) << "split at " << k;
    ASSERT_EQ(a.header.session, session) << "split at " << k;
    ASSERT_EQ(a.header.service, 0) << "split at " << k;
    ASSERT_EQ(a.body, "ab") << "split at " << k;
    Frame b = read_any(*c);
    ASSERT_EQ(b.header.kind, Kind::kReply) << "split at " << k;
    ASSERT_EQ(b.header.session, session + 1) << "split at " << k;
    ASSERT_EQ(b.header.service, 1) << "split at " << k;
    ASSERT_EQ(b.body, "xyz") << "split at " << k;
    session += 2;
  }
}

TEST_F(Stream, ZeroLengthBodyIsAnswered) {
  auto c = connect();
  Frame f = call(*c, 0, 1, "");
  EXPECT_TRUE(f.ok());
  EXPECT_EQ(f.header.length, 0u);
  EXPECT_TRUE(f.body.empty());
  Frame e = call(*c, 1, 1, "");
  EXPECT_TRUE(e.ok());
  EXPECT_TRUE(e.body.empty());
}

TEST_F(Stream, BodyOfExactlyMaxFrameIsAccepted) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  start_server(cfg);
  auto c = connect();
  std::string body(4096, '\0');
  for (size_t i = 0; i < body.size(); ++i)
    body[i] = static_cast<char>(i * 7 + 1);
  Frame f = call(*c, 0, 1, body);
  ASSERT_TRUE(f.ok()) << status_name(f.status()) << ": " << f.body.substr(0, 80);
  EXPECT_EQ(f.body, body);
  Frame e = call(*c, 1, 1, body);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e.body, body);
}

TEST_F(Stream, BodyOfExactlyDefaultMaxFrameIsAccepted) {
  auto c = connect();
  std::string body(kDefaultMaxFrame, 'm');
  body.front() = 'A';
  body.back() = 'Z';
  Frame f = call(*c, 1, 1, body, 5000);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.body, body);
}

TEST_F(Stream, FiveHundredConcurrentClientsEachGetTheirPing) {
  constexpr size_t kClients = 500;
  // Each connection costs two descriptors here (client and server side).
  rlim_t lim = raise_nofile(4096);
  ASSERT_GE(lim, rlim_t{2 * kClients + 64}) << "RLIMIT_NOFILE too low: " << lim;
  std::vector<std::unique_ptr<BlockingClient>> cs;
  cs.reserve(kClients);
  for (size_t i = 0; i < kClients; ++i) {
    cs.push_back(connect());
    ASSERT_TRUE(cs.back()->connected()) << "client " << i;
  }
  // All requests are in flight before any reply is read.
  for (size_t i = 0; i < kClients; ++i)
    write_all(*cs[i], request(0, 1, static_cast<uint32_t>(i),
                              "c" + std::to_string(i)));
  for (size_t i = 0; i < kClients; ++i) {
    Frame f = read_any(*cs[i]);
    ASSERT_EQ(f.header.kind, Kind::kReply) << "client " << i;
    ASSERT_EQ(f.header.session, i);
    ASSERT_EQ(f.body, "c" + std::to_string(i));
  }
  EXPECT_EQ(info_value(*cs[0], "clients"), static_cast<int64_t>(kClients));
}

// A client that asks for far more than it reads is held back (its requests
// wait once its output piles up) and, its output unread for the idle
// timeout, closed with GOODBYE SLOW after what was queued for it — while
// others keep being served.
TEST_F(Stream, SlowReaderIsClosedWithGoodbyeSlowWhileOthersKeepBeingServed) {
  Config cfg = manual_clock_config();
  cfg.max_output = 256 * 1024;
  cfg.idle_timeout_ms = 1000;
  start_server(cfg);
  auto other = connect();
  const std::string big(60 * 1024, 'b');
  ASSERT_TRUE(call(*other, kv::kId, kv::kSet, kvroom::set_body("big", 0, big)).ok());
  // GETs of a 60 KiB value, which it does not read, until its requests
  // wait for it (how much the kernel takes first varies: 200 replies are
  // 12 MB, more than it usually holds). Few request bytes: what a closing
  // client sent and the server never read is small.
  RawSocket slow;
  ASSERT_TRUE(slow.connect_v4(server().port(), 4096)) << strerror(errno);
  std::string burst;
  for (uint32_t i = 0; i < 200; ++i) burst += request(kv::kId, kv::kGet, i, "big");
  bool paused = false;
  for (int round = 0; round < 10 && !paused; ++round) {
    ASSERT_EQ(slow.try_send(burst), static_cast<ssize_t>(burst.size()));
    paused = eventually([&] { return info_value(*other, "clients_paused") == 1; }, 2000);
  }
  ASSERT_TRUE(paused) << "its requests never had to wait";
  // Just short of its idle timeout the other client speaks; then the slow
  // reader's timeout passes with its requests still waiting.
  server().advance_clock(999);
  ASSERT_TRUE(ping_ok(*other));
  EXPECT_EQ(info_value(*other, "clients"), 2);
  server().advance_clock(1);
  EXPECT_EQ(info_value(*other, "clients"), 1);
  EXPECT_EQ(info_value(*other, "clients_paused"), 0);
  expect_goodbye(last_frame_before_close(slow.fd()), Goodbye::kSlow);
  EXPECT_TRUE(ping_ok(*other));
}

// Replies to one burst of pipelined requests may add up to far more than
// --max-output: a client that reads gets every one of them, in order.
TEST_F(Stream, ReadingClientGetsPipelinedRepliesBeyondTheOutputLimit) {
  Config cfg = test_config();
  cfg.max_output = 64 * 1024;
  start_server(cfg);
  auto c = connect();
  const std::string body(60 * 1024, 'v');
  std::string burst;
  constexpr uint32_t kN = 40;  // 2.4 MB of replies against a 64 KiB limit
  for (uint32_t i = 0; i < kN; ++i) burst += request(1, 1, i, body);
  std::string err;
  ASSERT_TRUE(c->write_raw(burst, &err)) << err;
  for (uint32_t i = 0; i < kN; ++i) {
    Frame f;
    ASSERT_TRUE(c->read_frame(&f, 3000, &err)) << "reply " << i << ": " << err;
    ASSERT_EQ(f.header.kind, Kind::kReply);
    EXPECT_EQ(f.header.session, i);
    EXPECT_EQ(f.body.size(), body.size());
  }
  EXPECT_TRUE(ping_ok(*c));
}

// One answer larger than --max-output still goes to a client that reads.
TEST_F(Stream, SingleReplyLargerThanTheOutputLimitIsDelivered) {
  Config cfg = test_config();
  cfg.max_output = 64 * 1024;
  start_server(cfg);
  auto c = connect();
  const std::string body(100 * 1024, 'w');
  Frame f = call(*c, 1, 1, body);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.body, body);
}

TEST_F(Stream, IdleClientGetsGoodbyeIdleThenClose) {
  Config cfg = manual_clock_config();
  cfg.idle_timeout_ms = 200;
  start_server(cfg);
  RawSocket raw;
  ASSERT_TRUE(raw.connect_v4(server().port()));
  // Accepted (the server answers a sibling's PING after its accept turn)
  // before the clock moves: the timeout counts from the accept.
  auto other = connect();
  ASSERT_TRUE(ping_ok(*other));
  server().advance_clock(199);
  EXPECT_FALSE(raw.readable()) << "GOODBYE IDLE came too early";
  server().advance_clock(1);
  expect_goodbye(last_frame_before_close(raw.fd()), Goodbye::kIdle);
}

TEST_F(Stream, IdleTimeoutCountsFromLastInput) {
  Config cfg = manual_clock_config();
  cfg.idle_timeout_ms = 2000;
  start_server(cfg);
  auto c = connect();
  server().advance_clock(800);
  ASSERT_TRUE(ping_ok(*c));  // read at 800 ms
  // 2000 ms after the connect, but only 1200 after the PING: still open.
  server().advance_clock(1200);
  ASSERT_TRUE(ping_ok(*c)) << "idle clock not reset by input";
  // Now silent: a whole timeout after that last PING, it is closed.
  server().advance_clock(1999);
  Frame f;
  std::string err;
  EXPECT_FALSE(c->next_push(&f, 0, &err)) << "closed before the timeout";
  server().advance_clock(1);
  expect_goodbye(read_any(*c, 10000), Goodbye::kIdle);
}

TEST_F(Stream, ClientSpeakingWithinEveryTimeoutSurvivesManyOfThem) {
  Config cfg = manual_clock_config();
  cfg.idle_timeout_ms = 1000;
  start_server(cfg);
  auto c = connect();
  // A PING every 900 ms of server time, for nine timeouts.
  for (int i = 0; i < 10; ++i) {
    server().advance_clock(900);
    ASSERT_TRUE(ping_ok(*c)) << "dropped after " << (i + 1) * 900 << " ms";
  }
  EXPECT_FALSE(c->got_goodbye());
}

TEST_F(Stream, ThirdConnectionOverMaxClientsGetsGoodbyeFull) {
  std::unique_ptr<BlockingClient> a, b;
  ASSERT_NO_FATAL_FAILURE(fill_two_client_server(a, b));
  auto c = connect();
  expect_goodbye(read_any(*c), Goodbye::kFull);
  EXPECT_TRUE(c->wait_closed(3000));
  EXPECT_TRUE(ping_ok(*a));
  EXPECT_TRUE(ping_ok(*b));
}

TEST_F(Stream, SlotFreedUnderMaxClientsIsUsableAgain) {
  std::unique_ptr<BlockingClient> a, b;
  ASSERT_NO_FATAL_FAILURE(fill_two_client_server(a, b));
  b->close();
  ASSERT_TRUE(eventually([&] { return info_value(*a, "clients") == 1; }));
  auto c = connect();
  EXPECT_TRUE(ping_ok(*c));
}

TEST_F(Stream, Ipv6LoopbackBindServesClients) {
  {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) GTEST_SKIP() << "no IPv6 sockets: " << strerror(errno);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    int rc = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    int e = errno;
    close(fd);
    if (rc != 0) GTEST_SKIP() << "cannot bind ::1 (no IPv6 loopback): "
                              << strerror(e);
  }
  Config cfg = test_config();
  cfg.bind = "::1";
  start_server(cfg);
  ASSERT_NE(server().port(), 0);
  BlockingClient c;
  std::string err;
  ASSERT_TRUE(c.connect("::1", server().port(), &err)) << err;
  EXPECT_TRUE(ping_ok(c));
  // Bound to ::1 only: the IPv4 loopback is not served.
  BlockingClient v4;
  EXPECT_FALSE(v4.connect("127.0.0.1", server().port(), &err, 500));
}

TEST_F(Stream, HalfCloseAfterPipelinedRequestsStillGetsEveryReply) {
  auto c = connect();
  std::string bytes;
  for (uint32_t i = 0; i < 100; ++i) bytes += request(0, 1, i, "h");
  write_all(*c, bytes);
  ASSERT_EQ(shutdown(c->fd(), SHUT_WR), 0);
  for (uint32_t i = 0; i < 100; ++i) {
    Frame f = read_any(*c);
    ASSERT_EQ(f.header.kind, Kind::kReply) << i;
    ASSERT_EQ(f.header.session, i);
  }
  EXPECT_TRUE(c->wait_closed(3000));
}

namespace {
// Blocks the daemon's thread on any request until the test releases it, so
// the test can make things happen before the server's next turn.
class Staller final : public Service {
 public:
  Staller() : Service("staller", 200) {}
  void on_request(const Request&, Reply reply) override {
    entered.store(true);
    const auto start = SteadyClock::now();
    while (!released.load() && elapsed_ms(start) < 30000)
      std::this_thread::sleep_for(Ms(1));
    reply.ok();
  }
  std::atomic<bool> entered{false};
  std::atomic<bool> released{false};
};
}  // namespace

TEST_F(Stream, ClientThatWritesBeforeAcceptOverMaxClientsSeesGoodbyeFull) {
  Config cfg = test_config();
  cfg.max_clients = 1;
  Staller staller;
  TestServer s(cfg);
  ASSERT_TRUE(s.daemon().mount(staller));
  s.start();
  auto a = s.connect();
  ASSERT_TRUE(ping_ok(*a));
  // Stall the server, then connect and send a first request at once, as a
  // normal client does: the request is already there when the server
  // accepts and refuses the connection.
  write_all(*a, request(200, 1, 1, ""));
  ASSERT_TRUE(eventually([&] { return staller.entered.load(); }, 10000));
  auto c = s.connect();  // the kernel completes it; the server is stalled
  write_all(*c, request(0, 1, 1, "hi"));
  staller.released.store(true);
  Frame f;
  std::string err;
  ASSERT_TRUE(c->read_frame(&f, 3000, &err))
      << err << " (GOODBYE FULL lost: the server closed with unread input, "
      << "so the kernel sent RST)";
  expect_goodbye(f, Goodbye::kFull);
}

TEST_F(Stream, PipelinedFramesStraddlingReadChunksAreAnswered) {
  auto c = connect();
  // ~300 KB in one write: the server's reads cut frames at arbitrary points.
  constexpr uint32_t kN = 300;
  std::string bytes;
  for (uint32_t i = 0; i < kN; ++i)
    bytes += request(1, 1, i, std::string(997 + i % 13, static_cast<char>('a' + i % 26)));
  write_all(*c, bytes);
  for (uint32_t i = 0; i < kN; ++i) {
    Frame f = read_any(*c);
    ASSERT_EQ(f.header.session, i);
    ASSERT_EQ(f.body, std::string(997 + i % 13, static_cast<char>('a' + i % 26)));
  }
}

TEST_F(Stream, MaxLengthFramesSplitAcrossWritesAreAnswered) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  start_server(cfg);
  auto c = connect();
  std::string body(4096, 'q');
  body.front() = '<';
  body.back() = '>';
  std::string two = request(1, 1, 1, body) + request(1, 1, 2, body);
  // Cuts: inside the first header, inside its body, across the boundary
  // into the second header, and inside the second body.
  const size_t cuts[] = {5, 2000, 4112 + 3, 4112 + 16 + 100, two.size()};
  size_t from = 0;
  for (size_t cut : cuts) {
    write_all(*c, std::string_view(two).substr(from, cut - from));
    from = cut;
    std::this_thread::sleep_for(Ms(5));
  }
  for (uint32_t session : {1u, 2u}) {
    Frame f = read_any(*c);
    EXPECT_EQ(f.header.session, session);
    EXPECT_EQ(f.status(), Status::kOk);
    EXPECT_EQ(f.body, body);
  }
}

TEST_F(Stream, RandomFramesInRandomChunksAreAllAnswered) {
  Config cfg = test_config();
  cfg.max_frame = 4096;
  start_server(cfg);
  auto c = connect();
  std::mt19937 rng(12345);
  constexpr uint32_t kN = 300;
  std::vector<std::string> bodies;
  std::string bytes;
  for (uint32_t i = 0; i < kN; ++i) {
    std::string b(rng() % 4097, '\0');
    for (auto& ch : b) ch = static_cast<char>(rng());
    bytes += request(static_cast<uint16_t>(i % 2), 1, i, b);
    bodies.push_back(std::move(b));
  }
  size_t off = 0;
  while (off < bytes.size()) {
    size_t n = std::min(bytes.size() - off, size_t{1} + rng() % 6000);
    write_all(*c, std::string_view(bytes).substr(off, n));
    off += n;
    if (rng() % 4 == 0) std::this_thread::sleep_for(Ms(1));
  }
  for (uint32_t i = 0; i < kN; ++i) {
    Frame f = read_any(*c);
    ASSERT_EQ(f.header.kind, Kind::kReply) << i;
    ASSERT_EQ(f.header.session, i);
    ASSERT_EQ(f.header.service, i % 2);
    ASSERT_EQ(f.body, bodies[i]) << i;
  }
}
