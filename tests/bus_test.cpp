// The service API across workers, in one process: two daemons made workers
// 0 and 1 of one server, linked by a socketpair exactly as the master links
// worker processes (each with its own listener here). Also one daemon whose
// link's other end is held by the test, to play a broken or stuck worker.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus.h"
#include "core.h"
#include "gateway.h"
#include "hazel/daemon.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;

namespace {

constexpr uint16_t kProbeId = 100;
enum ProbeOp : uint16_t {
  kWhere = 1,      // answers "worker=<i> from_worker=<0|1> client=<id>"
  kAsk = 2,        // u16 worker, rest: call_worker(worker, kWhere, rest)
  kHold = 3,       // keeps the Reply (never answers)
  kAskHold = 4,    // u16 worker: call_worker(worker, kHold), answer status
  kFlood = 5,      // u16 worker, u32 n: n call_worker(kHold) with 2 KiB
                   // bodies; answers how many were refused BUSY
  kRefused = 6,    // answers this worker's Stats::bus_refused
  kPushMany = 7,   // u64 ids: push_many "hey" (PUSH kProbeId/9) to them;
                   // answers how many it was queued to
  kKickId = 8,     // u64 id: kick it with reason "out"; answers u8 result
};

// Records what it sees under a mutex (it runs on its daemon's thread).
class Probe final : public Service {
 public:
  explicit Probe(uint32_t events = 0) : Service("probe", kProbeId, events) {}

  void on_request(const Request& req, Reply reply) override {
    auto* p = reinterpret_cast<const uint8_t*>(req.body.data());
    switch (req.op) {
      case kWhere:
        reply.ok("worker=" + std::to_string(ctx().worker_index()) +
                 " from_worker=" + std::to_string(req.from_worker) +
                 " client=" + std::to_string(req.client));
        return;
      case kAsk:
        ctx().call_worker(
            get_u16(p), kProbeId, kWhere, req.body.substr(2), 0,
            [r = std::move(reply)](Status st, std::string_view b) mutable {
              r.send(st, b);
            },
            req.client);
        return;
      case kHold:
        held_.push_back(std::move(reply));
        holding.fetch_add(1);
        return;
      case kAskHold:
        ctx().call_worker(get_u16(p), kProbeId, kHold, "", 30000,
                          [r = std::move(reply)](Status st, std::string_view) mutable {
                            r.ok(status_name(st));
                          });
        return;
      case kPushMany: {
        std::vector<ClientId> ids;
        for (size_t i = 0; i + 8 <= req.body.size(); i += 8) ids.push_back(get_u64(p + i));
        reply.ok(std::to_string(ctx().push_many(ids.data(), ids.size(), kProbeId, 9, "hey")));
        return;
      }
      case kKickId: {
        uint8_t ok = ctx().kick(get_u64(p), "out") ? 1 : 0;
        reply.ok(std::string_view(reinterpret_cast<const char*>(&ok), 1));
        return;
      }
      case kRefused:
        reply.ok(std::to_string(ctx().stats().bus_refused));
        return;
      case kFlood: {
        uint16_t w = get_u16(p);
        uint32_t n = get_u32(p + 2);
        auto busy = std::make_shared<uint32_t>(0);
        std::string body(2048, 'x');
        for (uint32_t i = 0; i < n; ++i)
          ctx().call_worker(w, kProbeId, kHold, body, 30000,
                            [busy](Status st, std::string_view) {
                              if (st == Status::kBusy) ++*busy;
                            });
        reply.ok(std::to_string(*busy));
        return;
      }
    }
    reply.error(Status::kNoOp, "");
  }

  void on_event(Event ev, ClientId id) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (ev == Event::kRemoteDisconnect) remote_gone_.push_back(id);
  }
  void on_worker(uint16_t worker, bool up) override {
    std::lock_guard<std::mutex> lock(mu_);
    worker_events_.push_back(std::to_string(worker) + (up ? " up" : " down"));
  }
  void on_unmount() override { held_.clear(); }

  std::vector<ClientId> remote_gone() {
    std::lock_guard<std::mutex> lock(mu_);
    return remote_gone_;
  }
  std::vector<std::string> worker_events() {
    std::lock_guard<std::mutex> lock(mu_);
    return worker_events_;
  }
  std::atomic<int> holding{0};  // kHold requests taken

 private:
  std::mutex mu_;
  std::vector<ClientId> remote_gone_;
  std::vector<std::string> worker_events_;
  std::vector<Reply> held_;
};

// One daemon as worker `index` of `workers`, linked to others by `links`.
class Worker {
 public:
  Worker(uint16_t index, uint16_t workers,
         std::vector<std::pair<uint16_t, int>> links, uint32_t probe_events = 0,
         size_t bus_max_output = size_t{64} << 20,
         uint32_t request_timeout_ms = 5000)
      : probe_(probe_events) {
    Config cfg = test_config();
    cfg.bus_max_output = bus_max_output;
    cfg.request_timeout_ms = request_timeout_ms;
    if (getenv("HZ_TEST_LOG")) cfg.log_level = LogLevel::kDebug;
    daemon_ = std::make_unique<Daemon>(cfg);
    std::string err;
    int fd = listen_socket("127.0.0.1", 0, false, &port_, &err);
    EXPECT_GE(fd, 0) << err;
    detail::WorkerSetup ws;
    ws.index = index;
    ws.workers = workers;
    ws.listen_fd = fd;
    ws.links = std::move(links);
    detail::core_of(*daemon_).adopt(std::move(ws));
    EXPECT_TRUE(daemon_->mount(probe_, &err)) << err;
    EXPECT_TRUE(daemon_->start(&err)) << err;
    thread_ = std::thread([this] { daemon_->run(); });
  }
  ~Worker() { stop(); }
  void stop() {
    if (thread_.joinable()) {
      daemon_->stop();
      thread_.join();
    }
  }

  // A client of this worker, once the worker accepts (its links are up).
  std::unique_ptr<BlockingClient> connect() {
    auto c = std::make_unique<BlockingClient>();
    std::string err;
    bool ok = eventually([&] { return c->connect("127.0.0.1", port_, &err, 500); },
                         5000);
    EXPECT_TRUE(ok) << err;
    return c;
  }

  Probe& probe() { return probe_; }

 private:
  Probe probe_;
  std::unique_ptr<Daemon> daemon_;
  std::thread thread_;
  uint16_t port_ = 0;
};

struct Pair {
  Pair(uint32_t events0 = 0, uint32_t events1 = 0) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    w0 = std::make_unique<Worker>(0, 2, std::vector<std::pair<uint16_t, int>>{{1, sv[0]}}, events0);
    w1 = std::make_unique<Worker>(1, 2, std::vector<std::pair<uint16_t, int>>{{0, sv[1]}}, events1);
  }
  std::unique_ptr<Worker> w0, w1;
};

std::string u16_bytes(uint16_t v) {
  std::string s;
  append_u16(s, v);
  return s;
}

TEST(Bus, CallWorkerReachesTheSameServiceOnThatWorker) {
  Pair p;
  auto c = p.w0->connect();
  uint64_t id = hello_id(*c);
  Frame f = call(*c, kProbeId, kAsk, u16_bytes(1) + "x", 5000);
  expect_status(f, Status::kOk);
  EXPECT_EQ(f.body, "worker=1 from_worker=1 client=" + std::to_string(id));
}

TEST(Bus, ClientIdsNameTheirWorker) {
  Pair p;
  auto a = p.w0->connect();
  auto b = p.w1->connect();
  uint64_t ida = hello_id(*a), idb = hello_id(*b);
  EXPECT_NE(ida, idb);
  // TELL by id alone finds the client on the other worker.
  expect_status(call(*a, kSys, kTell, u64_bytes(idb) + "x", 5000), Status::kOk);
  Frame push;
  std::string err;
  ASSERT_TRUE(b->next_push(&push, 5000, &err)) << err;
  expect_push_frame(push, kSys, kTell, u64_bytes(ida) + "x");
}

TEST(Bus, PushManyReachesClientsOfBothWorkersWithOneEncoding) {
  Pair p;
  auto a = p.w0->connect();
  auto b = p.w1->connect();
  auto c = p.w1->connect();
  std::string ids = u64_bytes(hello_id(*a)) + u64_bytes(hello_id(*b)) +
                    u64_bytes(hello_id(*c));
  Frame f = call(*a, kProbeId, kPushMany, ids, 5000);
  EXPECT_EQ(f.body, "3");
  for (BlockingClient* x : {a.get(), b.get(), c.get()}) {
    Frame push;
    std::string err;
    ASSERT_TRUE(x->next_push(&push, 5000, &err)) << err;
    expect_push_frame(push, kProbeId, 9, "hey");
  }
}

TEST(Bus, KickReachesAClientOfTheOtherWorker) {
  Pair p;
  auto a = p.w0->connect();
  auto b = p.w1->connect();
  Frame f = call(*a, kProbeId, kKickId, u64_bytes(hello_id(*b)), 5000);
  EXPECT_EQ(f.body, std::string("\x01", 1));  // the bus took it
  Frame bye = read_any(*b, 5000);
  expect_goodbye(bye, Goodbye::kKicked);
  EXPECT_EQ(bye.body, "out");
  EXPECT_TRUE(b->wait_closed(5000));
}

TEST(Bus, RemoteDisconnectReachesServicesThatAskForIt) {
  Pair p(kEventRemoteDisconnect, 0);
  auto b = p.w1->connect();
  uint64_t idb = hello_id(*b);
  b->close();
  EXPECT_TRUE(eventually([&] {
    auto gone = p.w0->probe().remote_gone();
    return gone.size() == 1 && gone[0] == idb;
  }, 5000));
}

TEST(Bus, LocalDisconnectIsNotARemoteOne) {
  Pair p(kEventRemoteDisconnect, kEventRemoteDisconnect);
  auto a = p.w0->connect();
  uint64_t ida = hello_id(*a);
  a->close();
  ASSERT_TRUE(eventually([&] { return p.w1->probe().remote_gone().size() == 1; }, 5000));
  EXPECT_EQ(p.w1->probe().remote_gone()[0], ida);
  EXPECT_TRUE(p.w0->probe().remote_gone().empty());
}

TEST(Bus, AWorkerGoingAwayFailsCallsWaitingOnItAndIsTold) {
  Pair p;
  auto c = p.w0->connect();
  std::string err;
  ASSERT_TRUE(c->write_raw(request(kProbeId, kAskHold, 9, u16_bytes(1)), &err));
  // The call is held on worker 1; stopping it closes the link.
  EXPECT_TRUE(eventually([&] {
    auto ev = p.w0->probe().worker_events();
    return !ev.empty() && ev[0] == "1 up";
  }, 5000));
  ASSERT_TRUE(eventually([&] { return p.w1->probe().holding.load() == 1; }, 10000))
      << "the call never reached worker 1";
  p.w1->stop();
  Frame f = read_any(*c, 5000);
  EXPECT_EQ(f.header.session, 9u);
  EXPECT_EQ(f.body, "UNAVAILABLE");
  EXPECT_TRUE(eventually([&] {
    auto ev = p.w0->probe().worker_events();
    return ev.size() == 2 && ev[1] == "1 down";
  }, 5000));
}

// Worker 0 of 2 whose link's other end the test holds.
struct Lonely {
  explicit Lonely(size_t bus_max_output = size_t{64} << 20, int sndbuf = 0) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    if (sndbuf > 0) setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    peer = sv[1];
    // Say HELLO as worker 1 (wanting no events).
    std::string hello = encode_frame(static_cast<Kind>(BusKind::kHello), 0, 1, 0, "");
    EXPECT_EQ(write(peer, hello.data(), hello.size()), static_cast<ssize_t>(hello.size()));
    // Its peer never answers: requests to it time out after 500 ms.
    w = std::make_unique<Worker>(0, 2, std::vector<std::pair<uint16_t, int>>{{1, sv[0]}},
                                 0, bus_max_output, 500);
  }
  ~Lonely() {
    w.reset();
    close(peer);
  }
  // Reads what the daemon wrote on the link until a bus REQUEST has come;
  // false on timeout.
  bool wait_request(int timeout_ms) {
    std::string in;
    return eventually([&] {
      char buf[4096];
      ssize_t n = read(peer, buf, sizeof buf);
      if (n > 0) in.append(buf, static_cast<size_t>(n));
      for (size_t off = 0;;) {
        Decoded d = decode(reinterpret_cast<const uint8_t*>(in.data()) + off,
                           in.size() - off, 2 * kDefaultMaxFrame, Peer::kBus);
        if (d.status != DecodeStatus::kFrame) return false;
        if (d.header.kind == static_cast<Kind>(BusKind::kRequest)) return true;
        off += kHeaderSize + d.header.length;
      }
    }, timeout_ms);
  }
  // Reads what the daemon wrote on the link until EOF; false on timeout.
  bool wait_eof(int timeout_ms) {
    return eventually([&] {
      char buf[4096];
      ssize_t n = read(peer, buf, sizeof buf);
      return n == 0;
    }, timeout_ms);
  }
  int peer = -1;
  std::unique_ptr<Worker> w;
};

TEST(Bus, MalformedBusFrameClosesTheLinkAndFailsWhatWasPending) {
  Lonely l;
  auto c = l.w->connect();
  std::string err;
  ASSERT_TRUE(c->write_raw(request(kProbeId, kAskHold, 5, u16_bytes(1)), &err));
  ASSERT_TRUE(l.wait_request(10000)) << "the call never reached the link";
  const char junk[] = "GET / HTTP/1.1\r\n\r\n";
  ASSERT_EQ(write(l.peer, junk, sizeof junk - 1), static_cast<ssize_t>(sizeof junk - 1));
  EXPECT_TRUE(l.wait_eof(5000));
  Frame f = read_any(*c, 5000);
  EXPECT_EQ(f.header.session, 5u);
  EXPECT_EQ(f.body, "UNAVAILABLE");
  // The worker itself is unharmed.
  EXPECT_TRUE(ping_ok(*c));
}

TEST(Bus, LocalAnswersDoNotWaitForAnAnswerDueFromAnotherWorker) {
  // kv hands a key of worker 1 on to the silent peer; a PING pipelined
  // behind it is answered first, long before the GET times out.
  Lonely l;
  auto c = l.w->connect();
  std::string key = "k";
  while (shard_of(key, 2) != 1) key += "k";
  std::string err;
  ASSERT_TRUE(c->write_raw(request(kv::kId, kv::kGet, 1, key) +
                               request(kSys, kPing, 2, "p"),
                           &err));
  Frame first = read_any(*c, 5000);
  EXPECT_EQ(first.header.session, 2u);
  expect_status(first, Status::kOk);
  Frame second = read_any(*c, 5000);
  EXPECT_EQ(second.header.session, 1u);
  expect_status(second, Status::kTimeout);
}

TEST(Bus, RequestsPastTheLinkOutputLimitAreBusyAndCounted) {
  // A peer that never reads: the kernel buffer and then the link's 64 KiB
  // fill up, and further calls are refused instead of buffered.
  Lonely l(64 * 1024, 4096);
  auto c = l.w->connect();
  std::string body = u16_bytes(1);
  append_u32(body, 2000);
  Frame f = call(*c, kProbeId, kFlood, body, 5000);
  expect_status(f, Status::kOk);
  EXPECT_GT(std::stoul(f.body), 0u) << "no call was refused";
  EXPECT_EQ(call(*c, kProbeId, kRefused, "", 5000).body, f.body);
}

}  // namespace
