// sys (service 0): handshake, name lookup, liveness and figures.
//   1 PING      body echoed back
//   2 HELLO     key=value lines about this connection and server
//   3 RESOLVE   service name -> u16 id
//   4 SERVICES  "<id> <name>" lines
//   5 INFO      "<name> <value>" lines
//   6 TELL      u64 target id + payload -> PUSH sys/6 to the target
//   7 AUTH      a token -> user=, expires= lines (hazel/policy.h)
//
// With several workers, TELL to a client of another worker is answered by
// that worker (so NOT_FOUND comes from the one that would hold the client),
// and INFO gathers every worker's figures and sums them. With --cluster the
// same goes for nodes: HELLO adds node=, INFO adds nodes (those that
// answered, this one included) and cluster_dropped.
#include <charconv>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hazel/daemon.h"
#include "hazel/policy.h"
#include "services/builtin.h"
#include "services/gather.h"

namespace hazel::services {

namespace {

using namespace sys;

// INFO keys that must be present even before their service is mounted.
const char* const kRequiredInfo[] = {"sessions_pending", "sessions_timed_out",
                                     "kv_keys", "rooms"};
// Figures of one worker that INFO also shows per worker.
const char* const kPerWorker[] = {"clients", "clients_total", "frames_in",
                                  "frames_out"};

class Lines final : public InfoSink {
 public:
  void add(std::string_view name, int64_t value) override {
    for (auto& [n, v] : items_) {
      if (n == name) {
        v += value;  // the same figure from several sources is summed
        return;
      }
    }
    items_.emplace_back(std::string(name), value);
  }
  bool has(std::string_view name) const {
    for (auto& [n, v] : items_)
      if (n == name) return true;
    return false;
  }
  int64_t get(std::string_view name) const {
    for (auto& [n, v] : items_)
      if (n == name) return v;
    return 0;
  }
  void set(std::string_view name, int64_t value) {
    for (auto& [n, v] : items_)
      if (n == name) {
        v = value;
        return;
      }
    items_.emplace_back(std::string(name), value);
  }
  // Adds another worker's figures (INFO text): summed, except the ones
  // that are about the whole server rather than one worker.
  void merge(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t eol = text.find('\n', pos);
      if (eol == std::string_view::npos) eol = text.size();
      std::string_view line = text.substr(pos, eol - pos);
      pos = eol + 1;
      size_t sp = line.find(' ');
      if (sp == std::string_view::npos) continue;
      std::string_view name = line.substr(0, sp);
      int64_t v = 0;
      std::from_chars(line.data() + sp + 1, line.data() + line.size(), v);
      if (name == "workers" || name == "nodes") continue;
      if (name == "uptime_s") {
        if (v > get(name)) set(name, v);
        continue;
      }
      add(name, v);
    }
  }
  std::string text() const {
    std::string out;
    for (auto& [n, v] : items_) out += n + " " + std::to_string(v) + "\n";
    return out;
  }

 private:
  std::vector<std::pair<std::string, int64_t>> items_;
};

class Sys final : public Service {
 public:
  Sys() : Service("sys", sys::kId) {}

  void on_request(const Request& req, Reply reply) override {
    switch (req.op) {
      case kPing: reply.ok(req.body); return;
      case kHello: hello(req, reply); return;
      case kResolve: resolve(req, reply); return;
      case kServices: list(reply); return;
      case kInfo: info(req, reply); return;
      case kTell: tell(req, reply); return;
      case kAuth: auth(req, reply); return;
      default:
        reply.error(Status::kNoOp, "sys has no op " + std::to_string(req.op));
    }
  }

 private:
  void hello(const Request& req, Reply& reply) {
    std::string s;
    s += "protocol=1\n";
    s += std::string("server=hazel/") + version() + "\n";
    s += "client=" + std::to_string(req.client) + "\n";
    s += "worker=" + std::to_string(ctx().worker_index()) + "\n";
    if (ctx().clustered()) s += "node=" + std::to_string(ctx().worker_index()) + "\n";
    s += "max_frame=" + std::to_string(ctx().max_frame()) + "\n";
    s += "idle_timeout_ms=" + std::to_string(ctx().idle_timeout_ms()) + "\n";
    if (!req.user.empty()) s += "user=" + std::string(req.user) + "\n";
    reply.ok(s);
  }

  void auth(const Request& req, Reply& reply) {
    std::string why;
    const Identity* who = req.from_worker
                              ? nullptr
                              : ctx().authenticate(req.client, req.body, &why);
    if (who == nullptr) {
      if (why.empty()) why = "only a client can authenticate";
      reply.error(Status::kDenied, why);
      return;
    }
    reply.ok("user=" + who->user + "\nexpires=" + std::to_string(who->expires_s) +
             "\n");
  }

  void resolve(const Request& req, Reply& reply) {
    Service* s = ctx().find_service(req.body);
    if (s == nullptr) {
      reply.error(Status::kNotFound, "no service named '" +
                                         std::string(req.body) + "'");
      return;
    }
    uint8_t id[2];
    put_u16(id, s->id());
    reply.ok(std::string_view(reinterpret_cast<const char*>(id), 2));
  }

  void list(Reply& reply) {
    std::string out;
    ctx().for_each_service([&](const Service& s) {
      out += std::to_string(s.id()) + " " + s.name() + "\n";
    });
    reply.ok(out);
  }

  void info(const Request& req, Reply& reply) {
    auto lines = std::make_unique<Lines>(local_info());
    if (ctx().peers() <= 1 || req.from_worker) {
      reply.ok(lines->text());
      return;
    }
    uint16_t self = ctx().worker_index();
    ask_other_workers(
        ctx(), sys::kId, kInfo, {}, req.client, std::move(reply),
        [lines = std::move(lines), self, clustered = ctx().clustered()](Reply& r,
                                         std::vector<WorkerAnswer>& answers) {
          Lines per_worker;
          auto note = [&](uint16_t w, const Lines& l) {
            std::string prefix = "worker" + std::to_string(w) + "_";
            for (const char* key : kPerWorker)
              per_worker.add(prefix + key, l.get(key));
          };
          note(self, *lines);
          int64_t up = 1;
          for (WorkerAnswer& a : answers) {
            // A worker that is there but silent: the sum would not be the
            // whole server's. One that is gone has no clients left to count.
            if (a.status == Status::kTimeout)
              return r.error(Status::kTimeout, "worker " +
                                                   std::to_string(a.worker) +
                                                   " did not answer in time");
            if (a.status != Status::kOk) continue;
            Lines theirs;
            theirs.merge(a.body);
            note(a.worker, theirs);
            lines->merge(a.body);
            ++up;
          }
          lines->set("workers_answered", up);
          if (clustered) lines->set("nodes", up);
          r.ok(lines->text() + per_worker.text());
        });
  }

  Lines local_info() {
    Stats st = ctx().stats();
    Lines lines;
    lines.add("uptime_s", static_cast<int64_t>(st.uptime_s));
    lines.add("workers", ctx().workers());
    lines.add("clients", static_cast<int64_t>(st.clients));
    lines.add("clients_total", static_cast<int64_t>(st.clients_total));
    lines.add("clients_ws", static_cast<int64_t>(st.clients_ws));
    lines.add("frames_in", static_cast<int64_t>(st.frames_in));
    lines.add("frames_out", static_cast<int64_t>(st.frames_out));
    lines.add("sessions_pending", static_cast<int64_t>(st.sessions_pending));
    lines.add("sessions_timed_out", static_cast<int64_t>(st.sessions_timed_out));
    lines.add("replies_dropped", static_cast<int64_t>(st.replies_dropped));
    lines.add("sends_dropped", static_cast<int64_t>(st.sends_dropped));
    lines.add("input_bytes", static_cast<int64_t>(st.input_bytes));
    lines.add("output_bytes", static_cast<int64_t>(st.output_bytes));
    lines.add("clients_limited", static_cast<int64_t>(st.clients_limited));
    lines.add("clients_paused", static_cast<int64_t>(st.clients_paused));
    lines.add("denied", static_cast<int64_t>(st.denied));
    lines.add("rate_limited", static_cast<int64_t>(st.rate_limited));
    lines.add("rate_closed", static_cast<int64_t>(st.rate_closed));
    lines.add("auth_ok", static_cast<int64_t>(st.auth_ok));
    lines.add("auth_refused", static_cast<int64_t>(st.auth_refused));
    ctx().collect_info(lines);
    for (const char* key : kRequiredInfo)
      if (!lines.has(key)) lines.add(key, 0);
    if (ctx().workers() > 1) {
      lines.add("bus_frames_in", static_cast<int64_t>(st.bus_frames_in));
      lines.add("bus_frames_out", static_cast<int64_t>(st.bus_frames_out));
      lines.add("bus_dropped", static_cast<int64_t>(st.bus_dropped));
      lines.add("bus_refused", static_cast<int64_t>(st.bus_refused));
      lines.add("bus_links_up", static_cast<int64_t>(st.bus_links_up));
    }
    if (ctx().clustered()) {
      lines.add("nodes", static_cast<int64_t>(st.cluster_nodes));
      lines.add("cluster_dropped", static_cast<int64_t>(st.cluster_dropped));
      lines.add("cluster_connected", static_cast<int64_t>(st.cluster_connected));
    }
    return lines;
  }

  void tell(const Request& req, Reply& reply) {
    if (req.body.size() < 8) {
      reply.error(Status::kBadRequest, "TELL needs a u64 target id");
      return;
    }
    auto* p = reinterpret_cast<const uint8_t*>(req.body.data());
    ClientId target = get_u64(p);
    // The push it makes counts against the sender's rate, on its worker.
    if (!req.from_worker) ctx().charge(req.client, 1);
    uint16_t owner = ctx().worker_of(target);
    if (owner != ctx().worker_index() && !req.from_worker &&
        owner < ctx().peers()) {
      // The worker that would hold the target answers, NOT_FOUND included.
      ctx().forward(owner, std::move(reply), sys::kId, kTell, req.body);
      return;
    }
    // The target sees who spoke: u64 sender id, then the payload.
    std::string body(8, '\0');
    put_u64(reinterpret_cast<uint8_t*>(body.data()), req.client);
    body.append(req.body.substr(8));
    if (!ctx().push(target, sys::kId, kTell, body)) {
      reply.error(Status::kNotFound,
                  "no client " + std::to_string(target));
      return;
    }
    reply.ok();
  }
};

}  // namespace

std::unique_ptr<Service> make_sys() { return std::make_unique<Sys>(); }

}  // namespace hazel::services
