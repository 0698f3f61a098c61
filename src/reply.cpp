// Reply: a service's handle on one pending session. It talks to the session
// table only; where the answer goes (a client, a calling service, another
// worker) is the table's business.
#include <utility>

#include "hazel/service.h"
#include "session.h"

namespace hazel {

Reply::Reply(Reply&& o) noexcept
    : sessions_(std::exchange(o.sessions_, nullptr)),
      slot_(o.slot_),
      gen_(o.gen_),
      client_(o.client_) {}

Reply& Reply::operator=(Reply&& o) noexcept {
  if (this != &o) {
    if (pending()) send(Status::kInternal, "reply replaced without an answer");
    sessions_ = std::exchange(o.sessions_, nullptr);
    slot_ = o.slot_;
    gen_ = o.gen_;
    client_ = o.client_;
  }
  return *this;
}

Reply::~Reply() {
  if (pending())
    send(Status::kInternal, "the service dropped the request unanswered");
}

void Reply::send(Status status, std::string_view body) {
  detail::Sessions* s = std::exchange(sessions_, nullptr);
  if (s) s->complete({slot_, gen_}, status, body);
}

bool Reply::pending() const {
  return sessions_ != nullptr && sessions_->pending({slot_, gen_});
}

}  // namespace hazel
