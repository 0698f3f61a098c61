#include "admin.h"

#include <string>
#include <utility>

#include "hazel/daemon.h"

namespace hazel {

Admin::Admin(Loop& loop, const Config& cfg, AdminSink& sink)
    : sink_(sink), http_(loop, *this, cfg.http_timeout_ms) {}

void Admin::on_request(HttpServer& server, uint64_t conn, const http::Request& req) {
  static constexpr std::string_view kText = "text/plain; charset=utf-8";
  static constexpr std::string_view kNoCache = "Cache-Control: no-store\r\n";
  bool head = req.method == "HEAD";
  bool known = req.path == "/metrics" || req.path == "/healthz";
  if (!known) {
    server.respond(conn, http::response(404, kText, "404 Not Found: /metrics or /healthz\n"));
    return;
  }
  if (req.method != "GET" && !head) {
    server.respond(conn, http::response(405, kText, "405 Method Not Allowed\n",
                                        "Allow: GET, HEAD\r\n"));
    return;
  }
  if (req.path == "/healthz") {
    if (draining_)
      server.respond(conn, http::response(503, kText, "draining\n", kNoCache, head));
    else
      server.respond(conn, http::response(200, kText, "ok\n", kNoCache, head));
    return;
  }
  uint16_t workers = sink_.worker_count();
  sink_.gather_info([&server, conn, head, workers](
                        std::vector<metrics::WorkerInfo>& infos,
                        std::vector<metrics::WorkerDurations>& durations) {
    std::string body = metrics::render(infos, workers, version(), durations);
    server.respond(conn, http::response(200, metrics::kContentType, body, kNoCache, head));
  });
}

}  // namespace hazel
