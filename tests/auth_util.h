// Helpers for the authentication tests: a secret file with the right
// permissions, tokens minted with it, AUTH over a BlockingClient.
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "hazel/builtins.h"
#include "hazel/client.h"
#include "jwt.h"

namespace hazel::test {

inline const std::string kTestKey = "a-test-key-of-more-than-thirty-two-bytes";

// A file in a fresh temporary directory, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& text, mode_t mode = 0600) {
    char dir[] = "/tmp/hazel-auth-XXXXXX";
    if (mkdtemp(dir) == nullptr) {
      ADD_FAILURE() << "mkdtemp: " << strerror(errno);
      return;
    }
    dir_ = dir;
    path_ = dir_ + "/secret";
    int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text.data(), text.size()) !=
                      static_cast<ssize_t>(text.size())) {
      ADD_FAILURE() << "writing " << path_ << ": " << strerror(errno);
    }
    if (fd >= 0) close(fd);
    chmod(path_.c_str(), mode);  // exactly `mode`, whatever the umask
  }
  ~TempFile() {
    if (!path_.empty()) unlink(path_.c_str());
    if (!dir_.empty()) rmdir(dir_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

inline int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

struct TokenSpec {
  std::string sub = "alice";
  int64_t ttl_s = 3600;
  std::vector<std::string> rooms;
  std::vector<std::string> kv;
  bool has_kv_read = false;
  std::vector<std::string> kv_read;
  bool tell = false;
  std::string key = kTestKey;
};

inline std::string mint(const TokenSpec& s) {
  TokenClaims c;
  c.sub = s.sub;
  c.exp = unix_now() + s.ttl_s;
  c.rooms = s.rooms;
  c.kv = s.kv;
  c.has_kv_read = s.has_kv_read;
  c.kv_read = s.kv_read;
  c.tell = s.tell;
  return jwt_mint(c, s.key);
}

// sys AUTH with `token`: the REPLY.
inline Frame auth(BlockingClient& c, std::string_view token) {
  Frame f;
  std::string err;
  EXPECT_TRUE(c.call(sys::kId, sys::kAuth, token, &f, 3000, &err)) << err;
  return f;
}

}  // namespace hazel::test
