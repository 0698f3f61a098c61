// sys (service 0): handshake, name lookup, liveness and figures.
//   1 PING      body echoed back
//   2 HELLO     key=value lines about this connection and server
//   3 RESOLVE   service name -> u16 id
//   4 SERVICES  "<id> <name>" lines
//   5 INFO      "<name> <value>" lines
//   6 TELL      u64 target id + payload -> PUSH sys/6 to the target
#include <string>
#include <utility>
#include <vector>

#include "hazel/daemon.h"
#include "services/builtin.h"

namespace hazel::services {

namespace {

using namespace sys;

// INFO keys that must be present even before their service is mounted.
const char* const kRequiredInfo[] = {"sessions_pending", "sessions_timed_out",
                                     "kv_keys", "rooms"};

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
      case kInfo: info(reply); return;
      case kTell: tell(req, reply); return;
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
    s += "max_frame=" + std::to_string(ctx().max_frame()) + "\n";
    s += "idle_timeout_ms=" + std::to_string(ctx().idle_timeout_ms()) + "\n";
    reply.ok(s);
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

  void info(Reply& reply) {
    Stats st = ctx().stats();
    Lines lines;
    lines.add("uptime_s", static_cast<int64_t>(st.uptime_s));
    lines.add("workers", ctx().workers());
    lines.add("clients", static_cast<int64_t>(st.clients));
    lines.add("clients_total", static_cast<int64_t>(st.clients_total));
    lines.add("frames_in", static_cast<int64_t>(st.frames_in));
    lines.add("frames_out", static_cast<int64_t>(st.frames_out));
    lines.add("sessions_pending", static_cast<int64_t>(st.sessions_pending));
    lines.add("sessions_timed_out", static_cast<int64_t>(st.sessions_timed_out));
    lines.add("replies_dropped", static_cast<int64_t>(st.replies_dropped));
    lines.add("sends_dropped", static_cast<int64_t>(st.sends_dropped));
    ctx().collect_info(lines);
    for (const char* key : kRequiredInfo)
      if (!lines.has(key)) lines.add(key, 0);
    reply.ok(lines.text());
  }

  void tell(const Request& req, Reply& reply) {
    if (req.body.size() < 8) {
      reply.error(Status::kBadRequest, "TELL needs a u64 target id");
      return;
    }
    auto* p = reinterpret_cast<const uint8_t*>(req.body.data());
    ClientId target = get_u64(p);
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
