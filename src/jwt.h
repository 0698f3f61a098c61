// JSON Web Tokens (RFC 7519) signed with HMAC-SHA256 (JWS "HS256",
// RFC 7515/7518), as hazel's connection tokens: verify one against the
// server's keys and read its claims, or mint one (hazel-cli token, tests).
//
//   base64url(header) "." base64url(claims) "." base64url(HMAC-SHA256(key, first two parts))
//
// The header must say {"alg":"HS256"} ("typ", if present, "JWT"; no "crit"):
// "none" and every other algorithm are refused, so a token can never choose
// how it is checked. The signature is checked, in constant time, before a
// byte of the claims is parsed. Claims (hazel's are in docs/SECURITY.md):
//
//   sub      text, required: the user name (1..255 bytes, no control characters)
//   exp      integer, required: unix seconds; refused from that second on
//   nbf      integer, optional: refused before it
//   rooms    array of room-name patterns the user may JOIN, PUBLISH to and list
//   kv       array of key prefixes the user may SET, INCR and DEL
//   kv_read  array of key prefixes the user may GET (absent: every key)
//   tell     boolean: the user may TELL other clients (absent: false)
//
// A claim hazel knows with the wrong type is an error, never ignored; an
// "aud" claim is refused (hazel is nobody's audience: RFC 7519 4.1.3).
// Other claims (iat, iss, jti, ...) are ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hazel {

// Longest token accepted (the whole AUTH body).
inline constexpr size_t kMaxTokenBytes = 8192;
// Longest user name (sub).
inline constexpr size_t kMaxUserName = 255;
// Shortest HMAC key accepted: RFC 7518 3.2 wants a key of at least the
// hash's size.
inline constexpr size_t kMinKeyBytes = 32;

struct TokenClaims {
  std::string sub;
  int64_t exp = 0;
  int64_t nbf = 0;  // 0 = none
  std::vector<std::string> rooms;
  std::vector<std::string> kv;
  bool has_kv_read = false;  // without it, every key may be read
  std::vector<std::string> kv_read;
  bool tell = false;
};

// Checks `token` against each of `keys` (a server that rotates its secret
// accepts the old and the new one for a while) at unix time `now_s`. On
// failure `why` says what was wrong in words that never quote the token.
bool jwt_verify(std::string_view token, const std::vector<std::string>& keys,
                int64_t now_s, TokenClaims* out, std::string* why);

// A token for `claims` signed with `key` (header {"alg":"HS256","typ":"JWT"}).
std::string jwt_mint(const TokenClaims& claims, std::string_view key);

}  // namespace hazel
