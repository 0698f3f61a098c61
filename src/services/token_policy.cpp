#include "services/token_policy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "hazel/builtins.h"
#include "hazel/frame.h"
#include "jwt.h"

namespace hazel::services {

namespace {

// A key file is a few lines; anything bigger is not one.
constexpr size_t kMaxSecretFile = 64 * 1024;

// A room pattern or a key prefix, prepared once at AUTH so that checking a
// request is a length test and a compare.
struct Pattern {
  std::string text;  // without the trailing *
  bool prefix;       // matches names that start with text; else only text
};

// Room patterns are prefixes when they end in *; kv entries always are
// (`all_prefixes`), a trailing * being allowed and meaning the same.
std::vector<Pattern> compile(const std::vector<std::string>& in, bool all_prefixes) {
  std::vector<Pattern> out;
  for (const std::string& p : in) {
    bool star = !p.empty() && p.back() == '*';
    out.push_back({star ? p.substr(0, p.size() - 1) : p, star || all_prefixes});
  }
  return out;
}

bool matches(const std::vector<Pattern>& patterns, std::string_view name) {
  for (const Pattern& p : patterns) {
    size_t n = p.text.size();
    if ((p.prefix ? name.size() >= n : name.size() == n) &&
        memcmp(name.data(), p.text.data(), n) == 0)
      return true;
  }
  return false;
}

// What a token allows, as the checks want it.
struct TokenGrant final : Grant {
  explicit TokenGrant(const TokenClaims& c)
      : rooms(compile(c.rooms, false)),
        kv(compile(c.kv, true)),
        kv_read(compile(c.kv_read, true)),
        has_kv_read(c.has_kv_read),
        tell(c.tell) {}
  std::vector<Pattern> rooms;
  std::vector<Pattern> kv;
  std::vector<Pattern> kv_read;
  bool has_kv_read;
  bool tell;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool valid_key_len(std::string_view k) { return !k.empty() && k.size() <= kv::kMaxKey; }
bool valid_room_len(std::string_view n) { return !n.empty() && n.size() <= room::kMaxName; }

// The key of a kv body the way kv reads it, or empty if kv will refuse
// the body as malformed.
std::string_view kv_key(uint16_t op, std::string_view body) {
  if (op == kv::kGet || op == kv::kDel) return valid_key_len(body) ? body : std::string_view();
  if (body.size() < 2) return {};
  size_t klen = get_u16(reinterpret_cast<const uint8_t*>(body.data()));
  if (body.size() < 2 + klen) return {};
  std::string_view key(body.data() + 2, klen);
  return valid_key_len(key) ? key : std::string_view();
}

// The room of a room body the way room reads it, or empty if malformed.
std::string_view room_name(uint16_t op, std::string_view body) {
  if (op != room::kPublish) return valid_room_len(body) ? body : std::string_view();
  auto* p = reinterpret_cast<const uint8_t*>(body.data());
  if (body.empty() || p[0] == 0 || body.size() < 1u + p[0]) return {};
  return std::string_view(body.data() + 1, p[0]);
}

class TokenPolicy final : public Policy {
 public:
  explicit TokenPolicy(std::vector<std::string> keys) : keys_(std::move(keys)) {}

  Verdict allow(const Access& a) override {
    if (a.service == sys::kId &&
        (a.op == sys::kPing || a.op == sys::kHello || a.op == sys::kAuth))
      return Verdict::allow();
    const Identity* who = a.identity;
    if (who == nullptr || who->issuer != this)
      return Verdict::deny("not authenticated: send sys AUTH with a token first");
    if (a.now_s >= who->expires_s)
      return Verdict::deny("token expired: send sys AUTH with a fresh token");
    const auto& c = static_cast<const TokenGrant&>(*who->grant);
    switch (a.service) {
      case kv::kId: return kv_op(a, c);
      case room::kId: return room_op(a, c);
      case sys::kId: return sys_op(a, c);
      case echo::kId:
        return a.op == echo::kEcho ? Verdict::allow() : not_covered();
      default: return Verdict::allow();  // the embedder's own services
    }
  }

  AuthResult authenticate(ClientId, std::string_view token, int64_t now_s,
                          Identity* who, std::string* reason) override {
    TokenClaims claims;
    if (!jwt_verify(token, keys_, now_s, &claims, reason)) return AuthResult::kRefused;
    who->user = claims.sub;
    who->expires_s = claims.exp;
    who->grant = std::make_unique<TokenGrant>(claims);
    return AuthResult::kAccepted;
  }

 private:
  static Verdict not_covered() {
    return Verdict::deny("this op is not covered by tokens");
  }

  static Verdict sys_op(const Access& a, const TokenGrant& c) {
    switch (a.op) {
      case sys::kResolve:
      case sys::kServices:
      case sys::kInfo: return Verdict::allow();
      case sys::kTell:
        return c.tell ? Verdict::allow()
                      : Verdict::deny("the token does not allow TELL");
      default: return not_covered();
    }
  }

  static Verdict kv_op(const Access& a, const TokenGrant& c) {
    if (a.op != kv::kGet && a.op != kv::kSet && a.op != kv::kDel && a.op != kv::kIncr)
      return not_covered();
    std::string_view key = kv_key(a.op, a.body);
    if (key.empty()) return Verdict::allow();  // kv answers BAD_REQUEST
    if (a.op == kv::kGet) {
      return !c.has_kv_read || matches(c.kv_read, key)
                 ? Verdict::allow()
                 : Verdict::deny("the token does not allow reading this key");
    }
    return matches(c.kv, key)
               ? Verdict::allow()
               : Verdict::deny("the token does not allow writing this key");
  }

  static Verdict room_op(const Access& a, const TokenGrant& c) {
    if (a.op == room::kLeave) return Verdict::allow();
    if (a.op != room::kJoin && a.op != room::kPublish && a.op != room::kMembers)
      return not_covered();
    std::string_view name = room_name(a.op, a.body);
    if (name.empty()) return Verdict::allow();  // room answers BAD_REQUEST
    return matches(c.rooms, name)
               ? Verdict::allow()
               : Verdict::deny("the token does not allow this room");
  }

  std::vector<std::string> keys_;
};

}  // namespace

bool room_allowed(const std::vector<std::string>& patterns, std::string_view room) {
  return matches(compile(patterns, false), room);
}

bool key_allowed(const std::vector<std::string>& prefixes, std::string_view key) {
  return matches(compile(prefixes, true), key);
}

bool load_secret_file(const std::string& path, std::vector<std::string>* keys,
                      std::string* err) {
  keys->clear();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = "--auth-secret-file " + path + ": " + strerror(errno);
    return false;
  }
  // Checked on the open file, not the name: what is read is what was checked.
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    *err = "--auth-secret-file " + path + ": not a regular file";
    return false;
  }
  if ((st.st_mode & 077) != 0) {
    close(fd);
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    *err = "--auth-secret-file " + path + ": mode " + mode +
           " lets group or others read or write it (chmod 600 it)";
    return false;
  }
  if (st.st_uid != geteuid() && st.st_uid != 0) {
    close(fd);
    *err = "--auth-secret-file " + path + ": owned by another user";
    return false;
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = "--auth-secret-file " + path + ": " + strerror(errno);
      close(fd);
      return false;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxSecretFile) {
      close(fd);
      *err = "--auth-secret-file " + path + ": larger than 64 KiB";
      return false;
    }
  }
  close(fd);
  size_t pos = 0;
  int line = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view k = trim(std::string_view(text).substr(pos, eol - pos));
    pos = eol + 1;
    ++line;
    if (k.empty() || k.front() == '#') continue;
    if (k.size() < kMinKeyBytes) {
      *err = "--auth-secret-file " + path + ": the key on line " +
             std::to_string(line) + " is shorter than " +
             std::to_string(kMinKeyBytes) + " bytes";
      keys->clear();
      return false;
    }
    keys->emplace_back(k);
  }
  if (keys->empty()) {
    *err = "--auth-secret-file " + path + ": no key in it";
    return false;
  }
  return true;
}

std::unique_ptr<Policy> make_token_policy(std::vector<std::string> keys) {
  return std::make_unique<TokenPolicy>(std::move(keys));
}

}  // namespace hazel::services
