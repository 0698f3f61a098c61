// ./hazel --cluster: nodes on different ports sharing one real Redis (a
// redis-server each test starts on a free loopback port, persistence off,
// and stops). TELL, rooms, kv and INFO across nodes; a node killed with
// SIGKILL; Redis killed and restarted; two prefixes on one Redis.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string_view>
#include <thread>
#include <string>
#include <vector>

#include "kv_room_util.h"
#include "net_util.h"
#include "proc_util.h"
#include "resp.h"

using namespace hazel;
using namespace hazel::test;
using namespace hazel::test::kvroom;

namespace {

constexpr const char* kRedisServer = "/usr/bin/redis-server";
// Short heartbeats keep the failure tests short; the waits stay generous.
constexpr const char* kHeartbeatMs = "500";
constexpr int kWaitMs = 20000;

// One redis-server of our own.
class RedisProc {
 public:
  // `extra`: more redis-server flags (kept for a restart).
  bool start(std::string* why, std::vector<std::string> extra = {}) {
    if (port_ == 0) port_ = pick_port();
    if (!extra.empty()) extra_ = std::move(extra);
    proc_ = std::make_unique<Proc>();
    std::vector<std::string> args = {"--port", std::to_string(port_), "--bind",
                                     "127.0.0.1", "--save", "", "--appendonly",
                                     "no", "--loglevel", "warning"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    if (!proc_->spawn(args, why, 0, kRedisServer)) return false;
    if (!eventually([&] { return !proc_->running() || ping(); }, kWaitMs) ||
        !proc_->running()) {
      *why = "redis-server did not answer on port " + std::to_string(port_) +
             ": " + proc_->err() + proc_->out();
      return false;
    }
    return true;
  }
  void kill9() {
    if (proc_ && proc_->running()) {
      kill(proc_->pid(), SIGKILL);
      proc_->wait_exit(kWaitMs);
    }
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return proc_ ? proc_->pid() : -1; }
  uint16_t port() const { return port_; }

  // Sends `commands` pipelined on one connection; the last reply, raw.
  std::string ask(const std::vector<std::vector<std::string>>& commands) const {
    int fd = connect_fd();
    if (fd < 0) return "";
    std::string out;
    for (const auto& c : commands) {
      std::vector<std::string_view> v(c.begin(), c.end());
      resp::append_command(out, v.data(), v.size());
    }
    ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    std::string in;
    std::string last;
    resp::Limits lim;
    for (size_t got = 0; got < commands.size();) {
      long len = resp::measure(reinterpret_cast<const uint8_t*>(in.data()), in.size(), lim);
      if (len > 0) {
        last = in.substr(0, static_cast<size_t>(len));
        in.erase(0, static_cast<size_t>(len));
        ++got;
        continue;
      }
      pollfd p{fd, POLLIN, 0};
      char buf[4096];
      ssize_t n = ::poll(&p, 1, kWaitMs) == 1 ? ::recv(fd, buf, sizeof buf, 0) : -1;
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    return last;
  }

 private:
  int connect_fd() const {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }

  // Answers at all (a PING without the password is refused, and that is
  // an answer too).
  bool ping() const {
    std::string r = ask({{"PING"}});
    return r.rfind("+PONG", 0) == 0 || r.rfind("-NOAUTH", 0) == 0;
  }
  std::unique_ptr<Proc> proc_;
  std::vector<std::string> extra_;
  uint16_t port_ = 0;
};

struct Node {
  std::unique_ptr<Proc> proc;
  uint16_t port = 0;
};

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_BINARY();
    if (access(kRedisServer, X_OK) != 0)
      GTEST_SKIP() << kRedisServer << " is not installed (apt-get install redis-server)";
    std::string why;
    ASSERT_TRUE(redis_.start(&why)) << why;
  }

  // A node of the cluster on `prefix`, with `extra` flags (-w 2, say).
  void add_node(std::vector<std::string> extra = {},
                const std::string& prefix = "hazel", const char* log_level = "error") {
    std::vector<std::string> args = {"--cluster", redis_.url(), "--cluster-prefix",
                                     prefix, "--cluster-heartbeat-ms", kHeartbeatMs};
    args.insert(args.end(), extra.begin(), extra.end());
    Node n;
    n.proc = start_server(&n.port, log_level, 0, args);
    EXPECT_NE(n.proc, nullptr);
    nodes_.push_back(std::move(n));
  }

  std::unique_ptr<BlockingClient> client(const Node& n) {
    auto c = std::make_unique<BlockingClient>();
    std::string err;
    EXPECT_TRUE(c->connect("127.0.0.1", n.port, &err)) << err;
    return c;
  }

  // `n` lone nodes on the default prefix, the first with `first_extra`
  // flags and log level; returns once every node sees the others.
  void start_nodes(size_t n, std::vector<std::string> first_extra = {},
                   const char* first_log_level = "error") {
    add_node(std::move(first_extra), "hazel", first_log_level);
    for (size_t i = 1; i < n; ++i) add_node();
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(all_see(static_cast<int64_t>(n)));
  }

  // Three hosts as a user would start them, one with two workers: four
  // nodes (every worker is one). Returns once every node sees the others.
  void three_hosts() {
    add_node();
    add_node();
    add_node({"-w", "2"});
    ASSERT_FALSE(HasFatalFailure());
    for (const Node& n : nodes_) ASSERT_NE(n.proc, nullptr);
    ASSERT_TRUE(all_see(4));
  }

  // One client connected to each node started, and its id by index.
  std::vector<std::unique_ptr<BlockingClient>> one_client_each(
      std::vector<uint64_t>* ids) {
    std::vector<std::unique_ptr<BlockingClient>> cs;
    for (const Node& n : nodes_) {
      cs.push_back(client(n));
      ids->push_back(hello_id(*cs.back()));
    }
    return cs;
  }

  bool all_see(int64_t nodes) {
    for (const Node& n : nodes_) {
      if (!n.proc || !n.proc->running()) continue;
      auto c = client(n);
      if (!eventually([&] { return info_value(*c, "nodes") == nodes; }, kWaitMs))
        return false;
    }
    return true;
  }

  RedisProc redis_;
  std::vector<Node> nodes_;
};

size_t count_of(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

Frame tell(BlockingClient& from, uint64_t to, std::string_view payload) {
  return call(from, kSys, kTell, u64_bytes(to) + std::string(payload), 10000);
}

std::string tell_push_body(uint64_t from, std::string_view payload) {
  return u64_bytes(from) + std::string(payload);
}

TEST_F(ClusterTest, HelloNamesTheNodeAndIdsAreUniqueAcrossNodes) {
  three_hosts();
  std::set<uint64_t> ids;
  std::set<std::string> node_lines;
  for (const Node& n : nodes_) {
    for (int i = 0; i < 3; ++i) {
      auto c = client(n);
      Frame f = call(*c, kSys, kHello, "");
      ASSERT_TRUE(f.ok());
      size_t at = f.body.find("\nnode=");
      ASSERT_NE(at, std::string::npos) << f.body;
      node_lines.insert(f.body.substr(at + 1, f.body.find('\n', at + 1) - at - 1));
      EXPECT_TRUE(ids.insert(hello_id(*c)).second);
    }
  }
  EXPECT_GE(node_lines.size(), 3u);
}

TEST_F(ClusterTest, TellReachesClientsOnEveryNodeInEveryDirection) {
  three_hosts();
  std::vector<uint64_t> ids;
  auto cs = one_client_each(&ids);
  for (size_t from = 0; from < cs.size(); ++from) {
    for (size_t to = 0; to < cs.size(); ++to) {
      if (from == to) continue;
      std::string payload = "hi " + std::to_string(from) + "->" + std::to_string(to);
      expect_status(tell(*cs[from], ids[to], payload), Status::kOk);
      Frame p = expect_push(*cs[to], 10000);
      expect_push_frame(p, kSys, kTell, tell_push_body(ids[from], payload));
    }
  }
}

TEST_F(ClusterTest, TellToAnAbsentClientOfAnotherNodeIsNotFound) {
  three_hosts();
  auto a = client(nodes_[0]);
  auto b = client(nodes_[1]);
  uint64_t gone = hello_id(*b);
  b.reset();
  EXPECT_TRUE(eventually([&] {
    return tell(*a, gone, "x").status() == Status::kNotFound;
  }, kWaitMs));
}

TEST_F(ClusterTest, RoomSpansNodesWithCountsOrderAndMembers) {
  three_hosts();
  std::vector<uint64_t> id_list;
  auto cs = one_client_each(&id_list);
  std::set<uint64_t> ids(id_list.begin(), id_list.end());
  for (size_t i = 0; i < cs.size(); ++i)
    EXPECT_EQ(join(*cs[i], "lobby"), static_cast<uint32_t>(i + 1));
  for (auto& c : cs) {
    std::vector<uint64_t> m = members_of(*c, "lobby");
    EXPECT_EQ(std::set<uint64_t>(m.begin(), m.end()), ids);
  }
  constexpr int kMessages = 500;
  for (int i = 0; i < kMessages; ++i)
    ASSERT_EQ(publish(*cs[0], "lobby", std::to_string(i)), cs.size()) << i;
  uint64_t publisher = hello_id(*cs[0]);
  for (auto& c : cs) {
    for (int i = 0; i < kMessages; ++i) {
      Frame p = expect_push(*c, 10000);
      RoomPush rp;
      ASSERT_TRUE(parse_room_push(p, &rp));
      ASSERT_EQ(rp.publisher, publisher);
      ASSERT_EQ(rp.payload, std::to_string(i)) << "out of order";
    }
  }
}

// The integer a raw RESP reply ends with (":2\r\n", or an array whose last
// element is one, as PUBSUB NUMSUB's); -1 if none.
int64_t last_integer(const std::string& raw) {
  size_t at = raw.rfind(':');
  if (at == std::string::npos || (at != 0 && raw[at - 1] != '\n')) return -1;
  return std::stoll(raw.substr(at + 1));
}

TEST_F(ClusterTest, RoomChannelIsSubscribedOnlyByNodesWithMembers) {
  start_nodes(3);
  ASSERT_FALSE(HasFatalFailure());
  auto a = client(nodes_[0]);
  auto b = client(nodes_[1]);
  auto c = client(nodes_[2]);
  auto numsub = [&] { return last_integer(redis_.ask({{"PUBSUB", "NUMSUB", "hazel:room:r"}})); };
  EXPECT_EQ(join(*a, "r"), 1u);
  EXPECT_EQ(join(*b, "r"), 2u);
  EXPECT_EQ(numsub(), 2);
  EXPECT_EQ(publish(*c, "r", "x"), 2u);
  expect_push(*a, 10000);
  expect_push(*b, 10000);
  expect_status(call(*a, kRoom, kLeave, "r"), Status::kOk);
  EXPECT_TRUE(eventually([&] { return numsub() == 1; }, kWaitMs));
  expect_status(call(*b, kRoom, kLeave, "r"), Status::kOk);
  EXPECT_TRUE(eventually([&] { return numsub() == 0; }, kWaitMs));
  // The room's counts go with its last member.
  EXPECT_TRUE(eventually([&] {
    return last_integer(redis_.ask({{"EXISTS", "hazel:room:r"}})) == 0;
  }, kWaitMs));
  EXPECT_EQ(publish(*c, "r", "anyone?"), 0u);
}

TEST_F(ClusterTest, OneRedisPublishPerRoomPublishWhateverTheNodes) {
  three_hosts();
  std::vector<uint64_t> ids;
  auto cs = one_client_each(&ids);
  for (auto& c : cs) join(*c, "lobby");
  auto publishes = [&] {
    std::string info = redis_.ask({{"INFO", "commandstats"}});
    size_t at = info.find("cmdstat_publish:calls=");
    return at == std::string::npos ? 0 : std::stoll(info.substr(at + 22));
  };
  long long before = publishes();
  constexpr int kMessages = 20;
  for (int i = 0; i < kMessages; ++i)
    ASSERT_EQ(publish(*cs[0], "lobby", std::to_string(i)), cs.size());
  EXPECT_EQ(publishes() - before, kMessages);
  for (auto& c : cs)
    for (int i = 0; i < kMessages; ++i) expect_push(*c, 10000);
}

TEST_F(ClusterTest, RoomsSpanNodesAgainAfterRedisRestartsEmpty) {
  start_nodes(2);
  ASSERT_FALSE(HasFatalFailure());
  auto a = client(nodes_[0]);
  auto b = client(nodes_[1]);
  join(*a, "lobby");
  EXPECT_EQ(join(*b, "lobby"), 2u);
  redis_.kill9();
  std::string why;
  ASSERT_TRUE(redis_.start(&why)) << why;
  // The new Redis knows nothing: the nodes state their counts and listen
  // to their rooms again by themselves.
  EXPECT_TRUE(eventually([&] { return publish(*a, "lobby", "probe") == 2; }, kWaitMs));
  EXPECT_EQ(publish(*a, "lobby", "after"), 2u);
  bool seen = false;
  for (int i = 0; i < 10000 && !seen; ++i) {
    RoomPush rp;
    ASSERT_TRUE(parse_room_push(expect_push(*b, 10000), &rp));
    seen = rp.payload == "after";
  }
  EXPECT_TRUE(seen);
}

TEST_F(ClusterTest, FullOutputToRedisAnswersKvBusyAndDropsCrossNodeTraffic) {
  // A long command deadline, so that a stopped Redis stays a full one
  // rather than a lost one however slow this machine is.
  start_nodes(2, {"--cluster-max-output", "65536", "--cluster-timeout", "120000"});
  ASSERT_FALSE(HasFatalFailure());
  auto a = client(nodes_[0]);
  auto teller = client(nodes_[0]);
  auto b = client(nodes_[1]);
  uint64_t b_id = hello_id(*b);
  ASSERT_EQ(kill(redis_.pid(), SIGSTOP), 0);
  // Far more than the kernel buffers between the node and Redis.
  constexpr uint32_t kSets = 400;
  std::string burst;
  for (uint32_t i = 1; i <= kSets; ++i)
    burst += encode_frame(Kind::kRequest, kKv, kSet, i,
                          set_body("big" + std::to_string(i), 0, std::string(60000, 'v')));
  std::string err;
  ASSERT_TRUE(a->write_raw(burst, &err)) << err;
  std::map<uint32_t, Frame> replies;
  bool busy = false;
  while (!busy) {
    Frame f;
    ASSERT_TRUE(a->read_frame(&f, kWaitMs, &err)) << "no BUSY: " << err;
    busy = f.status() == Status::kBusy;
    replies.emplace(f.header.session, std::move(f));
  }
  Status st = tell(*teller, b_id, "through a full pipe?").status();
  EXPECT_NE(st, Status::kOk);
  ASSERT_EQ(kill(redis_.pid(), SIGCONT), 0);
  // Every SET is answered: OK, BUSY, or TIMEOUT for those Redis held.
  while (replies.size() < kSets) {
    Frame f;
    ASSERT_TRUE(a->read_frame(&f, kWaitMs, &err)) << replies.size() << ": " << err;
    replies.emplace(f.header.session, std::move(f));
  }
  for (auto& [session, f] : replies) {
    Status s = f.status();
    EXPECT_TRUE(s == Status::kOk || s == Status::kBusy || s == Status::kTimeout)
        << session << ": " << static_cast<int>(s);
  }
  EXPECT_TRUE(eventually([&] {
    return tell(*teller, b_id, "and now?").status() == Status::kOk;
  }, kWaitMs));
  EXPECT_GE(info_value(*teller, "cluster_dropped"), 1);
}

TEST_F(ClusterTest, NodeWhoseNumberIsTakenStopsWithStatusOneAndLeavesItToTheTaker) {
  add_node();
  ASSERT_FALSE(HasFatalFailure());
  auto a = client(nodes_[0]);
  Frame hello = call(*a, kSys, kHello, "");
  size_t at = hello.body.find("\nnode=");
  ASSERT_NE(at, std::string::npos) << hello.body;
  std::string node = hello.body.substr(at + 6, hello.body.find('\n', at + 1) - at - 6);
  std::string key = "hazel:node:" + node;
  // As a node that took the number while this one was cut off would.
  redis_.ask({{"SET", key, "elsewhere:1", "PX", "60000"}});
  auto st = nodes_[0].proc->wait_exit(kWaitMs);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 1) << *st;
  std::string log = nodes_[0].proc->err() + nodes_[0].proc->out();
  EXPECT_NE(log.find("is held by elsewhere:1"), std::string::npos) << log;
  // It did not take the number back on its way out.
  EXPECT_EQ(redis_.ask({{"GET", key}}), "$11\r\nelsewhere:1\r\n");
}

TEST_F(ClusterTest, KvIsOneKeySpaceStoredInRedis) {
  three_hosts();
  auto a = client(nodes_[0]);
  auto b = client(nodes_[1]);
  auto c = client(nodes_[2]);
  expect_status(call(*a, kKv, kSet, set_body("greeting", 0, "hello")), Status::kOk);
  Frame got = call(*b, kKv, kGet, "greeting");
  expect_status(got, Status::kOk);
  EXPECT_EQ(got.body, "hello");
  Frame n = call(*c, kKv, kIncr, incr_body("counter", 5));
  expect_status(n, Status::kOk);
  EXPECT_EQ(n.body, "5");
  Frame m = call(*a, kKv, kIncr, incr_body("counter", -2));
  EXPECT_EQ(m.body, "3");
  expect_status(call(*b, kKv, kIncr, incr_body("greeting", 1)), Status::kBadRequest);
  Frame del = call(*c, kKv, kDel, "greeting");
  EXPECT_EQ(del.body, u8_bytes(1));
  expect_status(call(*a, kKv, kGet, "greeting"), Status::kNotFound);
}

TEST_F(ClusterTest, KvTtlIsKeptByRedis) {
  add_node();
  ASSERT_FALSE(HasFatalFailure());
  auto a = client(nodes_[0]);
  expect_status(call(*a, kKv, kSet, set_body("brief", 100, "x")), Status::kOk);
  EXPECT_TRUE(eventually([&] {
    return call(*a, kKv, kGet, "brief").status() == Status::kNotFound;
  }, kWaitMs));
}

TEST_F(ClusterTest, PasswordAndDatabaseComeFromTheUrl) {
  RedisProc locked;
  std::string why;
  ASSERT_TRUE(locked.start(&why, {"--requirepass", "s3cret"})) << why;
  Node n;
  n.proc = start_server(&n.port, "error", 0,
                        {"--cluster", "redis://:s3cret@127.0.0.1:" +
                                          std::to_string(locked.port()) + "/3"});
  ASSERT_NE(n.proc, nullptr);
  auto c = client(n);
  expect_status(call(*c, kKv, kSet, set_body("k", 0, "in db 3")), Status::kOk);
  EXPECT_EQ(locked.ask({{"AUTH", "s3cret"}, {"SELECT", "3"}, {"GET", "hazel:kv:k"}}),
            "$7\r\nin db 3\r\n");
  EXPECT_EQ(locked.ask({{"AUTH", "s3cret"}, {"GET", "hazel:kv:k"}}), "$-1\r\n");
}

TEST_F(ClusterTest, WrongPasswordIsLoggedAndTheNodeDoesNotServe) {
  Proc p;
  std::string why;
  uint16_t port = pick_port();
  ASSERT_TRUE(p.spawn({"-b", "127.0.0.1", "-p", std::to_string(port), "--cluster",
                       "redis://:wrong@127.0.0.1:" + std::to_string(redis_.port())},
                      &why))
      << why;
  EXPECT_TRUE(p.wait_err("AUTH refused", kWaitMs)) << p.err_seen();
  // The port is bound but nothing is accepted until the node has joined.
  BlockingClient probe;
  std::string err;
  if (probe.connect("127.0.0.1", port, &err, 200)) {
    EXPECT_FALSE(ping_ok(probe, 1000));
  }
  // Retries go on (100 ms, doubling) without a line each: once for each of
  // the node's two connections.
  std::this_thread::sleep_for(Ms(2000));
  kill(p.pid(), SIGTERM);
  ASSERT_TRUE(p.wait_exit(kWaitMs));
  std::string log = p.err();
  EXPECT_EQ(count_of(log, "AUTH refused"), 2u) << log;
}

TEST_F(ClusterTest, InfoSumsEveryNode) {
  three_hosts();
  std::vector<std::unique_ptr<BlockingClient>> cs;
  for (const Node& n : nodes_) cs.push_back(client(n));
  EXPECT_EQ(info_value(*cs[0], "nodes"), 4);
  EXPECT_GE(info_value(*cs[1], "clients"), 3);
  EXPECT_EQ(info_value(*cs[2], "cluster_dropped"), 0);
}

TEST_F(ClusterTest, KilledNodeLeavesRoomsAndItsClientsCannotBeReached) {
  three_hosts();
  auto a = client(nodes_[0]);
  auto b = client(nodes_[1]);
  uint64_t a_id = hello_id(*a);
  join(*a, "lobby");
  EXPECT_EQ(join(*b, "lobby"), 2u);
  kill(nodes_[0].proc->pid(), SIGKILL);
  nodes_[0].proc->wait_exit(kWaitMs);
  EXPECT_TRUE(eventually([&] { return members_of(*b, "lobby").size() == 1; }, kWaitMs));
  EXPECT_EQ(publish(*b, "lobby", "anyone?"), 1u);
  Status st = tell(*b, a_id, "x").status();
  EXPECT_TRUE(st == Status::kNotFound || st == Status::kUnavailable)
      << static_cast<int>(st);
  EXPECT_TRUE(all_see(3));
}

TEST_F(ClusterTest, RedisGoneKvUnavailableLocalRoomsWorkThenTrafficResumes) {
  start_nodes(2, {}, "info");
  ASSERT_FALSE(HasFatalFailure());
  auto a = client(nodes_[0]);
  auto b1 = client(nodes_[1]);
  auto b2 = client(nodes_[1]);
  uint64_t b1_id = hello_id(*b1);
  redis_.kill9();
  EXPECT_TRUE(eventually([&] {
    return call(*a, kKv, kGet, "k").status() == Status::kUnavailable;
  }, kWaitMs));
  // Within one node nothing needs Redis.
  join(*b1, "local");
  EXPECT_EQ(join(*b2, "local"), 2u);
  EXPECT_EQ(publish(*b1, "local", "still here"), 2u);
  expect_push(*b2, 10000);
  expect_push(*b1, 10000);
  Status st = tell(*a, b1_id, "x").status();
  EXPECT_EQ(st, Status::kUnavailable);
  EXPECT_GE(info_value(*a, "cluster_dropped"), 1);
  std::string why;
  ASSERT_TRUE(redis_.start(&why)) << why;
  EXPECT_TRUE(eventually([&] {
    return tell(*a, b1_id, "back").status() == Status::kOk;
  }, kWaitMs));
  expect_push(*b1, 10000);
  expect_status(call(*a, kKv, kSet, set_body("k", 0, "v")), Status::kOk);
  EXPECT_TRUE(all_see(2));
  // Each change of state was logged once, not once per message or retry.
  kill(nodes_[0].proc->pid(), SIGTERM);
  ASSERT_TRUE(nodes_[0].proc->wait_exit(kWaitMs));
  std::string log = nodes_[0].proc->err() + nodes_[0].proc->out();
  EXPECT_EQ(count_of(log, "cluster: Redis lost"), 1u) << log;
  EXPECT_EQ(count_of(log, "cluster: Redis back"), 1u) << log;
  EXPECT_EQ(count_of(log, "(commands): 127.0.0.1:"), 1u) << log;
}

TEST_F(ClusterTest, ClustersWithDifferentPrefixesDoNotSeeEachOther) {
  add_node({}, "one");
  add_node({}, "two");
  ASSERT_FALSE(HasFatalFailure());
  auto a = client(nodes_[0]);
  auto b = client(nodes_[1]);
  expect_status(call(*a, kKv, kSet, set_body("shared?", 0, "no")), Status::kOk);
  expect_status(call(*b, kKv, kGet, "shared?"), Status::kNotFound);
  // Several heartbeats later each still counts only itself.
  std::this_thread::sleep_for(Ms(1000));
  EXPECT_EQ(info_value(*a, "nodes"), 1);
  EXPECT_EQ(info_value(*b, "nodes"), 1);
}

int exit_code_of(const std::vector<std::string>& args, std::string* err) {
  Proc p;
  std::string why;
  if (!p.spawn(args, &why)) {
    *err = why;
    return -1;
  }
  auto st = p.wait_exit(kWaitMs);
  *err = p.err();
  return st && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
}

TEST(ClusterFlags, UrlThatIsNotRedisExitsTwo) {
  REQUIRE_BINARY();
  std::string err;
  EXPECT_EQ(exit_code_of({"--cluster", "rediss://10.0.0.5:6379"}, &err), 2);
  EXPECT_NE(err.find("--cluster"), std::string::npos) << err;
  EXPECT_EQ(exit_code_of({"--cluster", "redis://host:99999"}, &err), 2);
}

TEST(ClusterFlags, ClusterOptionsWithoutClusterExitTwo) {
  REQUIRE_BINARY();
  std::string err;
  EXPECT_EQ(exit_code_of({"--cluster-prefix", "x"}, &err), 2);
  EXPECT_EQ(exit_code_of({"--cluster-heartbeat-ms", "500"}, &err), 2);
  EXPECT_EQ(exit_code_of({"--cluster-max-output", "65536"}, &err), 2);
  EXPECT_EQ(exit_code_of({"--cluster-timeout", "500"}, &err), 2);
  EXPECT_EQ(exit_code_of({"--cluster", "redis://127.0.0.1:1", "--cluster-prefix",
                          "a b"}, &err), 2);
}

}  // namespace
