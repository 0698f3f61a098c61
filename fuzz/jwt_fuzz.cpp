// libFuzzer target for the token parser: `make fuzz` builds it with
// -fsanitize=fuzzer,address,undefined; seeds are in fuzz/corpus/jwt/.
//
// The signature is checked before the claims are parsed, so random tokens
// rarely get past it. The first byte picks what the rest is:
//   even  a whole token, verified as a client's AUTH would be;
//   odd   a header "." claims pair that is signed here with the fuzzing key
//         first, so the header and claims readers see every input.
// Either way the JSON reader also reads the bytes as they are.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base64.h"
#include "json.h"
#include "jwt.h"
#include "sha256.h"

namespace {

const std::vector<std::string> kKeys = {std::string(32, 'k')};
constexpr int64_t kNow = 1800000000;

std::string signed_token(std::string_view text) {
  size_t dot = text.find('.');
  std::string_view header = text.substr(0, dot);
  std::string_view claims = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  std::string t = hazel::base64_encode(header, hazel::Base64::kUrl) + "." +
                  hazel::base64_encode(claims, hazel::Base64::kUrl);
  hazel::Sha256::Digest mac = hazel::hmac_sha256(kKeys[0], t);
  return t + "." +
         hazel::base64_encode(
             std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()),
             hazel::Base64::kUrl);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  hazel::JsonMembers members;
  std::string err;
  hazel::json_parse_object(text, &members, &err);
  hazel::TokenClaims claims;
  if (data[0] % 2 == 0) {
    hazel::jwt_verify(text, kKeys, kNow, &claims, &err);
  } else {
    hazel::jwt_verify(signed_token(text), kKeys, kNow, &claims, &err);
  }
  return 0;
}
