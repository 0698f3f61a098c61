// The files the WebSocket port serves, compiled into the binary from their
// sources (web/index.html, clients/js/hazel.js) by tools/embed.sh at build
// time: the files stay the one source of truth, and ./hazel needs nothing
// on disk to serve them.
#pragma once

#include <string_view>

namespace hazel::web {

extern const std::string_view kIndexHtml;  // web/index.html: the chat page
extern const std::string_view kHazelJs;    // clients/js/hazel.js

}  // namespace hazel::web
