#include "message.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "client_id.h"
#include "log.h"
#include "service.h"

namespace hazel {

namespace {
// One read buffer shared by all clients (a read never allocates). Complete
// frames are dispatched straight from it; only a trailing partial frame is
// copied into the client's input ring.
constexpr size_t kReadBufferSize = 64 * 1024;
// Fair share per client per turn; level-triggered epoll brings it back.
constexpr int kMaxReadsPerTurn = 4;
// After a GOODBYE, how long a client that does not read may hold its socket.
constexpr uint32_t kGoodbyeLingerMs = 2000;
// Bytes of a closing client's unread input discarded before close, so the
// kernel sends FIN (not RST, which could destroy the GOODBYE in flight).
constexpr size_t kMaxDrainBytes = 256 * 1024;
// Backpressure: a client with half of --max-output pending gets no more of
// its requests handled until that output drains. A client that pipelines
// many large requests is slowed to the pace it reads at instead of being
// cut off, and one that writes a long pipeline before reading anything
// still has half the limit of room, as it would without backpressure.

std::string describe_bad_header(const uint8_t* h, size_t avail,
                                uint32_t max_frame) {
  if (avail >= 1 && h[0] != kMagic0) return "bad magic";
  if (avail >= 2 && h[1] != kMagic1) return "bad magic";
  if (avail >= 3 && h[2] != kProtocolVersion)
    return "unsupported protocol version " + std::to_string(h[2]);
  if (avail >= 4 && h[3] != static_cast<uint8_t>(Kind::kRequest) &&
      h[3] != static_cast<uint8_t>(Kind::kSend))
    return "frame kind " + std::to_string(h[3]) + " not allowed from a client";
  if (avail >= kHeaderSize)
    return "frame body of " + std::to_string(get_u32(h + 12)) +
           " bytes exceeds max_frame " + std::to_string(max_frame);
  return "bad frame header";
}
}  // namespace

Message::Message(Loop& loop, const Config& cfg, detail::ServiceTable& services,
                 RequestSink& requests, Bus& bus)
    : loop_(loop),
      cfg_(cfg),
      services_(services),
      requests_(requests),
      bus_(bus),
      self_(cfg.worker_index),
      rbuf_(new uint8_t[kReadBufferSize]),
      scratch_(new uint8_t[kHeaderSize + cfg.max_frame]),
      pause_output_(cfg.max_output / 2) {
  next_id_ = first_client_id(cfg.worker_index, 0);
}

Message::Route Message::route(ClientId id) const {
  Route r;
  r.worker = worker_of_id(id);
  if (r.worker != self_) {
    r.remote = true;
    return r;
  }
  // Most replies go to the client whose frame is being handled: skip the
  // hash lookup for it.
  if (current_ != nullptr && current_->id() == id) {
    r.local = current_;
  } else {
    auto it = clients_.find(id);
    if (it != clients_.end()) r.local = it->second;
  }
  return r;
}

Message::~Message() {
  for (auto& [id, c] : clients_) {
    loop_.timers().cancel(&c->timer);
    delete c;
  }
  clients_.clear();
  while (dead_head_) {
    Client* next = dead_head_->next_dead;
    delete dead_head_;
    dead_head_ = next;
  }
}

// ---- accept ----------------------------------------------------------------

void Message::on_accept(int fd) {
  if (clients_.size() >= cfg_.max_clients) {
    if (!full_logged_) {
      HZ_WARN("accept: at --max-clients %u, refusing with GOODBYE FULL",
              cfg_.max_clients);
      full_logged_ = true;
    }
    std::string bye = encode_frame(Kind::kGoodbye, 0,
                                   static_cast<uint16_t>(Goodbye::kFull), 0,
                                   "server is at its connection limit");
    ssize_t rc = send(fd, bye.data(), bye.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)rc;
    close(fd);
    return;
  }
  full_logged_ = false;
  ClientId id = next_id_++;
  // Input holds at most a partial frame plus one read's worth of frames
  // held back while paused (reading stops while paused).
  auto* c = new Client(*this, fd, id,
                       kHeaderSize + cfg_.max_frame + kReadBufferSize,
                       cfg_.max_output);
  c->timer.fire = &Message::on_timer;
  c->epoll_events = EPOLLIN;
  if (!loop_.add(fd, EPOLLIN, c)) {
    HZ_WARN("epoll_ctl(client %llu): %s", static_cast<unsigned long long>(id),
            strerror(errno));
    delete c;
    return;
  }
  clients_.emplace(id, c);
  ++clients_total_;
  c->last_active_ms = loop_.now_ms();
  if (cfg_.idle_timeout_ms > 0) loop_.add_timer(&c->timer, cfg_.idle_timeout_ms);
  HZ_DEBUG("client %llu connected (fd %d)", static_cast<unsigned long long>(id),
           fd);
  services_.notify(Event::kConnect, id);
  drain_events();
}

// ---- input -----------------------------------------------------------------

void Message::on_client_io(Client& c, uint32_t events) {
  if (c.state() == Client::State::kClosed) return;
  if (events & EPOLLOUT) flush_client(c);
  if (c.state() == Client::State::kOpen && (c.input_closed || c.paused)) {
    if (events & (EPOLLHUP | EPOLLERR)) close_now(c, "connection reset");
  } else if (c.state() == Client::State::kOpen &&
             (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
    read_input(c);
  } else if (c.state() == Client::State::kClosing &&
             (events & (EPOLLHUP | EPOLLERR))) {
    close_now(c, "hung up while closing");
  }
  drain_events();
}

void Message::read_input(Client& c) {
  for (int i = 0; i < kMaxReadsPerTurn && !c.paused; ++i) {
    ssize_t n = read(c.fd(), rbuf_.get(), kReadBufferSize);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      close_now(c, "connection reset");
      return;
    }
    if (n == 0) {
      on_input_closed(c);
      return;
    }
    c.last_active_ms = loop_.now_ms();
    feed(c, rbuf_.get(), static_cast<size_t>(n));
    if (c.state() != Client::State::kOpen) return;
    if (static_cast<size_t>(n) < kReadBufferSize) return;  // drained
  }
}

void Message::feed(Client& c, const uint8_t* p, size_t n) {
  RingBuffer& in = c.input();
  if (!in.empty()) {
    // Bytes left over from before (a partial frame, or frames held back
    // while paused) come first. The ring's limit leaves room for one read.
    if (!in.append(p, n)) {
      close_now(c, "input overflow");
      return;
    }
    process_ring(c);
    return;
  }
  // The common case: whole frames straight from the read buffer, no copy.
  const uint8_t* end = p + n;
  while (p < end && !c.paused) {
    Decoded d = decode(p, static_cast<size_t>(end - p), cfg_.max_frame,
                       Peer::kServer);
    if (d.status == DecodeStatus::kError) {
      protocol_error(c, p, static_cast<size_t>(end - p), d.error);
      return;
    }
    if (d.status == DecodeStatus::kNeedMore) break;
    dispatch(c, d.header, p + kHeaderSize);
    p += kHeaderSize + d.header.length;
    if (c.state() != Client::State::kOpen) return;
    maybe_pause(c);
  }
  // A trailing partial frame, or what pausing held back, waits in the ring.
  if (p < end) in.append(p, static_cast<size_t>(end - p));
}

void Message::process_ring(Client& c) {
  RingBuffer& in = c.input();
  while (!in.empty() && !c.paused) {
    size_t have = std::min(in.size(), kHeaderSize);
    uint8_t hdr[kHeaderSize];
    in.peek(0, have, hdr);
    Decoded d = decode(hdr, have, cfg_.max_frame, Peer::kServer);
    if (d.status == DecodeStatus::kError) {
      protocol_error(c, hdr, have, d.error);
      return;
    }
    size_t total = kHeaderSize + d.header.length;
    if (have < kHeaderSize || in.size() < total) break;
    const uint8_t* frame = in.contiguous(total, scratch_.get());
    dispatch(c, d.header, frame + kHeaderSize);
    if (c.state() != Client::State::kOpen) return;
    in.consume(total);
    maybe_pause(c);
  }
  in.release_if_empty();
}

void Message::maybe_pause(Client& c) {
  if (c.pending_output() < pause_output_ || c.paused) return;
  c.paused = true;
  set_events(c, c.epoll_events & ~uint32_t{EPOLLIN});
}

void Message::resume(Client& c) {
  c.paused = false;
  set_events(c, c.epoll_events | input_events(c));
  process_ring(c);
}

uint32_t Message::input_events(const Client& c) const {
  bool reading = c.state() == Client::State::kOpen && !c.input_closed &&
                 !c.paused;
  return reading ? uint32_t{EPOLLIN} : 0u;
}

void Message::dispatch(Client& c, const FrameHeader& h, const uint8_t* body) {
  ++frames_in_;
  Request req;
  req.client = c.id();
  req.service = h.service;
  req.op = h.code;
  req.body = std::string_view(reinterpret_cast<const char*>(body), h.length);
  req.one_way = h.kind == Kind::kSend;
  Service* s = services_.find(h.service);
  current_ = &c;
  if (h.kind == Kind::kRequest) {
    if (s == nullptr) {
      std::string why = "no service " + std::to_string(h.service);
      send_reply(c.id(), h.service, h.session, Status::kNoService, why);
    } else if (c.async_pending >= cfg_.max_client_sessions) {
      // One client must not fill the session table for everyone.
      send_reply(c.id(), h.service, h.session, Status::kBusy,
                 "too many requests of this client pending");
    } else {
      requests_.on_request(*s, req, h.session);
    }
  } else {
    // A SEND answered later holds a session too: the same per-client cap.
    if (s == nullptr || c.async_pending >= cfg_.max_client_sessions) {
      ++sends_dropped_;
    } else {
      requests_.on_send(*s, req);
    }
  }
  current_ = nullptr;
  // A service may have closed clients (kick, slow): tell the others now,
  // before the next frame is handled.
  if (!disconnected_.empty()) drain_events();
}

void Message::protocol_error(Client& c, const uint8_t* hdr, size_t avail,
                             Goodbye code) {
  std::string why = describe_bad_header(hdr, avail, cfg_.max_frame);
  HZ_DEBUG("client %llu: %s", static_cast<unsigned long long>(c.id()),
           why.c_str());
  begin_close(c, true, code, why, kGoodbyeLingerMs);
}

// ---- output ----------------------------------------------------------------

void Message::on_async_request(ClientId client) {
  if (Client* c = route(client).local) ++c->async_pending;
}

void Message::on_async_send_done(ClientId client) {
  Client* c = route(client).local;
  if (c == nullptr) return;
  if (c->async_pending > 0) --c->async_pending;
  if (c->input_closed && c->async_pending == 0 &&
      c->state() == Client::State::kOpen)
    begin_close(*c, false, Goodbye::kProtocol, {}, kGoodbyeLingerMs);
}

void Message::remote_wait(ClientId client) {
  if (Client* c = route(client).local) ++c->remote_pending;
}

void Message::remote_answered(ClientId client) {
  Client* c = route(client).local;
  if (c != nullptr && c->remote_pending > 0) --c->remote_pending;
}

void Message::on_input_closed(Client& c) {
  // The peer shut its sending side (or closed). Every request it sent still
  // gets its one REPLY: stay reachable until the asynchronous ones are
  // answered (each has a deadline), then flush and close.
  if (c.async_pending == 0) {
    begin_close(c, false, Goodbye::kProtocol, {}, kGoodbyeLingerMs);
    return;
  }
  c.input_closed = true;
  set_events(c, c.epoll_events & ~uint32_t{EPOLLIN});
}

bool Message::send_reply(ClientId client, uint16_t service, uint32_t session,
                         Status status, std::string_view body, bool async) {
  Client* c = route(client).local;
  if (c == nullptr) return false;
  if (async && c->async_pending > 0) --c->async_pending;
  if (body.size() > cfg_.max_frame) {
    status = Status::kTooLarge;
    body = "result exceeds max_frame";
  }
  FrameHeader h;
  h.kind = Kind::kReply;
  h.service = service;
  h.code = static_cast<uint16_t>(status);
  h.session = session;
  h.length = static_cast<uint32_t>(body.size());
  queue_frame(*c, h, body);
  if (c->input_closed && c->async_pending == 0 &&
      c->state() == Client::State::kOpen)
    begin_close(*c, false, Goodbye::kProtocol, {}, kGoodbyeLingerMs);
  return true;
}

bool Message::push(ClientId to, uint16_t service, uint16_t op,
                   std::string_view body) {
  if (body.size() > cfg_.max_frame) return false;
  Route r = route(to);
  if (r.remote) return push_many(&to, 1, service, op, body, {}) == 1;
  if (r.local == nullptr) return false;
  FrameHeader h;
  h.kind = Kind::kPush;
  h.service = service;
  h.code = op;
  h.length = static_cast<uint32_t>(body.size());
  queue_frame(*r.local, h, body);
  return true;
}

size_t Message::push_many(const ClientId* to, size_t n, uint16_t service,
                          uint16_t op, std::string_view head,
                          std::string_view tail) {
  size_t len = head.size() + tail.size();
  if (len > cfg_.max_frame) return 0;
  FrameHeader h;
  h.kind = Kind::kPush;
  h.service = service;
  h.code = op;
  h.length = static_cast<uint32_t>(len);
  // Encode once; every member gets a copy of the same bytes.
  fanout_.resize(kHeaderSize);
  encode_header(h, reinterpret_cast<uint8_t*>(fanout_.data()));
  fanout_.append(head);
  fanout_.append(tail);
  size_t delivered = 0;
  bool any_remote = false;
  for (size_t i = 0; i < n; ++i) {
    Route r = route(to[i]);
    if (r.remote) {
      if (remote_.size() <= r.worker) remote_.resize(size_t{r.worker} + 1);
      remote_[r.worker].push_back(to[i]);
      any_remote = true;
      continue;
    }
    if (r.local == nullptr || !append_output(*r.local, nullptr, fanout_, {}))
      continue;
    ++frames_out_;
    ++delivered;
  }
  if (!any_remote) return delivered;
  // One bus frame per worker, carrying the same encoded PUSH.
  for (uint16_t w = 0; w < remote_.size(); ++w) {
    std::vector<ClientId>& ids = remote_[w];
    if (ids.empty()) continue;
    if (bus_.deliver(w, ids.data(), ids.size(), fanout_)) delivered += ids.size();
    ids.clear();
  }
  return delivered;
}

size_t Message::deliver(const uint8_t* ids, size_t n, std::string_view frame) {
  size_t delivered = 0;
  for (size_t i = 0; i < n; ++i) {
    Client* c = route(get_u64(ids + 8 * i)).local;
    if (c == nullptr || !append_output(*c, nullptr, frame, {})) continue;
    ++frames_out_;
    ++delivered;
  }
  return delivered;
}

void Message::queue_frame(Client& c, const FrameHeader& h,
                          std::string_view body) {
  if (append_output(c, &h, body, {})) ++frames_out_;
}

bool Message::append_output(Client& c, const FrameHeader* h,
                            std::string_view a, std::string_view b) {
  size_t n = (h ? kHeaderSize : 0) + a.size() + b.size();
  if (!c.fits(n)) {
    // Before judging the client, give the kernel what it will take now: a
    // client that reads is never cut off for one burst of output.
    if (c.flush() == Client::Flush::kError) {
      close_now(c, "write failed");
      return false;
    }
    if (!c.fits(n)) {
      // It does not read: stop buffering for it. The GOODBYE goes after
      // what is queued and arrives only if it starts reading in the linger.
      begin_close(c, true, Goodbye::kSlow, "output limit reached",
                  kGoodbyeLingerMs);
      return false;
    }
  }
  c.queue(h, a, b);
  schedule_flush(c);
  return true;
}

void Message::schedule_flush(Client& c) {
  if (c.in_flush_list) return;
  c.in_flush_list = true;
  c.next_flush = flush_head_;
  flush_head_ = &c;
}

void Message::set_events(Client& c, uint32_t events) {
  if (c.epoll_events == events) return;
  c.epoll_events = events;
  loop_.modify(c.fd(), events);
}

void Message::flush_client(Client& c) {
  uint32_t base = input_events(c);
  size_t before = c.pending_output();
  Client::Flush result = c.flush();
  // While we hold its input back we cannot see what it sends; a client
  // taking its output then counts as alive. Otherwise only input does.
  if (c.paused && c.pending_output() < before)
    c.last_active_ms = loop_.now_ms();
  switch (result) {
    case Client::Flush::kDone:
      set_events(c, base);
      c.release_buffers();
      if (c.state() == Client::State::kClosing) finish_close(c);
      else if (c.paused) resume(c);
      break;
    case Client::Flush::kPending:
      set_events(c, base | EPOLLOUT);
      break;
    case Client::Flush::kError:
      close_now(c, "write failed");
      break;
  }
}

// A client with answers due from another worker keeps this turn's output for
// one more turn, so that its local and its forwarded answers leave in one
// write (one batch back to a pipelining client instead of two halves that
// each make it write and us read again). Never two turns in a row, never
// past half the output limit, and the loop wakes within a millisecond.
bool Message::hold_output(Client& c) {
  if (c.remote_pending == 0 || c.held_turn + 1 == turn_ ||
      c.state() != Client::State::kOpen || c.pending_output() >= pause_output_)
    return false;
  c.held_turn = turn_;
  c.next_held = held_head_;
  held_head_ = &c;
  return true;
}

void Message::unhold(Client& c) {
  for (Client** p = &held_head_; *p != nullptr; p = &(*p)->next_held) {
    if (*p == &c) {
      *p = c.next_held;
      c.next_held = nullptr;
      return;
    }
  }
}

void Message::end_turn() {
  ++turn_;
  // What was held back last turn goes out now, answered or not.
  while (held_head_) {
    Client* c = held_head_;
    held_head_ = c->next_held;
    c->next_held = nullptr;
    schedule_flush(*c);
  }
  drain_events();
  // Flushing may close clients, whose DISCONNECT may make services push:
  // repeat until nothing new is queued.
  while (flush_head_) {
    Client* c = flush_head_;
    flush_head_ = nullptr;
    while (c) {
      Client* next = c->next_flush;
      c->next_flush = nullptr;
      c->in_flush_list = false;
      if (c->state() != Client::State::kClosed && !hold_output(*c))
        flush_client(*c);
      c = next;
    }
    drain_events();
  }
  if (held_head_) loop_.limit_next_wait(1);
  while (dead_head_) {
    Client* next = dead_head_->next_dead;
    delete dead_head_;  // closes the fd, now that the turn is over
    dead_head_ = next;
  }
}

// ---- closing ---------------------------------------------------------------

void Message::leave_table(Client& c) {
  if (current_ == &c) current_ = nullptr;
  clients_.erase(c.id());
  disconnected_.push_back(c.id());
}

void Message::begin_close(Client& c, bool goodbye, Goodbye code,
                          std::string_view text, uint32_t linger_ms) {
  if (c.state() != Client::State::kOpen) return;
  if (goodbye) {
    FrameHeader h;
    h.kind = Kind::kGoodbye;
    h.code = static_cast<uint16_t>(code);
    h.length = static_cast<uint32_t>(text.size());
    // Past the output limit if need be: it is the last frame, and small.
    c.queue(&h, text, {});
    schedule_flush(c);
    ++frames_out_;
  }
  leave_table(c);
  c.set_state(Client::State::kClosing);
  ++closing_;
  set_events(c, c.epoll_events & ~uint32_t{EPOLLIN});
  loop_.add_timer(&c.timer, linger_ms);
  schedule_flush(c);
}

void Message::finish_close(Client& c) {
  // Discard what the peer sent after its last frame, so close() sends FIN.
  size_t drained = 0;
  while (drained < kMaxDrainBytes) {
    ssize_t n = read(c.fd(), rbuf_.get(), kReadBufferSize);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
  close_now(c, "closed after its last output");
}

void Message::close_now(Client& c, const char* why) {
  if (c.state() == Client::State::kClosed) return;
  if (c.state() == Client::State::kOpen) leave_table(c);
  if (c.state() == Client::State::kClosing) --closing_;
  HZ_DEBUG("client %llu closed: %s", static_cast<unsigned long long>(c.id()),
           why);
  c.set_state(Client::State::kClosed);
  if (c.held_turn == turn_) unhold(c);
  loop_.timers().cancel(&c.timer);
  loop_.remove(c.fd());
  c.next_dead = dead_head_;
  dead_head_ = &c;
}

bool Message::kick(ClientId client, std::string_view reason) {
  Route r = route(client);
  if (r.remote) return bus_.kick(r.worker, client, reason);
  if (r.local == nullptr) return false;
  begin_close(*r.local, true, Goodbye::kKicked, reason, kGoodbyeLingerMs);
  return true;
}

void Message::shutdown_all(uint32_t flush_ms) {
  std::vector<Client*> all;
  all.reserve(clients_.size());
  for (auto& [id, c] : clients_) all.push_back(c);
  for (Client* c : all)
    begin_close(*c, true, Goodbye::kShutdown, "server is shutting down",
                flush_ms);
  drain_events();
}

void Message::drain_events() {
  // Swap out first: a handler may close more clients while we deliver.
  while (!disconnected_.empty()) {
    std::vector<ClientId> batch;
    batch.swap(disconnected_);
    for (ClientId id : batch) {
      services_.notify(Event::kDisconnect, id);
      bus_.broadcast_event(Event::kRemoteDisconnect, id);
    }
  }
}

void Message::on_timer(TimerNode* n) {
  Client& c = *static_cast<Client*>(n->data);
  Message& m = c.msg();
  if (c.state() == Client::State::kClosing) {
    m.close_now(c, "linger over");
    return;
  }
  uint64_t idle = m.cfg_.idle_timeout_ms;
  uint64_t now = m.loop_.now_ms();
  // Input does not touch the timer (no churn per frame): check here and
  // re-arm for the remainder if the client spoke meanwhile.
  if (now - c.last_active_ms >= idle) {
    if (c.paused) {
      // Its requests wait for output it has not read for the idle timeout:
      // it does not read.
      m.begin_close(c, true, Goodbye::kSlow, "output not read",
                    kGoodbyeLingerMs);
      return;
    }
    m.begin_close(c, true, Goodbye::kIdle,
                  "idle for " + std::to_string(idle) + " ms", kGoodbyeLingerMs);
  } else {
    m.loop_.timers().add(&c.timer, c.last_active_ms + idle);
  }
}

bool Message::close_with(ClientId client, Goodbye code,
                         std::string_view reason) {
  Client* c = route(client).local;
  if (c == nullptr) return false;
  begin_close(*c, true, code, reason, kGoodbyeLingerMs);
  return true;
}

}  // namespace hazel
