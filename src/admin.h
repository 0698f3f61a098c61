// Admin: the admin port (--admin-port), HTTP/1.1 on the loop through an
// HttpServer, for the machines that watch hazel:
//
//   GET /metrics   Prometheus text (format 0.0.4) of every INFO figure of
//                  every worker, one series per worker (label worker="i")
//   GET /healthz   200 "ok" while serving; 503 "draining" once the server
//                  is shutting down, so a load balancer takes it out
//
// With workers every worker listens on the port (SO_REUSEPORT), and the
// one a scrape lands on gathers every worker's figures over the bus: any
// worker answers for the whole server.
#pragma once

#include <cstdint>
#include <vector>

#include "hazel/config.h"
#include "hazel/service.h"
#include "http_server.h"
#include "metrics.h"

namespace hazel {

// What the admin port needs from the daemon.
class AdminSink {
 public:
  using InfoDone = UniqueFunction<void(std::vector<metrics::WorkerInfo>& infos,
                                       std::vector<metrics::WorkerDurations>& durations)>;
  // Every worker's own sys INFO and request durations (this one's
  // included); `done` runs once, when the last has answered or failed.
  virtual void gather_info(InfoDone done) = 0;
  virtual uint16_t worker_count() const = 0;

 protected:
  ~AdminSink() = default;
};

class Admin final : public HttpHandler {
 public:
  Admin(Loop& loop, const Config& cfg, AdminSink& sink);

  HttpServer& http() { return http_; }
  // From now on /healthz answers 503.
  void set_draining() { draining_ = true; }

  void on_request(HttpServer& server, uint64_t conn,
                  const http::Request& req) override;

 private:
  AdminSink& sink_;
  HttpServer http_;
  bool draining_ = false;
};

}  // namespace hazel
