// HS256 tokens: the one valid token is accepted, every other one refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base64.h"
#include "jwt.h"
#include "sha256.h"

namespace hazel {
namespace {

constexpr int64_t kNow = 1800000000;
const std::string kKey(32, 'k');
const std::string kOtherKey(32, 'o');

// A token with any header and claims text, signed with `key`.
std::string sign(std::string_view header, std::string_view claims,
                 std::string_view key = kKey) {
  std::string t = base64_encode(header, Base64::kUrl) + "." +
                  base64_encode(claims, Base64::kUrl);
  Sha256::Digest mac = hmac_sha256(key, t);
  return t + "." +
         base64_encode(std::string_view(reinterpret_cast<const char*>(mac.data()),
                                        mac.size()),
                       Base64::kUrl);
}

const char* const kHs256 = R"({"alg":"HS256","typ":"JWT"})";

std::string claims_text(std::string_view extra = "") {
  return R"({"sub":"alice","exp":)" + std::to_string(kNow + 60) +
         std::string(extra) + "}";
}

bool verify(std::string_view token, TokenClaims* c = nullptr,
            std::string* why = nullptr, int64_t now = kNow,
            const std::vector<std::string>& keys = {kKey}) {
  TokenClaims local;
  std::string w;
  return jwt_verify(token, keys, now, c ? c : &local, why ? why : &w);
}

std::string why_not(std::string_view token, int64_t now = kNow) {
  std::string why;
  TokenClaims c;
  EXPECT_FALSE(jwt_verify(token, {kKey}, now, &c, &why)) << token;
  return why;
}

TEST(Jwt, AcceptsAValidTokenAndReadsItsClaims) {
  std::string t = sign(kHs256, claims_text(
      R"(,"rooms":["lobby","game:*"],"kv":["score:alice:"],"kv_read":["score:"],)"
      R"("tell":true,"iat":1,"iss":"me","extra":{"nested":[1,2]})"));
  TokenClaims c;
  std::string why;
  ASSERT_TRUE(verify(t, &c, &why)) << why;
  EXPECT_EQ(c.sub, "alice");
  EXPECT_EQ(c.exp, kNow + 60);
  EXPECT_EQ(c.rooms, (std::vector<std::string>{"lobby", "game:*"}));
  EXPECT_EQ(c.kv, (std::vector<std::string>{"score:alice:"}));
  EXPECT_TRUE(c.has_kv_read);
  EXPECT_EQ(c.kv_read, (std::vector<std::string>{"score:"}));
  EXPECT_TRUE(c.tell);
}

TEST(Jwt, OptionalClaimsDefaultToNothingAllowed) {
  TokenClaims c;
  ASSERT_TRUE(verify(sign(kHs256, claims_text()), &c));
  EXPECT_TRUE(c.rooms.empty());
  EXPECT_TRUE(c.kv.empty());
  EXPECT_FALSE(c.has_kv_read);
  EXPECT_FALSE(c.tell);
}

TEST(Jwt, MintedTokensVerify) {
  TokenClaims in;
  in.sub = "b\xc3\xb6" "b \"the\" builder";
  in.exp = kNow + 1;
  in.rooms = {"a", "b*"};
  in.kv = {"x:"};
  in.has_kv_read = true;
  in.kv_read = {};
  in.tell = true;
  TokenClaims out;
  std::string why;
  ASSERT_TRUE(verify(jwt_mint(in, kKey), &out, &why)) << why;
  EXPECT_EQ(out.sub, in.sub);
  EXPECT_EQ(out.exp, in.exp);
  EXPECT_EQ(out.rooms, in.rooms);
  EXPECT_EQ(out.kv, in.kv);
  EXPECT_TRUE(out.has_kv_read);
  EXPECT_TRUE(out.kv_read.empty());
  EXPECT_TRUE(out.tell);
}

// RFC 7515 appendix A.1: its signature checks with its key (the token has
// no sub, so hazel refuses it for that, after the signature).
TEST(Jwt, ChecksTheRfc7515ExampleSignature) {
  std::string key = *base64_decode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
      Base64::kUrl);
  std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  TokenClaims c;
  std::string why;
  EXPECT_FALSE(jwt_verify(token, {key}, 1300819379, &c, &why));
  EXPECT_EQ(why, "token has no sub claim");
  EXPECT_FALSE(jwt_verify(token, {kKey}, 1300819379, &c, &why));
  EXPECT_EQ(why, "token signature does not match");
}

TEST(Jwt, RefusesAnExpiredToken) {
  std::string t = sign(kHs256, claims_text());
  EXPECT_TRUE(verify(t, nullptr, nullptr, kNow + 59));
  EXPECT_EQ(why_not(t, kNow + 60), "token expired");  // exp itself is too late
  EXPECT_EQ(why_not(t, kNow + 100000), "token expired");
}

TEST(Jwt, RefusesATokenBeforeItsNotBefore) {
  std::string t = sign(kHs256, claims_text(",\"nbf\":" + std::to_string(kNow + 10)));
  EXPECT_EQ(why_not(t), "token not valid yet (nbf)");
  EXPECT_TRUE(verify(t, nullptr, nullptr, kNow + 10));
}

TEST(Jwt, RefusesAWrongSignature) {
  EXPECT_EQ(why_not(sign(kHs256, claims_text(), kOtherKey)),
            "token signature does not match");
  // A token whose claims were changed after signing.
  std::string t = sign(kHs256, claims_text());
  size_t d1 = t.find('.'), d2 = t.rfind('.');
  std::string forged = t.substr(0, d1 + 1) +
                       base64_encode(R"({"sub":"root","exp":9999999999,"kv":["*"]})",
                                     Base64::kUrl) +
                       t.substr(d2);
  EXPECT_EQ(why_not(forged), "token signature does not match");
  // One flipped bit in the signature.
  std::string sig = *base64_decode(t.substr(d2 + 1), Base64::kUrl);
  sig[31] = static_cast<char>(sig[31] ^ 1);
  EXPECT_EQ(why_not(t.substr(0, d2 + 1) + base64_encode(sig, Base64::kUrl)),
            "token signature does not match");
  // A signature of the wrong length.
  EXPECT_EQ(why_not(t.substr(0, d2 + 1) + base64_encode(sig.substr(0, 16), Base64::kUrl)),
            "token signature is not 32 bytes of base64url");
}

TEST(Jwt, RefusesAlgNoneAndEveryOtherAlgorithm) {
  std::string claims = base64_encode(claims_text(), Base64::kUrl);
  // The classic forgery: alg none, empty signature.
  std::string none = base64_encode(R"({"alg":"none","typ":"JWT"})", Base64::kUrl);
  EXPECT_EQ(why_not(none + "." + claims + "."), "token algorithm is not HS256");
  // Even with a valid HS256 signature over it.
  EXPECT_EQ(why_not(sign(R"({"alg":"none"})", claims_text())),
            "token algorithm is not HS256");
  for (const char* alg : {"HS512", "HS384", "RS256", "ES256", "hs256", "HS256 ", ""})
    EXPECT_EQ(why_not(sign(std::string(R"({"alg":")") + alg + "\"}", claims_text())),
              "token algorithm is not HS256")
        << alg;
  EXPECT_EQ(why_not(sign(R"({"typ":"JWT"})", claims_text())), "token header has no alg");
  EXPECT_EQ(why_not(sign(R"({"alg":["HS256"]})", claims_text())), "token header has no alg");
  EXPECT_EQ(why_not(sign(R"({"alg":"HS256","alg":"none"})", claims_text())).rfind(
                "token header is not a JSON object", 0),
            0u);
}

TEST(Jwt, RefusesOtherTypesAndCriticalExtensions) {
  EXPECT_EQ(why_not(sign(R"({"alg":"HS256","typ":"JWE"})", claims_text())),
            "token type is not JWT");
  EXPECT_EQ(why_not(sign(R"({"alg":"HS256","crit":["exp"]})", claims_text())),
            "token header has critical extensions");
  // kid and other header members are fine.
  EXPECT_TRUE(verify(sign(R"({"alg":"HS256","kid":"2026-12"})", claims_text())));
}

TEST(Jwt, RefusesAnOversizedToken) {
  std::string big = sign(kHs256, claims_text(",\"pad\":\"" +
                                             std::string(kMaxTokenBytes, 'x') + "\""));
  EXPECT_GT(big.size(), kMaxTokenBytes);
  EXPECT_EQ(why_not(big), "token longer than 8192 bytes");
}

TEST(Jwt, RefusesMalformedTokens) {
  std::string t = sign(kHs256, claims_text());
  size_t d1 = t.find('.'), d2 = t.rfind('.');
  const std::string bad[] = {
      "",
      "abc",
      t.substr(0, d2),                          // two parts
      t + ".x",                                 // four parts
      t + ".",                                  // empty fourth part
      "." + t.substr(d1),                       // empty header
      t.substr(0, d1 + 1) + "!" + t.substr(d1 + 1),  // not base64url
      t.substr(0, d1) + "=" + t.substr(d1),     // padding
      t + "=",
      t.substr(0, d2) + "." + std::string(43, '*'),
      sign("not json", claims_text()),
      sign(kHs256, "not json"),
      sign(kHs256, "[]"),
      sign(kHs256, claims_text() + "x"),
      sign(std::string(kHs256) + "\n{}", claims_text()),
  };
  for (const std::string& s : bad) EXPECT_FALSE(verify(s)) << s;
}

TEST(Jwt, RefusesBadSubjects) {
  std::string exp = std::to_string(kNow + 60);
  EXPECT_EQ(why_not(sign(kHs256, "{\"exp\":" + exp + "}")), "token has no sub claim");
  EXPECT_EQ(why_not(sign(kHs256, "{\"sub\":7,\"exp\":" + exp + "}")),
            "token has no sub claim");
  for (const std::string& sub : {std::string(""), std::string("a\\nb"),
                                 std::string("a\\u0000"), std::string("a\\u007f"),
                                 std::string(256, 'u')})
    EXPECT_EQ(why_not(sign(kHs256, "{\"sub\":\"" + sub + "\",\"exp\":" + exp + "}")),
              "claim sub must be 1..255 bytes without control characters")
        << sub;
  EXPECT_TRUE(verify(sign(kHs256, "{\"sub\":\"" + std::string(255, 'u') +
                                      "\",\"exp\":" + exp + "}")));
}

TEST(Jwt, RefusesKnownClaimsOfTheWrongType) {
  EXPECT_EQ(why_not(sign(kHs256, R"({"sub":"a"})")), "token has no exp claim");
  for (const char* exp : {"\"1900000000\"", "1.9e9", "1900000000.5", "-1", "0", "true"})
    EXPECT_EQ(why_not(sign(kHs256, std::string(R"({"sub":"a","exp":)") + exp + "}")),
              "claim exp is not a positive integer")
        << exp;
  EXPECT_EQ(why_not(sign(kHs256, claims_text(R"(,"rooms":"lobby")"))),
            "claim rooms is not an array of strings");
  EXPECT_EQ(why_not(sign(kHs256, claims_text(R"(,"kv":[1])"))),
            "claim kv is not an array of strings");
  EXPECT_EQ(why_not(sign(kHs256, claims_text(R"(,"kv_read":null)"))),
            "claim kv_read is not an array of strings");
  EXPECT_EQ(why_not(sign(kHs256, claims_text(R"(,"tell":"yes")"))),
            "claim tell is not a boolean");
  EXPECT_EQ(why_not(sign(kHs256, claims_text(R"(,"nbf":"soon")"))),
            "claim nbf is not a positive integer");
}

TEST(Jwt, RefusesAnAudienceClaim) {
  EXPECT_EQ(why_not(sign(kHs256, claims_text(R"(,"aud":"hazel")"))),
            "token has an aud claim (hazel is not its audience)");
}

TEST(Jwt, AcceptsAnyOfSeveralKeysForRotation) {
  std::string old_token = sign(kHs256, claims_text(), kOtherKey);
  std::string new_token = sign(kHs256, claims_text(), kKey);
  EXPECT_TRUE(verify(old_token, nullptr, nullptr, kNow, {kKey, kOtherKey}));
  EXPECT_TRUE(verify(new_token, nullptr, nullptr, kNow, {kKey, kOtherKey}));
  EXPECT_FALSE(verify(old_token, nullptr, nullptr, kNow, {kKey}));
  EXPECT_FALSE(verify(new_token, nullptr, nullptr, kNow, {}));
}

TEST(Jwt, TheReasonNeverQuotesTheToken) {
  std::string t = sign(R"({"alg":"HS256","x":"SECRETSECRET"})",
                       R"({"sub":"SECRETSECRET","exp":1,"pw":"SECRETSECRET"})");
  std::string why = why_not(t);
  EXPECT_EQ(why.find("SECRET"), std::string::npos) << why;
  EXPECT_EQ(why.find(t.substr(0, 10)), std::string::npos) << why;
}

}  // namespace
}  // namespace hazel
