// WsGateway: the WebSocket port (--ws-port), HTTP/1.1 on the loop through
// an HttpServer. It serves
//
//   GET /          the chat page (web/index.html, compiled in)
//   GET /hazel.js  the JavaScript client (clients/js/hazel.js)
//   GET /ws        the WebSocket upgrade: 101, then the socket goes to the
//                  UpgradeSink to become a client
//
// and answers anything else 404 (other paths), 405 (other methods), 400
// (a bad head or handshake), 426 (another WebSocket version), 431 (a head
// over 8 KiB), 403 (an upgrade from an Origin not in --ws-origin).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hazel/config.h"
#include "http_server.h"
#include "upgrade_sink.h"

namespace hazel {

// The Close reason a valid upgrade gets while no UpgradeSink is given:
// the daemon does not carry hazel frames over WebSocket (yet).
inline constexpr std::string_view kNoTransportReason =
    "hazel: no WebSocket transport in this build";

class WsGateway final : public HttpHandler {
 public:
  // `sink` == nullptr: a valid upgrade is answered 101 and then at once a
  // Close 1011 with kNoTransportReason.
  WsGateway(Loop& loop, const Config& cfg, UpgradeSink* sink);

  HttpServer& http() { return http_; }
  uint64_t upgrades() const { return upgrades_; }

  void on_request(HttpServer& server, uint64_t conn,
                  const http::Request& req) override;

 private:
  void upgrade(HttpServer& server, uint64_t conn, const http::Request& req);

  const std::vector<std::string>& origins_;
  UpgradeSink* sink_;
  HttpServer http_;
  uint64_t upgrades_ = 0;
};

}  // namespace hazel
