#include "ws_gateway.h"

#include "log.h"
#include "web_assets.h"
#include "websocket.h"

namespace hazel {

namespace {

constexpr std::string_view kStaticFields =
    "Cache-Control: no-cache\r\n"
    "X-Content-Type-Options: nosniff\r\n";

std::string text(int status, std::string_view why, std::string_view fields = {}) {
  std::string body = std::to_string(status) + " " + http::reason_phrase(status);
  if (!why.empty()) {
    body += ": ";
    body += why;
  }
  body += "\n";
  return http::response(status, "text/plain; charset=utf-8", body, fields);
}

}  // namespace

WsGateway::WsGateway(Loop& loop, const Config& cfg, UpgradeSink* sink)
    : origins_(cfg.ws_origins), sink_(sink), http_(loop, *this, cfg.http_timeout_ms) {}

void WsGateway::on_request(HttpServer& server, uint64_t conn,
                           const http::Request& req) {
  if (req.path == "/ws") {
    upgrade(server, conn, req);
    return;
  }
  std::string_view body, type;
  if (req.path == "/") {
    body = web::kIndexHtml;
    type = "text/html; charset=utf-8";
  } else if (req.path == "/hazel.js") {
    body = web::kHazelJs;
    type = "text/javascript; charset=utf-8";
  } else {
    server.respond(conn, text(404, "no such page"));
    return;
  }
  bool head = req.method == "HEAD";
  if (req.method != "GET" && !head) {
    server.respond(conn, text(405, "only GET and HEAD", "Allow: GET, HEAD\r\n"));
    return;
  }
  server.respond(conn, http::response(200, type, body, kStaticFields, head));
}

void WsGateway::upgrade(HttpServer& server, uint64_t conn, const http::Request& req) {
  ws::Handshake h = ws::check_handshake(req);
  if (h.status != 0) {
    HZ_DEBUG("ws: refused upgrade (%d): %s", h.status, h.why);
    server.respond(conn, text(h.status, h.why, h.fields));
    return;
  }
  // Cross-site WebSocket hijacking: a page elsewhere may open a socket to
  // us from a user's browser, which names that page in Origin.
  if (!ws::origin_allowed(req, origins_)) {
    HZ_DEBUG("ws: refused upgrade from origin %.*s",
             static_cast<int>(req.get("origin").value_or("").size()),
             req.get("origin").value_or("").data());
    server.respond(conn, text(403, "origin not allowed (--ws-origin)"));
    return;
  }
  ++upgrades_;
  std::string head = ws::handshake_response(h);
  if (sink_ == nullptr) {
    head += ws::close_frame(static_cast<uint16_t>(ws::CloseCode::kInternalError),
                            kNoTransportReason);
    server.respond(conn, std::move(head));
    return;
  }
  server.upgrade(conn, std::move(head), *sink_);
}

}  // namespace hazel
