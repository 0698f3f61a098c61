#include "message.h"

#include <sys/socket.h>
#include <sys/uio.h>
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
// copied into the client's input. It has a header's worth of room in front
// (see read_input()). Large enough for a pipeline of large frames (4 x 64
// KiB and more) to come in one read: each read costs a syscall, each whole
// frame in it costs no copy, so one read of many frames beats a read per
// frame (measured: 16 KiB and 64 KiB echo at depth 4, +10-15% per CPU-s
// against a 64 KiB buffer).
constexpr size_t kReadBufferSize = 512 * 1024;
// Fair share per client per turn, in bytes (a read that starts within it
// may take a whole buffer); level-triggered epoll brings it back. A large
// frame arriving is read straight into place up to this much.
constexpr size_t kReadShare = 256 * 1024;
// A client whose last frame was at least this large reads only kLargeLead
// bytes past a frame's end: the next frame is likely large too, and what
// arrives of it in the shared buffer must be copied into its own array, so
// that part is kept short (the rest is read straight into place).
constexpr size_t kLargeFrame = kReadBufferSize / 2;
constexpr size_t kLargeLead = 4096;
// A frame at least this large, for a client with no output queued, is
// written at once instead of copied into its output ring first.
constexpr size_t kWriteThrough = 16 * 1024;
// A busy client keeps its buffers from turn to turn; they go back to the
// pool once it has been quiet this long.
constexpr uint64_t kBufferKeepMs = 1000;
// How often clients holding buffers are looked at (buffer release, the body
// timeout); faster when --body-timeout is short.
constexpr uint64_t kSweepMs = 250;
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

// Whether `n` bytes at `p` hold a whole frame (header and body).
bool whole_frame(const uint8_t* p, size_t n) {
  return n >= kHeaderSize && n - kHeaderSize >= get_u32(p + 12);
}

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
      rbuf_(new uint8_t[kHeaderSize + kReadBufferSize]),
      pause_output_(cfg.max_output / 2) {
  next_id_ = first_client_id(cfg.worker_index, 0);
  sweep_ms_ = kSweepMs;
  if (cfg.body_timeout_ms > 0)
    sweep_ms_ = std::clamp<uint64_t>(cfg.body_timeout_ms / 4, 10, kSweepMs);
  sweep_.fire = &Message::on_sweep;
  sweep_.data = this;
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
  loop_.timers().cancel(&sweep_);
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

void Message::on_accept(int fd) { accept_client(fd, false, {}); }

void Message::on_upgrade(int fd, std::string_view leftover) {
  accept_client(fd, true, leftover);
}

void Message::accept_client(int fd, bool ws, std::string_view leftover) {
  // Clients lingering with their last frames unwritten hold sockets too:
  // one that reconnects in a loop cannot hold more than the limit.
  if (clients_.size() + lingering_ >= cfg_.max_clients) {
    if (!full_logged_) {
      HZ_WARN("accept: at --max-clients %u, refusing with GOODBYE FULL",
              cfg_.max_clients);
      full_logged_ = true;
    }
    std::string_view why = "server is at its connection limit";
    std::string bye;
    if (ws) {
      uint8_t pre[ws::kMaxHeader];
      bye.assign(reinterpret_cast<const char*>(pre),
                 ws::encode_header(pre, ws::Opcode::kBinary, kHeaderSize + why.size()));
    }
    bye += encode_frame(Kind::kGoodbye, 0, static_cast<uint16_t>(Goodbye::kFull),
                        0, why);
    if (ws) bye += ws::close_frame(ws::close_code_for(Goodbye::kFull), why);
    ssize_t rc = send(fd, bye.data(), bye.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)rc;
    close(fd);
    return;
  }
  full_logged_ = false;
  ClientId id = next_id_++;
  auto* c = new Client(*this, mem_, fd, id, cfg_.max_output);
  if (ws) c->ws = std::make_unique<ws::Reader>(kHeaderSize + cfg_.max_frame);
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
  if (ws) ++clients_ws_;
  c->last_active_ms = loop_.now_ms();
  if (cfg_.idle_timeout_ms > 0) loop_.add_timer(&c->timer, cfg_.idle_timeout_ms);
  HZ_DEBUG("client %llu connected (fd %d%s)", static_cast<unsigned long long>(id),
           fd, ws ? ", WebSocket" : "");
  services_.notify(Event::kConnect, id);
  drain_events();
  // What the browser sent after its request head is the start of its input.
  if (!leftover.empty() && c->state() == Client::State::kOpen) {
    std::string bytes(leftover);
    ws_feed(*c, reinterpret_cast<uint8_t*>(bytes.data()), bytes.size());
    drain_events();
  }
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
  } else if (c.state() == Client::State::kClosing && c.draining &&
             (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
    if (discard_input(c)) close_now(c, "closed after its last output");
  } else if (c.state() == Client::State::kClosing &&
             (events & (EPOLLHUP | EPOLLERR))) {
    close_now(c, "hung up while closing");
  }
  drain_events();
}

// One read(v) for a client: the bytes read (> 0; every byte counts as
// activity), 0 when there is nothing more now, -1 when the client is done
// (the peer closed or the connection failed: dealt with here).
ssize_t Message::read_some(Client& c, const struct iovec* iov, int cnt) {
  for (;;) {
    ssize_t n = cnt == 1 ? read(c.fd(), iov[0].iov_base, iov[0].iov_len)
                         : readv(c.fd(), iov, cnt);
    if (n > 0) {
      c.last_active_ms = loop_.now_ms();
      return n;
    }
    if (n == 0) {
      on_input_closed(c);
      return -1;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    close_now(c, "connection reset");
    return -1;
  }
}

// One read per pass: the bytes still missing from a frame cut short go
// straight into its array (sized for it, see InputBuffer), whatever follows
// into the shared read buffer, where whole frames are handled in place.
void Message::read_input(Client& c) {
  if (c.ws) {
    read_ws(c);
    return;
  }
  // A header cut short by the last read is copied into the room in front of
  // the read buffer, so the frame it starts is whole there too.
  uint8_t* rb = rbuf_.get() + kHeaderSize;
  size_t share = kReadShare;
  while (!c.paused) {
    InputBuffer& in = c.input();
    struct iovec iov[2];
    int cnt = 0;
    size_t to_frame = 0;
    if (c.frame_total > 0) {
      to_frame = std::min(c.frame_total - in.size(), share);
      iov[cnt++] = {in.room(), to_frame};
    }
    size_t lead = c.large_frames ? kLargeLead : kReadBufferSize;
    bool past_frame = in.size() + to_frame == c.frame_total;
    if (c.frame_total == 0 || past_frame) iov[cnt++] = {rb, lead};
    size_t asked = to_frame + (cnt == 2 || to_frame == 0 ? lead : 0);
    ssize_t n = read_some(c, iov, cnt);
    if (n < 0) return;  // closed
    if (n == 0) break;  // nothing more now
    size_t got = static_cast<size_t>(n);
    share -= std::min(share, got);
    if (to_frame > 0) {
      size_t part = std::min(got, to_frame);
      in.commit(part);
      got -= part;
      // A whole frame read behind it: the reply may wait for the next
      // (feed() below uncorks once that batch is handled).
      more_for_ = whole_frame(rb, got) ? &c : nullptr;
      bool closed = in.size() == c.frame_total && !process_input(c);
      more_for_ = nullptr;
      if (closed) return;
    }
    if (got > 0) {
      size_t part = in.size();  // a header cut short (frame_total == 0)
      if (part > 0) {
        std::memcpy(rb - part, in.data(), part);
        in.consume(part);
      }
      feed(c, rb - part, part + got);
      if (c.state() != Client::State::kOpen) return;
    }
    if (static_cast<size_t>(n) < asked || share == 0) break;  // drained
  }
  // Likewise a small input array, once empty.
  if (c.input().empty() && c.input().capacity() <= InputBuffer::kMinBlock &&
      c.state() == Client::State::kOpen)
    drop_input(c);
}

// Whole frames handled where they lie; the rest is held for later.
void Message::feed(Client& c, const uint8_t* p, size_t n) {
  const uint8_t* end = p + n;
  while (p < end && !c.paused) {
    Decoded d = decode(p, static_cast<size_t>(end - p), cfg_.max_frame,
                       Peer::kServer);
    if (d.status == DecodeStatus::kError) {
      protocol_error(c, p, static_cast<size_t>(end - p), d.error);
      return;
    }
    if (d.status == DecodeStatus::kNeedMore) break;
    // Another whole frame follows: a large reply written now may wait in
    // the kernel for the next (MSG_MORE), so replies to pipelined large
    // frames leave in full segments, not one transmission each.
    const uint8_t* next = p + kHeaderSize + d.header.length;
    more_for_ = whole_frame(next, static_cast<size_t>(end - next)) ? &c : nullptr;
    dispatch(c, d.header, p + kHeaderSize);
    more_for_ = nullptr;
    p = next;
    if (c.state() != Client::State::kOpen) return;
    maybe_pause(c);
  }
  // What MSG_MORE held back goes now, whatever the last frame answered.
  if (c.corked && c.state() == Client::State::kOpen) c.uncork();
  if (p < end) hold_input(c, p, static_cast<size_t>(end - p));
}

// Keeps `n` bytes the client sent for later: a frame cut short, or what a
// pause held back. The client's input is empty here.
void Message::hold_input(Client& c, const uint8_t* p, size_t n) {
  bool awaited = !c.paused && n >= kHeaderSize;
  size_t total = awaited ? kHeaderSize + get_u32(p + 12) : n;
  if (!admit_input(c, total)) return;
  c.reserve_input(total);
  c.input().append(p, n);
  if (awaited) {
    c.frame_total = total;
    c.frame_started_ms = loop_.now_ms();
  }
  hold(c);
}

// Handles the frames held in the client's input (after a pause, or a frame
// whose last bytes just arrived). False if the client is no longer open.
bool Message::process_input(Client& c) {
  InputBuffer& in = c.input();
  while (!in.empty() && !c.paused) {
    Decoded d = decode(in.data(), in.size(), cfg_.max_frame, Peer::kServer);
    if (d.status == DecodeStatus::kError) {
      protocol_error(c, in.data(), std::min(in.size(), kHeaderSize), d.error);
      return false;
    }
    if (d.status == DecodeStatus::kNeedMore) break;
    c.frame_total = 0;
    dispatch(c, d.header, in.data() + kHeaderSize);
    if (c.state() != Client::State::kOpen) return false;
    in.consume(kHeaderSize + d.header.length);
    maybe_pause(c);
  }
  if (in.empty()) c.frame_total = 0;
  if (c.paused || in.size() < kHeaderSize || c.frame_total > 0) return true;
  // A frame cut short at the head: give it room to arrive in place.
  size_t total = kHeaderSize + get_u32(in.data() + 12);
  if (!admit_input(c, total)) return false;
  c.reserve_input(total);
  c.frame_total = total;
  c.frame_started_ms = loop_.now_ms();
  hold(c);
  return true;
}

// --max-input-memory: before `c` takes an array for `total` bytes of input,
// the clients holding the most input are closed with GOODBYE LIMIT until it
// fits. False if that is `c` itself.
bool Message::admit_input(Client& c, size_t total) {
  size_t cap = c.input().capacity();
  if (cap == 0 && total <= InputBuffer::kInline) return true;
  size_t want = std::max(total, InputBuffer::kMinBlock);
  if (want <= cap) return true;
  size_t extra = want - cap;
  while (mem_.input + extra > cfg_.max_input_memory) {
    // The biggest holder; of equals, the one whose frame is oldest (an
    // honest client's frame is short-lived, a trickled one is not).
    Client* big = &c;
    size_t big_bytes = cap + extra;
    uint64_t big_since = loop_.now_ms();
    for (Client* h = holders_; h != nullptr; h = h->holder_next) {
      if (h == &c || h->state() != Client::State::kOpen) continue;
      size_t bytes = h->input().capacity();
      uint64_t since = h->frame_total > 0 ? h->frame_started_ms : 0;
      if (bytes > big_bytes || (bytes == big_bytes && since < big_since)) {
        big = h;
        big_bytes = bytes;
        big_since = since;
      }
    }
    if (!make_room(c, *big, mem_.input, &Message::limit,
                   "input memory limit reached"))
      return false;
  }
  return true;
}

bool Message::make_room(Client& c, Client& big, const size_t& total,
                        void (Message::*cut)(Client&, std::string_view),
                        std::string_view why) {
  size_t before = total;
  (this->*cut)(big, why);
  if (&big != &c && total < before) return true;
  // It was `c` itself, or cutting freed nothing: `c` goes.
  if (&big != &c) (this->*cut)(c, why);
  return false;
}

void Message::limit(Client& c, std::string_view why) {
  if (c.state() != Client::State::kOpen) return;
  ++clients_limited_;
  HZ_DEBUG("client %llu: %.*s", static_cast<unsigned long long>(c.id()),
           static_cast<int>(why.size()), why.data());
  begin_close(c, true, Goodbye::kLimit, why, kGoodbyeLingerMs);
}

void Message::drop_input(Client& c) {
  // Never under a service still reading a frame body from it.
  if (&c == current_) return;
  c.release_input();
  c.frame_total = 0;
}

// ---- WebSocket clients --------------------------------------------------------

// A WebSocket client's bytes go through its Reader; each binary message must
// be exactly one hazel frame, handled where it lies (the Reader unmasks a
// message that is whole in the read buffer in place).
void Message::read_ws(Client& c) {
  uint8_t* rb = rbuf_.get() + kHeaderSize;
  size_t share = kReadShare;
  while (!c.paused && c.state() == Client::State::kOpen) {
    struct iovec iov = {rb, kReadBufferSize};
    ssize_t n = read_some(c, &iov, 1);
    if (n <= 0) return;
    ws_feed(c, rb, static_cast<size_t>(n));
    size_t got = static_cast<size_t>(n);
    share -= std::min(share, got);
    if (got < kReadBufferSize || share == 0) return;
  }
}

void Message::ws_feed(Client& c, uint8_t* p, size_t n) {
  while (c.state() == Client::State::kOpen) {
    if (c.paused) {
      // Held until the output drains, like a TCP client's (resume()).
      if (n > 0 && admit_input(c, c.input().size() + n)) {
        c.reserve_input(c.input().size() + n);
        c.input().append(p, n);
        hold(c);
      }
      return;
    }
    size_t used = 0;
    ws::Reader::Event ev = c.ws->read(p, n, &used);
    p += used;
    n -= used;
    switch (ev) {
      case ws::Reader::Event::kNeedMore:
        return;
      case ws::Reader::Event::kMessage:
        ws_message(c, c.ws->payload());
        if (c.state() == Client::State::kOpen) maybe_pause(c);
        break;
      case ws::Reader::Event::kPing:
        c.queue_control(ws::Opcode::kPong, c.ws->payload());
        schedule_flush(c);
        break;
      case ws::Reader::Event::kPong:
        break;
      case ws::Reader::Event::kClose: {
        // The client ends it: answer its Close, then hang up.
        uint16_t code = c.ws->close_code();
        if (code == static_cast<uint16_t>(ws::CloseCode::kNoStatus))
          code = static_cast<uint16_t>(ws::CloseCode::kNormal);
        c.queue_raw(ws::close_frame(code, {}));
        begin_close(c, false, Goodbye::kProtocol, {}, kGoodbyeLingerMs);
        return;
      }
      case ws::Reader::Event::kError: {
        bool too_big = c.ws->error_code() ==
                       static_cast<uint16_t>(ws::CloseCode::kTooBig);
        ws_fail(c, too_big ? Goodbye::kTooLarge : Goodbye::kProtocol,
                c.ws->error_code(), c.ws->error());
        return;
      }
    }
    if (n == 0 && ev == ws::Reader::Event::kMessage) {
      // The message may have ended exactly at the end of the bytes; ask the
      // reader once more only if bytes are left.
      return;
    }
  }
}

void Message::ws_message(Client& c, std::string_view m) {
  auto* p = reinterpret_cast<const uint8_t*>(m.data());
  Decoded d = decode(p, m.size(), cfg_.max_frame, Peer::kServer);
  if (d.status == DecodeStatus::kError) {
    std::string why = describe_bad_header(p, m.size(), cfg_.max_frame);
    ws_fail(c, d.error, ws::close_code_for(d.error), why);
    return;
  }
  if (d.status == DecodeStatus::kNeedMore ||
      kHeaderSize + d.header.length != m.size()) {
    ws_fail(c, Goodbye::kProtocol,
            static_cast<uint16_t>(ws::CloseCode::kProtocolError),
            "a WebSocket message must carry exactly one hazel frame");
    return;
  }
  dispatch(c, d.header, p + kHeaderSize);
}

void Message::ws_fail(Client& c, Goodbye code, uint16_t close_code,
                      std::string_view why) {
  HZ_DEBUG("client %llu: %.*s", static_cast<unsigned long long>(c.id()),
           static_cast<int>(why.size()), why.data());
  c.ws_close_code = close_code;
  begin_close(c, true, code, why, kGoodbyeLingerMs);
}

void Message::maybe_pause(Client& c) {
  if (c.pending_output() < pause_output_ || c.paused) return;
  c.paused = true;
  ++paused_;
  set_events(c, c.epoll_events & ~uint32_t{EPOLLIN});
}

void Message::resume(Client& c) {
  c.paused = false;
  --paused_;
  set_events(c, c.epoll_events | input_events(c));
  if (!c.ws) {
    process_input(c);
    return;
  }
  if (c.input().empty()) return;
  std::string held(reinterpret_cast<const char*>(c.input().data()),
                   c.input().size());
  c.release_input();
  ws_feed(c, reinterpret_cast<uint8_t*>(held.data()), held.size());
}

uint32_t Message::input_events(const Client& c) const {
  bool reading = c.state() == Client::State::kOpen && !c.input_closed &&
                 !c.paused;
  return reading ? uint32_t{EPOLLIN} : 0u;
}

void Message::dispatch(Client& c, const FrameHeader& h, const uint8_t* body) {
  ++frames_in_;
  c.large_frames = h.length >= kLargeFrame;
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
  // Closed while its frame was handled: what it sent after is not wanted.
  if (c.state() != Client::State::kOpen) drop_input(c);
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
  if (mem_.output + n > cfg_.max_output_memory && !admit_output(c, n))
    return false;
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
  c.last_output_ms = loop_.now_ms();
  if (n >= kWriteThrough && !c.has_output() && c.remote_pending == 0) {
    // Nothing is queued before it, so nothing is reordered; corking gains
    // nothing for a frame this large, and the kernel takes it from where it
    // lies instead of after a copy into the ring. What it does not take now
    // is queued.
    bool more = more_for_ == &c && current_ == &c;
    ssize_t sent = c.write_now(h, a, b, more ? MSG_MORE : 0);
    if (more && sent > 0) c.corked = true;
    if (sent < 0) {
      close_now(c, "write failed");
      return false;
    }
    if (static_cast<size_t>(sent) == n) return true;
    c.queue_rest(static_cast<size_t>(sent), h, a, b);
  } else {
    c.queue(h, a, b);
  }
  schedule_flush(c);
  return true;
}

// --max-output-memory: the clients with the most output pending are cut
// (their output dropped, GOODBYE SLOW) until `n` more bytes fit. A
// subscriber that reads slower than its room publishes is cut, never the
// server. False if the one cut is `c` itself.
bool Message::admit_output(Client& c, size_t n) {
  while (mem_.output + n > cfg_.max_output_memory) {
    Client* big = &c;
    for (Client* h = holders_; h != nullptr; h = h->holder_next)
      if (h->pending_output() > big->pending_output()) big = h;
    if (!make_room(c, *big, mem_.output, &Message::cut_slow,
                   "server output memory limit reached"))
      return false;
  }
  return true;
}

void Message::cut_slow(Client& c, std::string_view why) {
  c.cut_output();
  if (c.state() != Client::State::kOpen) {
    close_now(c, "output memory limit reached while closing");
    return;
  }
  ++clients_limited_;
  begin_close(c, true, Goodbye::kSlow, why, kGoodbyeLingerMs);
}

void Message::schedule_flush(Client& c) {
  hold(c);
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
      // A large ring stays with a busy client until it is quiet (sweep());
      // a small one goes back to the pool now, so that thousands of mostly
      // idle clients hold no output memory between their rare replies.
      if (c.output_capacity() <= RingBuffer::kMinCapacity) c.release_output();
      set_events(c, base);
      if (c.state() == Client::State::kClosing) finish_close(c);
      else if (c.paused) resume(c);
      break;
    case Client::Flush::kPending:
      if (c.state() == Client::State::kClosing && !c.lingering) {
        c.lingering = true;
        ++lingering_;
      }
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
  if (c.ws) --clients_ws_;
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
    if (c.ws) {
      // A GOODBYE is always followed by a Close with a matching code.
      uint16_t close_code =
          c.ws_close_code ? c.ws_close_code : ws::close_code_for(code);
      c.queue_raw(ws::close_frame(close_code, text));
    }
    c.last_output_ms = loop_.now_ms();
    schedule_flush(c);
    ++frames_out_;
  }
  // Mid-frame (its rest may be on the way) or sending this very turn.
  // (Frames held back by backpressure are whole: they do not count.)
  c.was_sending = c.frame_total > 0 || (!c.paused && !c.input().empty()) ||
                  c.last_active_ms == loop_.now_ms();
  if (c.paused) {
    c.paused = false;  // nothing of it is handled any more
    --paused_;
  }
  drop_input(c);
  leave_table(c);
  c.set_state(Client::State::kClosing);
  ++closing_;
  set_events(c, c.epoll_events & ~uint32_t{EPOLLIN});
  loop_.add_timer(&c.timer, linger_ms);
  schedule_flush(c);
}

void Message::finish_close(Client& c) {
  // Its last frame is out. Closing with bytes of its unread would reset the
  // connection, and a reset can destroy that last frame before the peer
  // reads it. So a peer still sending (bytes waiting, a frame it was in the
  // middle of, or bytes this turn) gets a FIN after the frame, and what it sends is read
  // and dropped until it closes too, it has sent max_frame more, or the
  // linger ends (a lingering close, as HTTP servers do).
  if (discard_input(c) || (c.drained == 0 && !c.was_sending)) {
    close_now(c, "closed after its last output");
    return;
  }
  c.draining = true;
  ::shutdown(c.fd(), SHUT_WR);
  set_events(c, EPOLLIN);
}

bool Message::discard_input(Client& c) {
  const size_t cap = kMaxDrainBytes + cfg_.max_frame;
  while (c.drained < cap) {
    ssize_t n = read(c.fd(), rbuf_.get(), kReadBufferSize);
    if (n > 0) {
      c.drained += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
    }
  }
  return true;
}

void Message::close_now(Client& c, const char* why) {
  if (c.state() == Client::State::kClosed) return;
  if (c.state() == Client::State::kOpen) leave_table(c);
  if (c.state() == Client::State::kClosing) --closing_;
  if (c.lingering) --lingering_;
  if (c.paused) --paused_;
  HZ_DEBUG("client %llu closed: %s", static_cast<unsigned long long>(c.id()),
           why);
  c.set_state(Client::State::kClosed);
  if (c.held_turn == turn_) unhold(c);
  unhold_buffers(c);
  drop_input(c);
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

// ---- buffers held ------------------------------------------------------------

void Message::hold(Client& c) {
  if (c.holding) return;
  c.holding = true;
  c.holder_prev = nullptr;
  c.holder_next = holders_;
  if (holders_) holders_->holder_prev = &c;
  holders_ = &c;
  if (!sweep_.armed()) loop_.add_timer(&sweep_, sweep_ms_);
}

void Message::unhold_buffers(Client& c) {
  if (!c.holding) return;
  c.holding = false;
  if (c.holder_prev) c.holder_prev->holder_next = c.holder_next;
  else holders_ = c.holder_next;
  if (c.holder_next) c.holder_next->holder_prev = c.holder_prev;
  c.holder_prev = c.holder_next = nullptr;
}

// Every few hundred milliseconds, the clients holding buffers: one whose
// frame has not arrived within --body-timeout is closed with GOODBYE LIMIT;
// buffers of a client quiet for kBufferKeepMs go back to the pool.
void Message::sweep() {
  uint64_t now = loop_.now_ms();
  uint64_t body = cfg_.body_timeout_ms;
  Client* next = nullptr;
  for (Client* c = holders_; c != nullptr; c = next) {
    next = c->holder_next;
    if (c->state() == Client::State::kOpen && body > 0 && c->frame_total > 0 &&
        !c->paused && now - c->frame_started_ms >= body)
      limit(*c, "frame not complete within " + std::to_string(body) + " ms");
    if (c->input().empty() && now - c->last_active_ms >= kBufferKeepMs)
      drop_input(*c);
    if (!c->has_output() && now - c->last_output_ms >= kBufferKeepMs)
      c->release_output();
    if (c->input().capacity() == 0 && c->input().empty() &&
        c->output_capacity() == 0)
      unhold_buffers(*c);
  }
  if (holders_) loop_.add_timer(&sweep_, sweep_ms_);
}

void Message::on_sweep(TimerNode* n) { static_cast<Message*>(n->data)->sweep(); }

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
