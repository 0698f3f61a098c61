// The one main() of hazel_tests. Tests write to sockets the server may have
// closed; a SIGPIPE would kill the whole run instead of failing one test.
#include <csignal>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
