// The one main() of hazel_tests. Tests write to sockets the server may have
// closed; a SIGPIPE would kill the whole run instead of failing one test.
// Every REPLY a test client gets without waiting for it (a stray or a
// duplicate answer) fails the test it arrives in.
#include <csignal>

#include <gtest/gtest.h>

#include "hazel/client.h"
#include "net_util.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  hazel::BlockingClient::set_unexpected_reply_hook(
      hazel::test::fail_on_unexpected_reply);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
