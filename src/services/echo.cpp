// echo (service 1): ECHO returns the request body. As a SEND, the same bytes
// come back as a PUSH (service 1, code 1) — the cheapest round trip there is,
// used by hazel-bench.
#include "services/builtin.h"

namespace hazel::services {

namespace {

using echo::kEcho;

class Echo final : public Service {
 public:
  Echo() : Service("echo", echo::kId) {}

  void on_request(const Request& req, Reply reply) override {
    if (req.op != kEcho) {
      reply.error(Status::kNoOp, "echo has no op " + std::to_string(req.op));
      return;
    }
    reply.ok(req.body);
  }

  void on_send(const Request& req) override {
    if (req.op == kEcho) ctx().push(req.client, echo::kId, kEcho, req.body);
  }
};

}  // namespace

std::unique_ptr<Service> make_echo() { return std::make_unique<Echo>(); }

}  // namespace hazel::services
