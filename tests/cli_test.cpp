// tools/hazel-cli as a user runs it, against a real ./hazel: what every
// command prints on stdout and stderr, and its exit status (0 success, 1 an
// error reply or no server, 2 bad usage).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "kv_room_util.h"
#include "net_util.h"
#include "proc_util.h"

using namespace hazel;
using namespace hazel::test;
using namespace hazel::test::kvroom;

namespace {

constexpr const char* kCli = "tools/hazel-cli";

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kCli, X_OK), 0) << kCli << " not built: run `make` first";
    REQUIRE_BINARY();
  }

  // ./hazel with `flags`, and a client of it for the test's own checks.
  void serve(const std::vector<std::string>& flags = {}) {
    server_ = start_server(&port_, "error", 0, flags);
    ASSERT_NE(server_, nullptr);
    std::string err;
    ASSERT_TRUE(me_.connect("127.0.0.1", port_, &err)) << err;
  }

  std::vector<std::string> argv(const std::vector<std::string>& args) const {
    std::vector<std::string> a = {"-p", std::to_string(port_)};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }

  // hazel-cli -p PORT args..., to its exit.
  Result run(const std::vector<std::string>& args, bool with_port = true) {
    Result r;
    Proc p;
    std::string why;
    if (!p.spawn(with_port ? argv(args) : args, &why, 0, kCli)) {
      ADD_FAILURE() << why;
      return r;
    }
    auto st = p.wait_exit(10000);
    if (!st.has_value() || !WIFEXITED(*st)) {
      ADD_FAILURE() << "hazel-cli did not exit by itself";
      return r;
    }
    r.code = WEXITSTATUS(*st);
    r.out = p.out();
    r.err = p.err();
    return r;
  }

  // A long-running command (listen, room join), started.
  std::unique_ptr<Proc> start(const std::vector<std::string>& args) {
    auto p = std::make_unique<Proc>();
    std::string why;
    EXPECT_TRUE(p->spawn(argv(args), &why, 0, kCli)) << why;
    return p;
  }

  void expect_ok(const Result& r, const std::string& out) {
    EXPECT_EQ(r.code, 0) << "stderr: " << r.err;
    EXPECT_EQ(r.out, out);
    EXPECT_EQ(r.err, "");
  }
  void expect_error(const Result& r, const std::string& err) {
    EXPECT_EQ(r.code, 1) << "stdout: " << r.out;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, err);
  }
  // Usage errors: the reason, a blank line, the usage text; exit 2.
  void expect_usage(const Result& r, const std::string& reason) {
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("hazel-cli: " + reason + "\n\nusage: hazel-cli", 0), 0u)
        << r.err;
  }

  std::unique_ptr<Proc> server_;
  uint16_t port_ = 0;
  BlockingClient me_;
};

}  // namespace

// ---- sys and echo ------------------------------------------------------------

TEST_F(Cli, PingPrintsPongWithTheRoundTrip) {
  ASSERT_NO_FATAL_FAILURE(serve());
  Result r = run({"ping"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(
      r.out, std::regex("PONG from 127\\.0\\.0\\.1:" + std::to_string(port_) +
                        " in [0-9]+\\.[0-9]{3} ms\n")))
      << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(Cli, HelloPrintsTheServersKeyValueLines) {
  ASSERT_NO_FATAL_FAILURE(serve({"--max-frame", "5000", "--idle-timeout", "7000"}));
  Result r = run({"hello"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(
      r.out, std::regex("protocol=1\nserver=hazel/[0-9.]+\nclient=[0-9]+\n"
                        "worker=0\nmax_frame=5000\nidle_timeout_ms=7000\n"
                        "(.*\n)*")))
      << r.out;
  EXPECT_EQ(r.err, "");
}

TEST_F(Cli, ServicesListsIdAndNameOfEachService) {
  ASSERT_NO_FATAL_FAILURE(serve());
  expect_ok(run({"services"}), "0 sys\n1 echo\n2 kv\n3 room\n");
}

TEST_F(Cli, InfoPrintsOneNameValueLineEach) {
  ASSERT_NO_FATAL_FAILURE(serve());
  ASSERT_TRUE(call(me_, kKv, kSet, set_body("k", 0, "v")).ok());
  Result r = run({"info"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(r.out, std::regex("([a-z0-9_]+ -?[0-9]+\n)+")))
      << r.out;
  EXPECT_NE(r.out.find("\nkv_keys 1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nclients 2\n"), std::string::npos) << r.out;
}

TEST_F(Cli, EchoPrintsItsWordsBack) {
  ASSERT_NO_FATAL_FAILURE(serve());
  expect_ok(run({"echo", "hello,", "world"}), "hello, world\n");
}

TEST_F(Cli, EchoShowsControlBytesEscaped) {
  ASSERT_NO_FATAL_FAILURE(serve());
  expect_ok(run({"echo", "a\x01" "b\x1b[2J"}), "a\\x01b\\x1b[2J\n");
}

TEST_F(Cli, TellPushesToTheClientAndSaysSo) {
  ASSERT_NO_FATAL_FAILURE(serve());
  const uint64_t id = hello_id(me_);
  expect_ok(run({"tell", std::to_string(id), "psst"}),
            "told client " + std::to_string(id) + "\n");
  Frame p = expect_push(me_);
  EXPECT_EQ(p.header.code, kTell);
  EXPECT_EQ(p.body.substr(8), "psst");
}

TEST_F(Cli, TellToAnUnknownClientIsAnError) {
  ASSERT_NO_FATAL_FAILURE(serve());
  expect_error(run({"tell", "12345", "x"}), "error: NOT_FOUND: no client 12345\n");
}

TEST_F(Cli, ListenPrintsPushesUntilTheServerSaysGoodbye) {
  ASSERT_NO_FATAL_FAILURE(serve());
  auto l = start({"listen"});
  ASSERT_TRUE(l->wait_err("(Ctrl-C to stop)\n")) << l->err_seen();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(l->err_seen(), m,
                                std::regex("^connected as client ([0-9]+) ")))
      << l->err_seen();
  const std::string listener = m[1];
  const uint64_t me = hello_id(me_);
  ASSERT_TRUE(call(me_, kSys, kTell, u64_bytes(std::stoull(listener)) + "hi").ok());
  const std::string line =
      "push sys/6 from client " + std::to_string(me) + ": hi\n";
  EXPECT_TRUE(l->wait_out(line)) << l->out_seen();
  // SIGTERM to the server: the listener reports the GOODBYE and exits 0.
  ASSERT_EQ(kill(server_->pid(), SIGTERM), 0);
  auto st = l->wait_exit(10000);
  ASSERT_TRUE(st.has_value());
  ASSERT_TRUE(WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 0);
  EXPECT_EQ(l->out(), line);
  EXPECT_NE(l->err().find("server said goodbye: SHUTDOWN (server is shutting down)\n"),
            std::string::npos)
      << l->err();
}

// ---- kv -----------------------------------------------------------------------

TEST_F(Cli, KvSetGetDelAsAUserSeesThem) {
  ASSERT_NO_FATAL_FAILURE(serve());
  expect_ok(run({"kv", "set", "greeting", "hi there"}), "OK\n");
  expect_ok(run({"kv", "get", "greeting"}), "hi there\n");
  expect_ok(run({"kv", "del", "greeting"}), "deleted\n");
  expect_ok(run({"kv", "del", "greeting"}), "absent\n");
  expect_error(run({"kv", "get", "greeting"}), "error: NOT_FOUND: no such key\n");
}

TEST_F(Cli, KvSetWithTtlStoresAnExpiringKey) {
  ASSERT_NO_FATAL_FAILURE(serve());
  expect_ok(run({"kv", "set", "t", "v", "--ttl", "600000"}), "OK\n");
  expect_ok(run({"kv", "get", "t"}), "v\n");
  expect_ok(run({"kv", "set", "u", "w", "--ttl=50"}), "OK\n");
  // The server read its clock before it answered, and the CLI exited after
  // the answer: 50 ms (and 2 for the server's whole-ms clock) later, the
  // key has expired by the server's clock.
  const auto answered = SteadyClock::now();
  while (elapsed_ms(answered) < 52) std::this_thread::sleep_for(Ms(5));
  expect_error(run({"kv", "get", "u"}), "error: NOT_FOUND: no such key\n");
  expect_usage(run({"kv", "set", "t", "v", "--ttl", "soon"}), "bad --ttl: soon");
}

TEST_F(Cli, KvIncrPrintsTheNewValue) {
  ASSERT_NO_FATAL_FAILURE(serve());
  expect_ok(run({"kv", "incr", "n"}), "1\n");
  expect_ok(run({"kv", "incr", "n", "41"}), "42\n");
  expect_ok(run({"kv", "incr", "n", "-50"}), "-8\n");
  expect_usage(run({"kv", "incr", "n", "lots"}), "bad DELTA: lots");
  expect_ok(run({"kv", "set", "s", "text"}), "OK\n");
  expect_error(run({"kv", "incr", "s"}),
               "error: BAD_REQUEST: value is not a decimal i64\n");
}

TEST_F(Cli, KvSetOnAFullStoreIsBusy) {
  ASSERT_NO_FATAL_FAILURE(serve({"--kv-max-bytes", std::to_string(1 + 1 + kv::kKeyOverhead)}));
  expect_ok(run({"kv", "set", "a", "1"}), "OK\n");
  expect_error(run({"kv", "set", "b", "2"}), "error: BUSY: kv is full\n");
}

// ---- room ---------------------------------------------------------------------

TEST_F(Cli, RoomJoinPrintsTheMessagesOfTheRoom) {
  ASSERT_NO_FATAL_FAILURE(serve());
  EXPECT_EQ(join(me_, "lobby"), 1u);
  const uint64_t me = hello_id(me_);
  auto j = start({"room", "join", "lobby"});
  ASSERT_TRUE(j->wait_out("joined lobby (2 members)\n")) << j->out_seen();
  EXPECT_EQ(publish(me_, "lobby", "hello"), 2u);
  const std::string line = "[lobby] " + std::to_string(me) + ": hello\n";
  EXPECT_TRUE(j->wait_out(line)) << j->out_seen();
  // Ctrl-C ends it, as it says.
  ASSERT_EQ(kill(j->pid(), SIGINT), 0);
  auto st = j->wait_exit(10000);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFSIGNALED(*st) && WTERMSIG(*st) == SIGINT) << "status " << *st;
  EXPECT_EQ(j->out(), "joined lobby (2 members)\n" + line);
  // Its connection is gone, and so is its membership.
  EXPECT_TRUE(eventually([&] { return members_of(me_, "lobby").size() == 1; }));
}

TEST_F(Cli, RoomPublishAndMembersAsAUserSeesThem) {
  ASSERT_NO_FATAL_FAILURE(serve());
  const uint64_t me = hello_id(me_);
  EXPECT_EQ(join(me_, "r"), 1u);
  expect_ok(run({"room", "publish", "r", "two", "words"}), "delivered to 1\n");
  RoomPush p;
  ASSERT_TRUE(parse_room_push(expect_push(me_), &p));
  EXPECT_EQ(p.payload, "two words");
  expect_ok(run({"room", "members", "r"}), std::to_string(me) + "\n");
  expect_ok(run({"room", "members", "empty"}), "");
  expect_ok(run({"room", "publish", "empty", "x"}), "delivered to 0\n");
}

TEST_F(Cli, RoomLeaveOfARoomNotJoinedIsAnError) {
  ASSERT_NO_FATAL_FAILURE(serve());
  expect_error(run({"room", "leave", "r"}),
               "error: NOT_FOUND: not a member of that room\n");
}

TEST_F(Cli, RoomJoinPastTheServersRoomsIsBusy) {
  ASSERT_NO_FATAL_FAILURE(serve({"--max-rooms", "1"}));
  EXPECT_EQ(join(me_, "taken"), 1u);
  expect_error(run({"room", "join", "another"}),
               "error: BUSY: server holds too many rooms (at most 1 on this "
               "worker)\n");
}

// ---- usage and connection errors ---------------------------------------------

TEST_F(Cli, HelpPrintsUsageAndExitsZero) {
  Result r = run({"--help"}, false);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("usage: hazel-cli", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("  room members ROOM"), std::string::npos);
  EXPECT_EQ(r.err, "");
}

TEST_F(Cli, BadUsageExitsTwoWithReasonAndUsage) {
  expect_usage(run({}, false), "missing COMMAND");
  expect_usage(run({"fly"}, false), "unknown command: fly");
  expect_usage(run({"-p", "0", "ping"}, false), "bad port: 0");
  expect_usage(run({"-p", "70000", "ping"}, false), "bad port: 70000");
  expect_usage(run({"-t", "soon", "ping"}, false), "bad timeout: soon");
  expect_usage(run({"--colour", "x", "ping"}, false), "unknown option: --colour");
  expect_usage(run({"-p"}, false), "-p needs a value");
  expect_usage(run({"ping", "extra"}, false), "ping takes no arguments");
  expect_usage(run({"echo"}, false), "echo needs TEXT");
  expect_usage(run({"tell", "x", "y"}, false), "bad client id: x");
  expect_usage(run({"kv"}, false), "kv needs get, set, del or incr");
  expect_usage(run({"kv", "put", "k"}, false), "unknown kv command: put");
  expect_usage(run({"kv", "get"}, false), "usage: kv get KEY");
  expect_usage(run({"room", "join"}, false),
               "usage: room join|leave|publish|members ROOM ...");
  expect_usage(run({"room", "join", std::string(256, 'r')}, false),
               "room names are 1..255 bytes");
  expect_usage(run({"room", "dance", "r"}, false), "unknown room command: dance");
}

TEST_F(Cli, NoServerIsAnErrorThatNamesTheAddress) {
  const uint16_t port = pick_port();  // free a moment ago: nothing listens
  Result r = run({"-p", std::to_string(port), "ping"}, false);
  expect_error(r, "error: connect 127.0.0.1:" + std::to_string(port) +
                      ": Connection refused\n");
}
