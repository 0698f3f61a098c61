#include "session.h"

#include <string>
#include <utility>

#include "guard.h"


namespace hazel::detail {

Sessions::Sessions(TimerWheel& wheel, const uint64_t& now, ReplySink& sink,
                   uint32_t cap)
    : wheel_(wheel), now_(now), sink_(sink), cap_(cap) {}

Sessions::~Sessions() {
  // The wheel outlives us: unlink our nodes from it.
  for (uint32_t i = 0; i < count_; ++i) wheel_.cancel(&slot(i).timer);
}

Sessions::Slot* Sessions::take_slot() {
  if (live_ >= cap_) return nullptr;
  Slot* s;
  if (free_ != kNone) {
    s = &slot(free_);
    free_ = s->next_free;
  } else {
    if ((count_ & (kChunk - 1)) == 0)
      chunks_.push_back(std::make_unique<Slot[]>(kChunk));
    s = &slot(count_);
    s->index = count_++;
    s->owner = this;
    s->timer.fire = &Sessions::on_deadline;
    s->timer.data = s;
  }
  s->live = true;
  s->next_free = kNone;
  ++live_;
  return s;
}

void Sessions::release(Slot& s) {
  if (s.timer.armed()) {
    wheel_.cancel(&s.timer);
    --armed_;
  }
  s.live = false;
  s.async = false;
  s.caller = nullptr;
  s.worker = kLocal;
  s.awaits = kLocal;
  ++s.gen;
  s.done = nullptr;
  s.next_free = free_;
  free_ = s.index;
  --live_;
}

Sessions::Handle Sessions::open_client(Kind kind, ClientId client,
                                       uint16_t service, uint32_t wire_session,
                                       uint64_t started_ns) {
  Slot* s = take_slot();
  if (!s) return {};
  s->kind = kind;
  s->started_ns = started_ns;
  s->client = client;
  s->service = service;
  s->wire_session = wire_session;
  return {s->index, s->gen};
}

Sessions::Handle Sessions::open_call(Service* caller, uint16_t callee,
                                     CallCallback done, uint16_t worker) {
  Slot* s = take_slot();
  if (!s) return {};
  s->kind = Kind::kCall;
  s->caller = caller;
  s->client = 0;
  s->service = callee;
  s->wire_session = 0;
  s->awaits = worker;
  s->done = std::move(done);
  return {s->index, s->gen};
}

Sessions::Handle Sessions::open_peer(uint16_t worker, uint32_t peer_slot,
                                     uint32_t peer_gen, uint16_t service) {
  Slot* s = take_slot();
  if (!s) return {};
  s->kind = Kind::kPeerRequest;
  s->client = 0;
  s->service = service;
  s->wire_session = peer_slot;
  s->peer_gen = peer_gen;
  s->worker = worker;
  return {s->index, s->gen};
}

Sessions::Slot* Sessions::get(Handle h) {
  if (h.slot >= count_) return nullptr;
  Slot& s = slot(h.slot);
  return (s.live && s.gen == h.gen) ? &s : nullptr;
}

bool Sessions::pending(Handle h) const {
  return const_cast<Sessions*>(this)->get(h) != nullptr;
}

void Sessions::arm(Handle h, uint32_t timeout_ms) {
  Slot* s = get(h);
  if (!s) return;
  if (!s->timer.armed()) {
    ++armed_;
    if (s->kind == Kind::kClientRequest || s->kind == Kind::kClientSend) {
      s->async = true;
      sink_.on_async_request(s->client);
    }
  }
  wheel_.add(&s->timer, now_ + timeout_ms);
}

void Sessions::finish(Slot& s, Status status, std::string_view body) {
  // Free the slot before running anything: a callback may open sessions.
  Kind kind = s.kind;
  ClientId client = s.client;
  uint16_t service = s.service;
  uint32_t wire = s.wire_session;
  uint32_t peer_gen = s.peer_gen;
  uint16_t worker = s.worker;
  bool remote = s.awaits != kLocal;
  bool async = s.async;
  uint64_t started_ns = s.started_ns;
  CallCallback done = std::move(s.done);
  release(s);
  switch (kind) {
    case Kind::kClientRequest:
      if (remote) sink_.on_remote_answered(client);
      if (!sink_.send_reply(client, service, wire, status, body, async))
        ++dropped_;
      sink_.on_request_done(service, started_ns);
      break;
    case Kind::kClientSend:
      if (remote) sink_.on_remote_answered(client);
      if (async) sink_.on_async_send_done(client);
      if (status != Status::kOk) ++send_errors_;
      break;
    case Kind::kCall:
      if (done) guarded("call callback", [&] { done(status, body); });
      break;
    case Kind::kPeerRequest:
      sink_.send_peer_reply(worker, wire, peer_gen, status, body);
      break;
  }
}

bool Sessions::complete(Handle h, Status status, std::string_view body) {
  Slot* s = get(h);
  if (!s) {
    ++dropped_;
    return false;
  }
  finish(*s, status, body);
  return true;
}

void Sessions::on_deadline(TimerNode* n) {
  Slot* s = static_cast<Slot*>(n->data);
  Sessions* self = s->owner;
  --self->armed_;  // the wheel disarmed the node before calling us
  ++self->timed_out_;
  self->finish(*s, Status::kTimeout, "no answer before the deadline");
}

void Sessions::drop_caller(Service* caller) {
  for (uint32_t i = 0; i < count_; ++i) {
    Slot& s = slot(i);
    if (!s.live || s.kind != Kind::kCall || s.caller != caller) continue;
    // Destroy the callback after the slot is free: what it owns (a Reply,
    // say) may complete other sessions as it goes.
    CallCallback done = std::move(s.done);
    release(s);
    ++dropped_;
  }
}

bool Sessions::await_worker(Handle h, uint16_t worker) {
  Slot* s = get(h);
  if (!s) return false;
  s->awaits = worker;
  return true;
}

ClientId Sessions::client_of(Handle h) const {
  const Slot* s = const_cast<Sessions*>(this)->get(h);
  if (!s || (s->kind != Kind::kClientRequest && s->kind != Kind::kClientSend))
    return 0;
  return s->client;
}

bool Sessions::complete_from(uint16_t worker, Handle h, Status status,
                             std::string_view body) {
  Slot* s = get(h);
  if (!s || s->awaits != worker) {
    ++dropped_;
    return false;
  }
  finish(*s, status, body);
  return true;
}

void Sessions::fail_worker(uint16_t worker) {
  for (uint32_t i = 0; i < count_; ++i) {
    Slot& s = slot(i);
    if (!s.live) continue;
    if (s.kind == Kind::kPeerRequest && s.worker == worker) {
      release(s);
      ++dropped_;
    } else if (s.awaits == worker) {
      finish(s, Status::kUnavailable,
             "worker " + std::to_string(worker) + " is gone");
    }
  }
}

void Sessions::fail_callee(uint16_t service) {
  // By index: a callback may open sessions, which may add chunks.
  for (uint32_t i = 0; i < count_; ++i) {
    Slot& s = slot(i);
    // A call to a service of that id on another worker is not affected.
    if (s.live && s.service == service && s.awaits == kLocal)
      finish(s, Status::kUnavailable, "service unmounted");
  }
}

}  // namespace hazel::detail
