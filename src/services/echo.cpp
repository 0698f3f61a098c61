// echo (service 1): ECHO returns the request body. As a SEND, the same bytes
// come back as a PUSH (service 1, code 1) — the cheapest round trip there is,
// used by hazel-bench.
#include "services/builtin.h"

namespace hazel::services {

namespace {

constexpr uint16_t kOpEcho = 1;

class Echo final : public Service {
 public:
  Echo() : Service("echo", kEchoId) {}

  void on_request(const Request& req, Reply reply) override {
    if (req.op != kOpEcho) {
      reply.error(Status::kNoOp, "echo has no op " + std::to_string(req.op));
      return;
    }
    reply.ok(req.body);
  }

  void on_send(const Request& req) override {
    if (req.op == kOpEcho) ctx().push(req.client, kEchoId, kOpEcho, req.body);
  }
};

}  // namespace

std::unique_ptr<Service> make_echo() { return std::make_unique<Echo>(); }

}  // namespace hazel::services
