// Base64 (RFC 4648): the standard alphabet with padding, as the WebSocket
// handshake uses it, and the URL-safe alphabet without padding, as JSON Web
// Tokens use it. Pure functions, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hazel {

enum class Base64 : unsigned char {
  kStandard,  // A-Z a-z 0-9 + /, padded with '=' to a multiple of 4
  kUrl,       // A-Z a-z 0-9 - _, no padding (RFC 4648 section 5)
};

std::string base64_encode(std::string_view bytes,
                          Base64 alphabet = Base64::kStandard);

// The bytes `text` encodes, or nothing if it is not canonical base64 of that
// alphabet: a character outside it, padding where it does not belong (kUrl
// takes none; kStandard requires it), a length no encoding has, or unused
// low bits that are not zero (so every byte string has exactly one text).
std::optional<std::string> base64_decode(std::string_view text,
                                         Base64 alphabet = Base64::kStandard);

}  // namespace hazel
