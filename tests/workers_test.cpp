// ./hazel -w N as a user runs it: a master and N worker processes on one
// port. Every statement PROTOCOL.md makes about "the whole server, all
// workers" is checked here over real sockets: ids, TELL, rooms, kv and INFO
// across workers, a worker killed with SIGKILL, the master killed, SIGTERM,
// SIGHUP's rolling restart, and the bus's invisibility from outside.
#include <gtest/gtest.h>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "http_util.h"
#include "kv_room_util.h"
#include "net_util.h"
#include "proc_util.h"

using namespace hazel;
using namespace hazel::test;
using namespace hazel::test::kvroom;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool pid_alive(pid_t pid) {
  // A zombie is dead for our purposes.
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  size_t rp = stat.rfind(')');
  return rp != std::string::npos && rp + 2 < stat.size() && stat[rp + 2] != 'Z';
}

// Worker pids of `master` by index, from their process titles.
std::map<int, pid_t> worker_pids(pid_t master) {
  std::map<int, pid_t> out;
  DIR* d = opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    pid_t pid = static_cast<pid_t>(atoi(e->d_name));
    if (pid <= 0) continue;
    std::string base = "/proc/" + std::string(e->d_name);
    std::string stat = read_file(base + "/stat");
    size_t rp = stat.rfind(')');
    if (rp == std::string::npos) continue;
    std::istringstream rest(stat.substr(rp + 2));
    char state;
    pid_t ppid;
    rest >> state >> ppid;
    if (ppid != master || state == 'Z') continue;
    std::string cmd = read_file(base + "/cmdline");
    const std::string prefix = "hazel: worker ";
    if (cmd.rfind(prefix, 0) != 0) continue;
    out[atoi(cmd.c_str() + prefix.size())] = pid;
  }
  closedir(d);
  return out;
}

int hello_worker(BlockingClient& c) {
  Frame f;
  std::string err;
  if (!c.call(kSys, kHello, "", &f, 5000, &err) || !f.ok()) return -1;
  size_t at = f.body.find("worker=");
  return at == std::string::npos ? -1 : atoi(f.body.c_str() + at + 7);
}

// A server with workers, and clients placed on the worker a test asks for.
class WorkersTest : public ::testing::Test {
 protected:
  void start(int workers, std::vector<std::string> extra = {}) {
    REQUIRE_BINARY();
    workers_ = workers;
    extra.insert(extra.begin(), {"-w", std::to_string(workers)});
    proc_ = start_server(&port_, "error", 0, extra);
    ASSERT_NE(proc_, nullptr);
    // Every worker serves before a test begins.
    ASSERT_TRUE(eventually(
        [&] { return static_cast<int>(worker_pids(proc_->pid()).size()) == workers; },
        10000));
    for (int w = 0; w < workers; ++w) {
      auto c = on_worker(w);
      ASSERT_NE(c, nullptr) << "no connection landed on worker " << w;
    }
  }

  std::unique_ptr<BlockingClient> connect() {
    auto c = std::make_unique<BlockingClient>();
    std::string err;
    EXPECT_TRUE(c->connect("127.0.0.1", port_, &err)) << err;
    return c;
  }

  // A client on worker `w`: the kernel spreads connections over the
  // workers' sockets, so connect until one lands there.
  std::unique_ptr<BlockingClient> on_worker(int w, int attempts = 400) {
    for (int i = 0; i < attempts; ++i) {
      auto c = std::make_unique<BlockingClient>();
      std::string err;
      if (!c->connect("127.0.0.1", port_, &err)) continue;
      if (hello_worker(*c) == w) return c;
    }
    return nullptr;
  }

  pid_t master() const { return proc_->pid(); }

  // Members of `room`: `a` on worker 0, `b` on worker 1.
  struct Pair {
    std::unique_ptr<BlockingClient> a, b;
  };
  Pair members_on_both(const std::string& room) {
    Pair p{on_worker(0), on_worker(1)};
    EXPECT_TRUE(p.a && p.b);
    if (p.a && p.b) {
      expect_status(call(*p.a, kRoom, kJoin, room, 5000), Status::kOk);
      expect_status(call(*p.b, kRoom, kJoin, room, 5000), Status::kOk);
    }
    return p;
  }

  std::unique_ptr<Proc> proc_;
  uint16_t port_ = 0;
  int workers_ = 0;
};

Frame tell(BlockingClient& from, uint64_t to, std::string_view payload) {
  return call(from, kSys, kTell, u64_bytes(to) + std::string(payload), 5000);
}

uint32_t u32_of(const Frame& f) {
  return f.body.size() == 4
             ? get_u32(reinterpret_cast<const uint8_t*>(f.body.data()))
             : UINT32_MAX;
}

std::set<uint64_t> member_set(const Frame& f) {
  std::set<uint64_t> s;
  for (size_t i = 0; i + 8 <= f.body.size(); i += 8)
    s.insert(get_u64(reinterpret_cast<const uint8_t*>(f.body.data()) + i));
  return s;
}

TEST_F(WorkersTest, ConnectionsSpreadOverEveryWorker) {
  start(3);  // start() fails unless a client lands on each of the 3
  EXPECT_EQ(worker_pids(master()).size(), 3u);
}

TEST_F(WorkersTest, HelloNamesTheWorkerAndIdsAreUniqueAcrossWorkers) {
  start(2);
  std::set<uint64_t> ids;
  std::vector<std::unique_ptr<BlockingClient>> keep;
  for (int w = 0; w < 2; ++w)
    for (int i = 0; i < 5; ++i) {
      auto c = on_worker(w);
      ASSERT_NE(c, nullptr);
      uint64_t id = hello_id(*c);
      EXPECT_NE(id, 0u);
      EXPECT_TRUE(ids.insert(id).second) << "id " << id << " repeated";
      keep.push_back(std::move(c));
    }
}

TEST_F(WorkersTest, TellReachesAClientOnAnotherWorker) {
  start(2);
  auto a = on_worker(0), b = on_worker(1);
  ASSERT_TRUE(a && b);
  uint64_t ida = hello_id(*a), idb = hello_id(*b);
  expect_status(tell(*a, idb, "hi b"), Status::kOk);
  Frame p;
  std::string err;
  ASSERT_TRUE(b->next_push(&p, 5000, &err)) << err;
  expect_push_frame(p, kSys, kTell, u64_bytes(ida) + "hi b");
  expect_status(tell(*b, ida, "hi a"), Status::kOk);
  ASSERT_TRUE(a->next_push(&p, 5000, &err)) << err;
  expect_push_frame(p, kSys, kTell, u64_bytes(idb) + "hi a");
}

TEST_F(WorkersTest, TellToAGoneClientOfAnotherWorkerIsNotFound) {
  start(2);
  auto a = on_worker(0), b = on_worker(1);
  ASSERT_TRUE(a && b);
  uint64_t idb = hello_id(*b);
  b->close();
  ASSERT_TRUE(eventually(
      [&] { return tell(*a, idb, "x").status() == Status::kNotFound; }, 5000));
}

TEST_F(WorkersTest, RoomSpansWorkersForPublishMembersAndJoinCount) {
  start(2);
  auto a = on_worker(0), b = on_worker(1), pub = on_worker(1);
  ASSERT_TRUE(a && b && pub);
  EXPECT_EQ(u32_of(call(*a, kRoom, kJoin, "lobby", 5000)), 1u);
  EXPECT_EQ(u32_of(call(*b, kRoom, kJoin, "lobby", 5000)), 2u);
  Frame m = call(*pub, kRoom, kMembers, "lobby", 5000);
  EXPECT_EQ(member_set(m), (std::set<uint64_t>{hello_id(*a), hello_id(*b)}));
  Frame r = call(*pub, kRoom, kPublish, publish_body("lobby", "hello"), 5000);
  expect_status(r, Status::kOk);
  EXPECT_EQ(u32_of(r), 2u);
  uint64_t pid = hello_id(*pub);
  for (BlockingClient* c : {a.get(), b.get()}) {
    Frame p;
    std::string err;
    ASSERT_TRUE(c->next_push(&p, 5000, &err)) << err;
    expect_push_frame(p, kRoom, kPublish, room_push_body("lobby", pid, "hello"));
  }
}

TEST_F(WorkersTest, OnePublishersMessagesArriveInOrderOnEveryWorker) {
  start(2);
  auto [a, b] = members_on_both("order");
  auto pub = on_worker(0);
  ASSERT_TRUE(a && b && pub);
  std::string err;
  constexpr int kN = 200;
  for (int i = 0; i < kN; ++i)
    ASSERT_TRUE(pub->send(kRoom, kPublish,
                          publish_body("order", std::to_string(i)), &err))
        << err;
  uint64_t pid = hello_id(*pub);
  for (BlockingClient* c : {a.get(), b.get()}) {
    for (int i = 0; i < kN; ++i) {
      Frame p;
      ASSERT_TRUE(c->next_push(&p, 5000, &err)) << err << " at " << i;
      ASSERT_EQ(p.body, room_push_body("order", pid, std::to_string(i)));
    }
  }
}

TEST_F(WorkersTest, ClientThatDisconnectsOnOneWorkerLeavesRoomsSeenFromAll) {
  start(2);
  auto [a, b] = members_on_both("r");
  ASSERT_TRUE(a && b);
  uint64_t ida = hello_id(*a);
  b->close();
  ASSERT_TRUE(eventually(
      [&] {
        return member_set(call(*a, kRoom, kMembers, "r", 5000)) ==
               std::set<uint64_t>{ida};
      },
      5000));
  EXPECT_EQ(u32_of(call(*a, kRoom, kPublish, publish_body("r", "x"), 5000)), 1u);
}

TEST_F(WorkersTest, KvIsOneKeySpaceAcrossWorkers) {
  start(2);
  auto a = on_worker(0), b = on_worker(1);
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 40; ++i) {
    std::string key = "key:" + std::to_string(i);
    expect_status(call(*a, kKv, kSet, set_body(key, 0, "v" + std::to_string(i)), 5000),
                  Status::kOk);
  }
  for (int i = 0; i < 40; ++i) {
    Frame f = call(*b, kKv, kGet, "key:" + std::to_string(i), 5000);
    expect_status(f, Status::kOk);
    EXPECT_EQ(f.body, "v" + std::to_string(i));
  }
  EXPECT_EQ(info_value(*a, "kv_keys"), 40);
}

TEST_F(WorkersTest, IncrFromEveryWorkerIsExact) {
  start(3);
  std::vector<std::unique_ptr<BlockingClient>> cs;
  for (int w = 0; w < 3; ++w) cs.push_back(on_worker(w));
  for (auto& c : cs) ASSERT_NE(c, nullptr);
  for (int round = 0; round < 20; ++round)
    for (auto& c : cs)
      expect_status(call(*c, kKv, kIncr, incr_body("hits", 1), 5000), Status::kOk);
  Frame f = call(*cs[0], kKv, kGet, "hits", 5000);
  EXPECT_EQ(f.body, "60");
}

TEST_F(WorkersTest, InfoSumsEveryWorker) {
  start(2);
  std::vector<std::unique_ptr<BlockingClient>> cs;
  for (int i = 0; i < 3; ++i) cs.push_back(on_worker(0));
  for (int i = 0; i < 2; ++i) cs.push_back(on_worker(1));
  for (auto& c : cs) ASSERT_NE(c, nullptr);
  // Probing connections of start()/on_worker() may still be closing.
  ASSERT_TRUE(eventually([&] { return info_value(*cs[0], "clients") == 5; }, 5000));
  Frame f = call(*cs[0], kSys, kInfo, "", 5000);
  auto m = parse_info(f.body);
  EXPECT_EQ(m["workers"], "2");
  EXPECT_EQ(m["workers_answered"], "2");
  EXPECT_EQ(m["worker0_clients"], "3");
  EXPECT_EQ(m["worker1_clients"], "2");
  EXPECT_EQ(m["bus_links_up"], "2");
}

TEST_F(WorkersTest, KilledWorkerIsReplacedAndOnlyItsClientsAreLost) {
  start(2);
  auto [a, b] = members_on_both("k");
  auto other = on_worker(0);
  ASSERT_TRUE(a && b && other);
  uint64_t old_b = hello_id(*b);
  pid_t victim = worker_pids(master())[1];
  ASSERT_GT(victim, 0);
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  EXPECT_TRUE(b->wait_closed(5000));
  // The survivor keeps serving, and the dead worker's member is gone.
  EXPECT_TRUE(ping_ok(*a));
  EXPECT_EQ(member_set(call(*other, kRoom, kMembers, "k", 5000)),
            std::set<uint64_t>{hello_id(*a)});
  // A successor serves the slot again, with ids never used before.
  ASSERT_TRUE(eventually(
      [&] {
        auto w = worker_pids(master());
        return w.count(1) && w[1] != victim;
      },
      5000));
  auto fresh = on_worker(1);
  ASSERT_NE(fresh, nullptr);
  uint64_t new_b = hello_id(*fresh);
  EXPECT_NE(new_b, old_b);
  EXPECT_GT(new_b, old_b);
  expect_status(tell(*a, new_b, "welcome"), Status::kOk);
}

TEST_F(WorkersTest, RequestPendingOnAWorkerThatDiesIsAnsweredUnavailable) {
  start(2);
  auto a = on_worker(0), b = on_worker(1);
  ASSERT_TRUE(a && b);
  uint64_t idb = hello_id(*b);
  pid_t victim = worker_pids(master())[1];
  ASSERT_EQ(kill(victim, SIGSTOP), 0);
  std::string err;
  uint32_t session = 0;
  ASSERT_TRUE(a->write_raw(request(kSys, kTell, 77, u64_bytes(idb) + "x"), &err));
  (void)session;
  // The TELL waits on the stopped worker; its death answers it at once.
  std::this_thread::sleep_for(Ms(100));
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  Frame f = read_any(*a, 4000);  // well before the 5 s request timeout
  EXPECT_EQ(f.header.session, 77u);
  expect_status(f, Status::kUnavailable);
}

TEST_F(WorkersTest, KillingTheMasterLeavesNoWorker) {
  start(2);
  auto pids = worker_pids(master());
  ASSERT_EQ(pids.size(), 2u);
  ASSERT_EQ(kill(master(), SIGKILL), 0);
  proc_->wait_exit(5000);
  for (auto& [w, pid] : pids)
    EXPECT_TRUE(eventually([&] { return !pid_alive(pid); }, 5000))
        << "worker " << w << " (pid " << pid << ") outlived its master";
}

TEST_F(WorkersTest, SigtermDrainsEveryWorkerAndExitsZero) {
  start(2);
  auto a = on_worker(0), b = on_worker(1);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(kill(master(), SIGTERM), 0);
  for (BlockingClient* c : {a.get(), b.get()}) {
    Frame f = read_any(*c, 5000);
    expect_goodbye(f, Goodbye::kShutdown);
  }
  auto st = proc_->wait_exit(5000);
  ASSERT_TRUE(st.has_value()) << "master still running 5 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << "status " << *st;
}

TEST_F(WorkersTest, HealthzSays503ToEveryProbeWhileOneWorkerDrains) {
  uint16_t admin = pick_port();
  start(2, {"--admin-port", std::to_string(admin)});
  // A client that does not read keeps its worker draining (2 s); the other
  // worker has nothing to drain and exits at once.
  RawSocket jam;
  ASSERT_TRUE(jam.connect_v4(port_, 4096));
  {
    auto probe = connect();
    ASSERT_TRUE(jam_output(jam, *probe)) << "could not queue enough output";
  }
  ASSERT_EQ(kill(master(), SIGTERM), 0);
  ASSERT_TRUE(eventually([&] { return worker_pids(master()).size() <= 1; }, 5000));
  // Every probe reaches the worker still there: none waits on the admin
  // socket of the one that has gone.
  int probes = 0;
  while (probes < 6 && worker_pids(master()).size() == 1) {
    HttpReply r = http_exchange(admin, http_get("/healthz"), 3000);
    if (worker_pids(master()).empty()) break;  // the drain ended meanwhile
    EXPECT_EQ(r.status, 503) << "probe " << probes << ": " << r.body;
    ++probes;
  }
  EXPECT_GT(probes, 0) << "the drain ended before a probe";
  auto st = proc_->wait_exit(8000);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << "status " << *st;
}

TEST_F(WorkersTest, SighupReplacesEveryWorkerWithoutRefusingAConnection) {
  start(2);
  auto before = worker_pids(master());
  ASSERT_EQ(kill(master(), SIGHUP), 0);
  int refused = 0, served = 0;
  const auto t0 = SteadyClock::now();
  for (;;) {
    BlockingClient c;
    std::string err;
    if (c.connect("127.0.0.1", port_, &err, 3000) && ping_ok(c)) {
      ++served;
    } else if (!c.got_goodbye()) {
      // A GOODBYE SHUTDOWN from a draining worker is fine; a refused or
      // reset connection is not.
      ++refused;
    }
    auto now = worker_pids(master());
    bool replaced = now.size() == 2 && now[0] != before[0] && now[1] != before[1];
    bool old_gone = !pid_alive(before[0]) && !pid_alive(before[1]);
    if ((replaced && old_gone) || elapsed_ms(t0) > 15000) break;
  }
  auto after = worker_pids(master());
  EXPECT_NE(after[0], before[0]);
  EXPECT_NE(after[1], before[1]);
  EXPECT_EQ(refused, 0) << served << " served";
  // And the new workers serve.
  for (int w = 0; w < 2; ++w) {
    auto c = on_worker(w);
    ASSERT_NE(c, nullptr) << "nothing serves worker slot " << w;
    EXPECT_TRUE(ping_ok(*c));
  }
}

// Socket inodes of a process's descriptors.
std::set<std::string> socket_inodes(pid_t pid) {
  std::set<std::string> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    char target[128];
    std::string p = dir + "/" + e->d_name;
    ssize_t n = readlink(p.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    std::string t(target);
    if (t.rfind("socket:[", 0) == 0) out.insert(t.substr(8, t.size() - 9));
  }
  closedir(d);
  return out;
}

TEST_F(WorkersTest, TheBusHasNoListeningOrNamedUnixSocket) {
  start(3);
  std::set<std::string> ours = socket_inodes(master());
  for (auto& [w, pid] : worker_pids(master())) {
    auto s = socket_inodes(pid);
    ours.insert(s.begin(), s.end());
  }
  std::istringstream unix_table(read_file("/proc/net/unix"));
  std::string line;
  std::getline(unix_table, line);  // header
  int seen = 0;
  while (std::getline(unix_table, line)) {
    // Num RefCount Protocol Flags Type St Inode [Path]
    std::istringstream f(line);
    std::string num, ref, proto, flags, type, st, inode, path;
    f >> num >> ref >> proto >> flags >> type >> st >> inode >> path;
    if (!ours.count(inode)) continue;
    ++seen;
    EXPECT_TRUE(path.empty()) << "named unix socket " << path;
    // __SO_ACCEPTCON (0x10000) marks a listening socket.
    EXPECT_EQ(std::stoul(flags, nullptr, 16) & 0x10000, 0u) << line;
  }
  EXPECT_GE(seen, 3 * 2);  // at least the 3 links, both ends
}

// Inodes of the sockets listening on 127.0.0.1:port (/proc/net/tcp).
std::set<std::string> listening_inodes(uint16_t port) {
  std::set<std::string> out;
  std::istringstream table(read_file("/proc/net/tcp"));
  std::string line;
  std::getline(table, line);  // header
  char want[16];
  snprintf(want, sizeof want, "0100007F:%04X", port);
  while (std::getline(table, line)) {
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    std::istringstream f(line);
    std::string sl, local, rem, st, q, tr, re, uid, timeout, inode;
    f >> sl >> local >> rem >> st >> q >> tr >> re >> uid >> timeout >> inode;
    if (local == want && st == "0A") out.insert(inode);
  }
  return out;
}

TEST_F(WorkersTest, EveryWorkerListensOnTheWebSocketAndAdminPorts) {
  uint16_t ws = pick_port(), admin = pick_port();
  ASSERT_NE(ws, admin);
  start(2, {"--ws-port", std::to_string(ws), "--admin-port", std::to_string(admin)});
  auto workers = worker_pids(master());
  ASSERT_EQ(workers.size(), 2u);
  for (uint16_t port : {ws, admin}) {
    std::set<std::string> listening = listening_inodes(port);
    EXPECT_EQ(listening.size(), 2u) << "one SO_REUSEPORT socket per worker on " << port;
    std::set<std::string> held;
    for (auto& [w, pid] : workers) {
      std::set<std::string> mine;
      for (const std::string& i : socket_inodes(pid))
        if (listening.count(i)) mine.insert(i);
      EXPECT_EQ(mine.size(), 1u) << "worker " << w << " on port " << port;
      held.insert(mine.begin(), mine.end());
    }
    EXPECT_EQ(held.size(), 2u) << "the workers share one socket on " << port;
  }
  HttpReply page = http_exchange(ws, http_get("/hazel.js"));
  EXPECT_EQ(page.status, 200);
  HttpConn up(ws);
  ASSERT_TRUE(up.send_all(ws_upgrade()));
  ASSERT_TRUE(up.read_head());
  EXPECT_EQ(up.reply().status, 101);
}

TEST_F(WorkersTest, OneScrapeHasTheSeriesOfEveryWorker) {
  uint16_t admin = pick_port();
  start(2, {"--admin-port", std::to_string(admin)});
  auto a = on_worker(0), b = on_worker(1);
  ASSERT_TRUE(a && b);
  // Any worker the scrape lands on answers for both.
  for (int i = 0; i < 4; ++i) {
    HttpReply r = http_exchange(admin, http_get("/metrics"));
    ASSERT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("\nhazel_workers 2\n"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\nhazel_workers_answered 2\n"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\nhazel_clients{worker=\"0\"} "), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\nhazel_clients{worker=\"1\"} "), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\nhazel_bus_links_up{worker=\"1\"} 1\n"), std::string::npos)
        << r.body;
  }
}

TEST_F(WorkersTest, PortInUseExitsOneWithTheBindError) {
  start(2);
  Proc second;
  std::string why;
  ASSERT_TRUE(second.spawn({"-b", "127.0.0.1", "-p", std::to_string(port_),
                            "-w", "2"},
                           &why))
      << why;
  auto st = second.wait_exit(5000);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 1);
  EXPECT_NE(second.err().find("Address already in use"), std::string::npos);
  EXPECT_TRUE(ping_ok(*connect()));
}

}  // namespace
