#include "bench/report.h"

#include <cinttypes>
#include <cstdio>
#include <string_view>

namespace hazel_bench {

namespace {

// "3.61M", "912.4k", "87"
void print_count(double v) {
  if (v >= 1e6) {
    std::printf("%.2fM", v / 1e6);
  } else if (v >= 1e3) {
    std::printf("%.1fk", v / 1e3);
  } else {
    std::printf("%.0f", v);
  }
}

}  // namespace

void print_summary(const Options& o, const Summary& s) {
  const std::string_view mode = o.mode->name;
  const Shape shape = o.mode->shape;
  std::printf("mode         %.*s%s\n", static_cast<int>(mode.size()),
              mode.data(), o.ws ? " over WebSocket" : "");
  if (shape == Shape::kIdle) {
    std::printf("connections  %zu\n", o.connections);
    std::printf("connect      %.2f s (open and ping every connection)\n",
                s.connect_s);
    std::printf("held         %.2f s\n", s.duration_s);
    std::printf("errors       %" PRIu64 "\n", s.errors);
    return;
  }
  if (shape == Shape::kFanOut) {
    std::printf("members      %zu (+1 publisher)\n", o.connections);
  } else {
    std::printf("connections  %zu\n", o.connections);
  }
  std::printf("depth        %zu\n", o.depth);
  std::printf("payload      %zu bytes\n", o.payload);
  std::printf("duration     %.2f s (after %g s warmup)\n", s.duration_s,
              o.warmup);
  if (shape == Shape::kFanOut) {
    std::printf("deliveries   %" PRIu64 "\n", s.deliveries);
    std::printf("rate         %.0f deliveries/s\n", s.rate);
    std::printf(
        "publishes    %" PRIu64 " (%.0f/s)\n", s.requests,
        s.duration_s > 0 ? static_cast<double>(s.requests) / s.duration_s : 0);
  } else {
    std::printf("requests     %" PRIu64 "\n", s.requests);
    std::printf("rate         %.0f req/s\n", s.rate);
    if (o.mode->mode == Mode::kTell) {
      std::printf("pushes       %" PRIu64 " (TELLs received by partners)\n",
                  s.deliveries);
    }
  }
  if (s.cpu_measured) {
    std::printf("server cpu   %.3f s in %zu process%s: ", s.server_cpu_s,
                s.server_processes, s.server_processes == 1 ? "" : "es");
    print_count(s.per_cpu_s);
    std::printf(" %s per server CPU-second\n",
                shape == Shape::kFanOut ? "deliveries" : "requests");
  }
  std::printf("errors       %" PRIu64 "%s\n", s.errors,
              s.aborted ? " (run aborted: a connection failed)" : "");
  std::printf(
      "latency      p50 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us%s\n",
      s.p50_us, s.p99_us, s.p999_us, s.max_us,
      shape == Shape::kFanOut ? " (publish to reply)" : "");
}

void print_json(const Options& o, const Summary& s) {
  const std::string_view mode = o.mode->name;
  const Shape shape = o.mode->shape;
  std::printf(
      "{\"mode\": \"%.*s\", \"transport\": \"%s\", \"connections\": %zu, "
      "\"depth\": %zu, \"payload\": %zu, \"warmup_s\": %.3f, \"duration_s\": %.3f, ",
      static_cast<int>(mode.size()), mode.data(), o.ws ? "ws" : "tcp", o.connections, o.depth,
      o.payload, o.warmup, s.duration_s);
  if (shape == Shape::kIdle) {
    std::printf("\"connect_s\": %.3f, ", s.connect_s);
  } else {
    std::printf("\"requests\": %" PRIu64 ", ", s.requests);
    if (shape == Shape::kFanOut || o.mode->mode == Mode::kTell) {
      std::printf("\"deliveries\": %" PRIu64 ", ", s.deliveries);
    }
    std::printf(
        "\"rate\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
        "\"p999_us\": %.1f, \"max_us\": %.1f, ",
        s.rate, s.p50_us, s.p99_us, s.p999_us, s.max_us);
  }
  if (s.cpu_measured) {
    std::printf("\"server_cpu_s\": %.6f, \"server_processes\": %zu, ",
                s.server_cpu_s, s.server_processes);
    if (shape != Shape::kIdle) std::printf("\"per_cpu_s\": %.1f, ", s.per_cpu_s);
  }
  if (!s.per_worker.empty()) {
    std::printf("\"per_worker\": [");
    for (size_t i = 0; i < s.per_worker.size(); ++i) {
      std::printf("%s%zu", i == 0 ? "" : ", ", s.per_worker[i]);
    }
    std::printf("], ");
  }
  std::printf("\"errors\": %" PRIu64 ", \"aborted\": %s}\n", s.errors,
              s.aborted ? "true" : "false");
}

}  // namespace hazel_bench
