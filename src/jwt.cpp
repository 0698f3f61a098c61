#include "jwt.h"

#include <optional>

#include "base64.h"
#include "json.h"
#include "sha256.h"

namespace hazel {

namespace {

const JsonValue* member(const JsonMembers& m, std::string_view name) {
  for (auto& [n, v] : m)
    if (n == name) return &v;
  return nullptr;
}

bool fail(std::string* why, std::string text) {
  if (why) *why = std::move(text);
  return false;
}

bool check_header(std::string_view b64, std::string* why) {
  std::optional<std::string> text = base64_decode(b64, Base64::kUrl);
  if (!text) return fail(why, "token header is not base64url");
  JsonMembers h;
  std::string err;
  if (!json_parse_object(*text, &h, &err))
    return fail(why, "token header is not a JSON object: " + err);
  const JsonValue* alg = member(h, "alg");
  if (alg == nullptr || alg->type != JsonValue::Type::kString)
    return fail(why, "token header has no alg");
  if (alg->str != "HS256") return fail(why, "token algorithm is not HS256");
  const JsonValue* typ = member(h, "typ");
  if (typ != nullptr &&
      (typ->type != JsonValue::Type::kString || typ->str != "JWT"))
    return fail(why, "token type is not JWT");
  if (member(h, "crit") != nullptr)
    return fail(why, "token header has critical extensions");
  return true;
}

bool valid_user(std::string_view s) {
  if (s.empty() || s.size() > kMaxUserName) return false;
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) return false;
  }
  return true;
}

bool read_list(const JsonMembers& m, std::string_view name,
               std::vector<std::string>* out, bool* present,
               std::string* why) {
  const JsonValue* v = member(m, name);
  if (present) *present = v != nullptr;
  if (v == nullptr) return true;
  if (v->type != JsonValue::Type::kStringArray)
    return fail(why, "claim " + std::string(name) + " is not an array of strings");
  *out = v->strings;
  return true;
}

bool read_time(const JsonMembers& m, std::string_view name, bool required,
               int64_t* out, std::string* why) {
  const JsonValue* v = member(m, name);
  if (v == nullptr) {
    if (required) return fail(why, "token has no " + std::string(name) + " claim");
    return true;
  }
  if (v->type != JsonValue::Type::kNumber || !v->integer || v->number <= 0)
    return fail(why, "claim " + std::string(name) + " is not a positive integer");
  *out = v->number;
  return true;
}

bool read_claims(const std::string& text, int64_t now_s, TokenClaims* c,
                 std::string* why) {
  JsonMembers m;
  std::string err;
  if (!json_parse_object(text, &m, &err))
    return fail(why, "token claims are not a JSON object: " + err);
  const JsonValue* sub = member(m, "sub");
  if (sub == nullptr || sub->type != JsonValue::Type::kString)
    return fail(why, "token has no sub claim");
  if (!valid_user(sub->str))
    return fail(why, "claim sub must be 1..255 bytes without control characters");
  c->sub = sub->str;
  if (!read_time(m, "exp", true, &c->exp, why)) return false;
  if (!read_time(m, "nbf", false, &c->nbf, why)) return false;
  if (member(m, "aud") != nullptr)
    return fail(why, "token has an aud claim (hazel is not its audience)");
  if (!read_list(m, "rooms", &c->rooms, nullptr, why)) return false;
  if (!read_list(m, "kv", &c->kv, nullptr, why)) return false;
  if (!read_list(m, "kv_read", &c->kv_read, &c->has_kv_read, why)) return false;
  if (const JsonValue* tell = member(m, "tell")) {
    if (tell->type != JsonValue::Type::kBool)
      return fail(why, "claim tell is not a boolean");
    c->tell = tell->boolean;
  }
  if (now_s >= c->exp) return fail(why, "token expired");
  if (c->nbf != 0 && now_s < c->nbf) return fail(why, "token not valid yet (nbf)");
  return true;
}

std::string signature(std::string_view key, std::string_view signed_part) {
  Sha256::Digest mac = hmac_sha256(key, signed_part);
  return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

void append_list(std::string& out, const char* name,
                 const std::vector<std::string>& items) {
  out += ",\"";
  out += name;
  out += "\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    json_append_string(out, items[i]);
  }
  out += ']';
}

}  // namespace

bool jwt_verify(std::string_view token, const std::vector<std::string>& keys,
                int64_t now_s, TokenClaims* out, std::string* why) {
  if (token.empty()) return fail(why, "empty token");
  if (token.size() > kMaxTokenBytes)
    return fail(why, "token longer than " + std::to_string(kMaxTokenBytes) + " bytes");
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos ||
      token.find('.', dot2 + 1) != std::string_view::npos)
    return fail(why, "token is not three dot-separated parts");
  if (!check_header(token.substr(0, dot1), why)) return false;
  std::optional<std::string> sig =
      base64_decode(token.substr(dot2 + 1), Base64::kUrl);
  if (!sig || sig->size() != Sha256::kDigestSize)
    return fail(why, "token signature is not 32 bytes of base64url");
  std::string_view signed_part = token.substr(0, dot2);
  bool good = false;
  for (const std::string& key : keys)
    good |= constant_time_equal(signature(key, signed_part), *sig);
  if (!good) return fail(why, "token signature does not match");
  std::optional<std::string> claims =
      base64_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), Base64::kUrl);
  if (!claims) return fail(why, "token claims are not base64url");
  TokenClaims c;
  if (!read_claims(*claims, now_s, &c, why)) return false;
  *out = std::move(c);
  return true;
}

std::string jwt_mint(const TokenClaims& c, std::string_view key) {
  std::string claims = "{\"sub\":";
  json_append_string(claims, c.sub);
  claims += ",\"exp\":" + std::to_string(c.exp);
  if (c.nbf != 0) claims += ",\"nbf\":" + std::to_string(c.nbf);
  append_list(claims, "rooms", c.rooms);
  append_list(claims, "kv", c.kv);
  if (c.has_kv_read) append_list(claims, "kv_read", c.kv_read);
  if (c.tell) claims += ",\"tell\":true";
  claims += '}';
  std::string token =
      base64_encode("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", Base64::kUrl);
  token += '.';
  token += base64_encode(claims, Base64::kUrl);
  std::string sig = signature(key, token);
  token += '.';
  token += base64_encode(sig, Base64::kUrl);
  return token;
}

}  // namespace hazel
