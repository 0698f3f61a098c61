// The tools with tokens: `hazel-cli token` mints one, hazel-cli's --token
// and HAZEL_TOKEN authenticate right after connecting, hazel-bench --token
// before its run.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "auth_util.h"
#include "jwt.h"
#include "net_util.h"
#include "test_server.h"

using namespace hazel;
using namespace hazel::test;

namespace {

constexpr const char* kCli = "tools/hazel-cli";

struct Output {
  int code = -1;
  std::string out;  // stdout and stderr
};

// Runs a shell command line; its exit code and output.
Output sh(const std::string& cmd) {
  Output r;
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (f == nullptr) {
    ADD_FAILURE() << "popen: " << cmd;
    return r;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  int st = pclose(f);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

#define REQUIRE_CLI() \
  ASSERT_EQ(access(kCli, X_OK), 0) << kCli << " is missing: run `make` first"

TEST(CliAuth, TokenMintsATokenOfTheGivenClaims) {
  REQUIRE_CLI();
  TempFile secret(kTestKey + "\n");
  int64_t before = unix_now();
  Output r = sh(std::string(kCli) + " token --secret-file " + secret.path() +
             " --sub alice --rooms 'lobby,game:*' --kv score:alice: --ttl 3600 --tell");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(r.out.back(), '\n');
  std::string token = r.out.substr(0, r.out.size() - 1);
  TokenClaims c;
  std::string why;
  ASSERT_TRUE(jwt_verify(token, {kTestKey}, unix_now(), &c, &why)) << why;
  EXPECT_EQ(c.sub, "alice");
  EXPECT_EQ(c.rooms, (std::vector<std::string>{"lobby", "game:*"}));
  EXPECT_EQ(c.kv, (std::vector<std::string>{"score:alice:"}));
  EXPECT_FALSE(c.has_kv_read);
  EXPECT_TRUE(c.tell);
  EXPECT_GE(c.exp, before + 3600);
  EXPECT_LE(c.exp, unix_now() + 3600);
}

TEST(CliAuth, TokenRefusesASecretFileOpenToOthersAndBadUsage) {
  REQUIRE_CLI();
  TempFile open_file(kTestKey + "\n", 0644);
  Output r = sh(std::string(kCli) + " token --secret-file " + open_file.path() + " --sub a");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("chmod 600"), std::string::npos) << r.out;
  TempFile secret(kTestKey + "\n");
  EXPECT_EQ(sh(std::string(kCli) + " token --secret-file " + secret.path()).code, 2);
  EXPECT_EQ(sh(std::string(kCli) + " token --sub a").code, 2);
  EXPECT_EQ(sh(std::string(kCli) + " token --secret-file " + secret.path() +
               " --sub a --ttl 0").code,
            2);
}

TEST(CliAuth, TheTokenOptionAndHazelTokenAuthenticateAfterConnecting) {
  REQUIRE_CLI();
  TempFile secret(kTestKey + "\n");
  Config cfg = test_config();
  cfg.auth_secret_file = secret.path();
  TestServer server(cfg);
  server.start();
  std::string cli = std::string(kCli) + " -p " + std::to_string(server.port());
  TokenSpec spec;
  spec.kv = {"mine:"};
  std::string token = mint(spec);
  Output r = sh(cli + " kv set mine:1 v");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("DENIED: not authenticated"), std::string::npos) << r.out;
  r = sh(cli + " --token " + token + " kv set mine:1 v");
  EXPECT_EQ(r.code, 0) << r.out;
  r = sh("HAZEL_TOKEN=" + token + " " + cli + " hello");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("user=alice"), std::string::npos) << r.out;
  r = sh(cli + " --token not-a-token ping");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("DENIED: token is not three dot-separated parts"),
            std::string::npos)
      << r.out;
  server.stop();
}

TEST(CliAuth, HazelBenchAuthenticatesEveryConnectionWithItsToken) {
  ASSERT_EQ(access("tools/hazel-bench", X_OK), 0) << "tools/hazel-bench is missing: run `make` first";
  TempFile secret(kTestKey + "\n");
  Config cfg = test_config();
  cfg.auth_secret_file = secret.path();
  TestServer server(cfg);
  server.start();
  std::string bench = "tools/hazel-bench -p " + std::to_string(server.port()) +
                      " -m kv-set -c 2 -d 2 -t 0.3 --warmup 0 -q";
  TokenSpec spec;
  spec.kv = {"bench:"};
  Output r = sh(bench + " --token " + mint(spec));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\nerrors       0\n"), std::string::npos) << r.out;
  r = sh(bench);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("DENIED"), std::string::npos) << r.out;
  server.stop();
}

}  // namespace
