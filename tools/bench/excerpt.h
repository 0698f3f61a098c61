// Printable excerpt of received bytes, for error messages: at most 48 bytes,
// CR and LF as \r and \n, other unprintable bytes as \xNN, "..." if cut.
#pragma once

#include <string>
#include <string_view>

namespace hazel_bench {

std::string excerpt(std::string_view bytes);

}  // namespace hazel_bench
