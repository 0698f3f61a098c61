#include "metrics.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace hazel::metrics {

namespace {

enum class Type : uint8_t { kGauge, kCounter };

struct Known {
  std::string_view info;    // INFO name
  std::string_view metric;  // family name
  Type type;
  std::string_view help;
};

// INFO figures by name. Counters end in _total.
constexpr Known kKnown[] = {
    {"uptime_s", "hazel_uptime_seconds", Type::kGauge, "Seconds since the worker started."},
    {"clients", "hazel_clients", Type::kGauge, "Clients connected now."},
    {"clients_total", "hazel_clients_accepted_total", Type::kCounter,
     "Clients accepted since the worker started."},
    {"clients_ws", "hazel_clients_ws", Type::kGauge,
     "Clients connected over WebSocket now."},
    {"frames_in", "hazel_frames_in_total", Type::kCounter, "Frames received from clients."},
    {"frames_out", "hazel_frames_out_total", Type::kCounter, "Frames sent to clients."},
    {"sessions_pending", "hazel_sessions_pending", Type::kGauge,
     "Requests waiting for an answer now."},
    {"sessions_timed_out", "hazel_sessions_timed_out_total", Type::kCounter,
     "Requests answered TIMEOUT."},
    {"replies_dropped", "hazel_replies_dropped_total", Type::kCounter,
     "Answers that found their client gone."},
    {"sends_dropped", "hazel_sends_dropped_total", Type::kCounter,
     "SENDs dropped: refused, over a limit, or failed."},
    {"kv_keys", "hazel_kv_keys", Type::kGauge, "Keys the worker holds in the kv store."},
    {"kv_bytes", "hazel_kv_bytes", Type::kGauge, "Bytes of keys and values the worker holds."},
    {"rooms", "hazel_rooms", Type::kGauge, "Rooms with a member on the worker."},
    {"room_members", "hazel_room_members", Type::kGauge,
     "Room memberships of the worker's clients."},
    {"input_bytes", "hazel_input_bytes", Type::kGauge,
     "Bytes held now for frames not complete yet."},
    {"output_bytes", "hazel_output_bytes", Type::kGauge,
     "Bytes queued now for clients, not yet written."},
    {"clients_paused", "hazel_clients_paused", Type::kGauge,
     "Clients whose requests wait now for them to read their output."},
    {"clients_limited", "hazel_clients_limited_total", Type::kCounter,
     "Clients closed for a memory budget or a body timeout."},
    {"denied", "hazel_denied_total", Type::kCounter,
     "Requests answered DENIED and SENDs dropped by a policy."},
    {"rate_limited", "hazel_rate_limited_total", Type::kCounter,
     "Requests answered BUSY and SENDs dropped for the rate limit."},
    {"rate_closed", "hazel_rate_closed_total", Type::kCounter,
     "Clients closed with GOODBYE LIMIT for the rate limit."},
    {"auth_ok", "hazel_auth_ok_total", Type::kCounter, "sys AUTH requests accepted."},
    {"auth_refused", "hazel_auth_refused_total", Type::kCounter,
     "sys AUTH requests refused."},
    {"kv_evicted", "hazel_kv_evicted_total", Type::kCounter,
     "Keys evicted to make room (--kv-evict lru)."},
    {"kv_refused", "hazel_kv_refused_total", Type::kCounter,
     "SETs and INCRs refused for --kv-max-bytes."},
    {"room_joins_refused", "hazel_room_joins_refused_total", Type::kCounter,
     "JOINs refused for a room cap."},
    {"bus_frames_in", "hazel_bus_frames_in_total", Type::kCounter,
     "Frames received from other workers."},
    {"bus_frames_out", "hazel_bus_frames_out_total", Type::kCounter,
     "Frames sent to other workers."},
    {"bus_dropped", "hazel_bus_dropped_total", Type::kCounter,
     "One-way bus frames dropped: link down or full."},
    {"bus_refused", "hazel_bus_refused_total", Type::kCounter,
     "Requests to other workers refused: link down or full."},
    {"bus_links_up", "hazel_bus_links_up", Type::kGauge, "Bus links to other workers up now."},
    {"nodes", "hazel_cluster_nodes", Type::kGauge,
     "Cluster nodes up as this node sees them, itself included."},
    {"cluster_dropped", "hazel_cluster_dropped_total", Type::kCounter,
     "Frames for other cluster nodes dropped: Redis down or its output full."},
    {"cluster_connected", "hazel_cluster_connected", Type::kGauge,
     "1 while the node reaches the cluster's Redis."},
};

// Figures about the whole server rather than one worker, or about the
// gathering itself: not per-worker series.
bool whole_server(std::string_view name) {
  if (name == "workers" || name == "workers_answered") return true;
  // "worker3_clients": a summed INFO's per-worker copies.
  return name.size() > 6 && name.substr(0, 6) == "worker" && name[6] >= '0' && name[6] <= '9';
}

struct Family {
  std::string name;
  Type type;
  std::string help;
  std::string samples;
};

Family family_for(std::string_view info) {
  for (const Known& k : kKnown)
    if (k.info == info) return {std::string(k.metric), k.type, std::string(k.help), {}};
  std::string name = "hazel_";
  for (char c : info) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    name += ok ? c : '_';
  }
  bool counter = name.size() > 6 && name.substr(name.size() - 6) == "_total";
  return {name, counter ? Type::kCounter : Type::kGauge,
          "INFO figure " + std::string(info) + ".", {}};
}

void header(std::string& out, std::string_view name, std::string_view type,
            std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// A label value, quoted: \ " and newline escaped.
void append_label(std::string& out, std::string_view value) {
  out += '"';
  for (char c : value) {
    if (c == '\\' || c == '"' || c == '\n') out += '\\';
    out += c == '\n' ? 'n' : c;
  }
  out += '"';
}

bool parse_u64(std::string_view& text, uint64_t* v) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *v);
  if (ec != std::errc() || p == text.data() + text.size() || *p != ' ') return false;
  text.remove_prefix(static_cast<size_t>(p - text.data()) + 1);
  return true;
}

// The histogram family from every worker's durations text; nothing if no
// worker has a service.
void render_durations(std::string& out, std::vector<WorkerDurations> workers) {
  std::sort(workers.begin(), workers.end(),
            [](const WorkerDurations& a, const WorkerDurations& b) {
              return a.worker < b.worker;
            });
  std::string samples;
  for (const WorkerDurations& w : workers) {
    std::string_view text = w.text;
    while (!text.empty()) {
      size_t eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
      uint64_t sum_ns = 0;
      uint64_t counts[detail::kDurationBucketCount + 1] = {};
      bool ok = parse_u64(line, &sum_ns);
      for (uint64_t& c : counts) ok = ok && parse_u64(line, &c);
      if (!ok || line.empty()) continue;  // not a durations line
      std::string labels = "{worker=\"" + std::to_string(w.worker) + "\",service=";
      append_label(labels, line);
      uint64_t total = 0;
      for (size_t i = 0; i <= detail::kDurationBucketCount; ++i) {
        total += counts[i];
        samples += "hazel_request_duration_seconds_bucket" + labels + ",le=\"";
        samples += i < detail::kDurationBucketCount ? detail::kDurationBuckets[i].le
                                                    : std::string_view("+Inf");
        samples += "\"} " + std::to_string(total) + "\n";
      }
      char sum[32];
      snprintf(sum, sizeof sum, "%llu.%09llu",
               static_cast<unsigned long long>(sum_ns / 1000000000),
               static_cast<unsigned long long>(sum_ns % 1000000000));
      samples += "hazel_request_duration_seconds_sum" + labels + "} " + sum + "\n";
      samples += "hazel_request_duration_seconds_count" + labels + "} " +
                 std::to_string(total) + "\n";
    }
  }
  if (samples.empty()) return;
  header(out, "hazel_request_duration_seconds", "histogram",
         "Time from the loop turn that read a client's REQUEST to its REPLY.");
  out += samples;
}

}  // namespace

void append_durations(std::string& out, std::string_view service,
                      const detail::DurationHistogram& h) {
  out += std::to_string(h.sum_ns);
  for (uint64_t c : h.counts) {
    out += ' ';
    out += std::to_string(c);
  }
  out += ' ';
  for (char c : service) out += c == '\n' ? ' ' : c;
  out += '\n';
}

std::string render(const std::vector<WorkerInfo>& workers, uint16_t worker_count,
                   std::string_view version,
                   const std::vector<WorkerDurations>& durations) {
  std::string out;
  header(out, "hazel_build_info", "gauge", "Always 1; the version is in its label.");
  out += "hazel_build_info{version=";
  append_label(out, version);
  out += "} 1\n";
  header(out, "hazel_workers", "gauge", "Worker processes the server runs.");
  out += "hazel_workers " + std::to_string(worker_count) + "\n";
  size_t answered = 0;
  for (const WorkerInfo& w : workers) answered += w.ok;
  header(out, "hazel_workers_answered", "gauge",
         "Workers whose figures are in this scrape.");
  out += "hazel_workers_answered " + std::to_string(answered) + "\n";

  std::vector<const WorkerInfo*> order;
  for (const WorkerInfo& w : workers)
    if (w.ok) order.push_back(&w);
  std::sort(order.begin(), order.end(),
            [](const WorkerInfo* a, const WorkerInfo* b) { return a->worker < b->worker; });

  // Families in the order their figures first appear; each family's
  // samples together, as the format requires.
  std::vector<std::pair<std::string, Family>> families;
  for (const WorkerInfo* w : order) {
    std::string_view text = w->text;
    while (!text.empty()) {
      size_t eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
      size_t sp = line.find(' ');
      if (sp == std::string_view::npos || sp == 0) continue;
      std::string_view name = line.substr(0, sp);
      std::string_view value = line.substr(sp + 1);
      int64_t v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size()) continue;
      if (whole_server(name)) continue;
      auto it = std::find_if(families.begin(), families.end(),
                             [&](const auto& f) { return f.first == name; });
      if (it == families.end()) {
        families.emplace_back(std::string(name), family_for(name));
        it = families.end() - 1;
      }
      Family& f = it->second;
      f.samples += f.name + "{worker=\"" + std::to_string(w->worker) + "\"} " +
                   std::to_string(v) + "\n";
    }
  }
  for (auto& [info, f] : families) {
    header(out, f.name, f.type == Type::kCounter ? "counter" : "gauge", f.help);
    out += f.samples;
  }
  render_durations(out, durations);
  return out;
}

}  // namespace hazel::metrics
