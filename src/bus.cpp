#include "bus.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "log.h"

namespace hazel {

namespace {
// Bus frames carry a client frame plus the bus's own fields (generation,
// client id, a list of target ids): room for them above max_frame.
constexpr uint32_t kBusOverhead = 1u << 20;
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxReadsPerTurn = 8;

// Control messages from the master (one SOCK_SEQPACKET datagram each).
constexpr uint8_t kCtlLink = 1;   // u8 type, u16 worker; one fd attached
constexpr uint8_t kCtlReady = 2;  // worker -> master: serving
}  // namespace

// ---- one link ----------------------------------------------------------------

class Bus::Link final : public IoHandler {
 public:
  Link(Bus& bus, uint16_t peer, int link_fd, size_t max_in, size_t max_out)
      : bus_(bus), worker(peer), fd(link_fd), in(max_in), out(max_out) {}
  ~Link() {
    if (fd >= 0) close(fd);
  }

  void on_io(uint32_t events) override {
    if (dead) return;
    if (events & EPOLLOUT) flush();
    if (!dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) read_some();
  }

  void read_some() {
    for (int i = 0; i < kMaxReadsPerTurn && !dead; ++i) {
      size_t room = in.limit() - in.size();
      if (room == 0 || !in.reserve(std::min(room, kReadChunk))) {
        bus_.drop(*this, "input overflow");
        return;
      }
      struct iovec iov[2];
      int cnt = in.writable_spans(iov);
      ssize_t n = readv(fd, iov, cnt);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        bus_.drop(*this, strerror(errno));
        return;
      }
      if (n == 0) {
        bus_.drop(*this, "closed by the other worker");
        return;
      }
      in.commit(static_cast<size_t>(n));
      bus_.stats_.bytes_in += static_cast<uint64_t>(n);
      parse();
      if (static_cast<size_t>(n) < kReadChunk) return;
    }
  }

  void parse() {
    while (!dead && in.size() >= kHeaderSize) {
      uint8_t hdr[kHeaderSize];
      in.peek(0, kHeaderSize, hdr);
      Decoded d = decode(hdr, kHeaderSize, bus_.max_body_, Peer::kBus);
      if (d.status == DecodeStatus::kError) {
        HZ_ERROR("bus: malformed frame from worker %u (kind %u): a bug; "
                 "closing the link",
                 worker, hdr[3]);
        bus_.drop(*this, "malformed frame");
        return;
      }
      size_t total = kHeaderSize + d.header.length;
      if (in.size() < total) break;
      const uint8_t* frame = in.contiguous(total, bus_.scratch_.get());
      ++bus_.stats_.frames_in;
      bus_.on_frame(*this, d.header, frame + kHeaderSize);
      if (dead) return;
      in.consume(total);
    }
    in.release_if_empty();
  }

  // False on a write error (the link is then dropped by the caller).
  bool flush() {
    while (!out.empty()) {
      struct iovec iov[2];
      int cnt = out.readable_spans(iov);
      struct msghdr mh{};
      mh.msg_iov = iov;
      mh.msg_iovlen = static_cast<size_t>(cnt);
      ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          set_out(true);
          return true;
        }
        bus_.drop(*this, strerror(errno));
        return false;
      }
      out.consume(static_cast<size_t>(n));
      bus_.stats_.bytes_out += static_cast<uint64_t>(n);
    }
    set_out(false);
    out.release_if_empty();
    return true;
  }

  void set_out(bool on) {
    if (on == want_out) return;
    want_out = on;
    bus_.loop_.modify(fd, EPOLLIN | (on ? uint32_t{EPOLLOUT} : 0u));
  }

  Bus& bus_;
  uint16_t worker;
  int fd;
  RingBuffer in;
  RingBuffer out;
  uint32_t peer_mask = 0;  // events the other worker wants (from HELLO)
  bool hello_seen = false;
  bool dead = false;
  bool want_out = false;
  bool in_flush = false;
};

// ---- the master's control channel --------------------------------------------

class Bus::Control final : public IoHandler {
 public:
  Control(Bus& bus, int control_fd) : bus_(bus), fd(control_fd) {}
  ~Control() {
    if (fd >= 0) close(fd);
  }

  void on_io(uint32_t) override {
    for (;;) {
      uint8_t msg[8];
      struct iovec iov = {msg, sizeof msg};
      union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
      } ctl;
      struct msghdr mh{};
      mh.msg_iov = &iov;
      mh.msg_iovlen = 1;
      mh.msg_control = ctl.buf;
      mh.msg_controllen = sizeof ctl.buf;
      ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n <= 0) {
        // The master is gone; PR_SET_PDEATHSIG stops this worker.
        bus_.loop_.remove(fd);
        return;
      }
      int passed = -1;
      for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
          memcpy(&passed, CMSG_DATA(c), sizeof passed);
      if (n >= 3 && msg[0] == kCtlLink && passed >= 0) {
        bus_.attach(get_u16(msg + 1), passed);
      } else {
        HZ_ERROR("bus: unexpected control message from the master");
        if (passed >= 0) close(passed);
      }
    }
  }

  Bus& bus_;
  int fd;
};

// ---- Bus ---------------------------------------------------------------------

Bus::Bus(Loop& loop, BusSink& sink, uint32_t max_frame, size_t max_output)
    : loop_(loop),
      sink_(sink),
      max_body_(max_frame + kBusOverhead),
      max_output_(max_output) {}

Bus::~Bus() {
  for (auto& l : links_)
    if (l) loop_.remove(l->fd);
  if (control_) loop_.remove(control_->fd);
}

void Bus::configure(uint16_t self, uint16_t workers, uint32_t event_mask) {
  self_ = self;
  workers_ = workers;
  event_mask_ = event_mask;
  links_.resize(workers);
  if (!scratch_) scratch_.reset(new uint8_t[kHeaderSize + max_body_]);
}

void Bus::attach(uint16_t worker, int fd) {
  if (remote_ != nullptr) {
    close(fd);  // cluster nodes talk through Redis, workers included
    return;
  }
  if (worker >= workers_ || worker == self_) {
    HZ_ERROR("bus: link to worker %u refused (this is worker %u of %u)",
             worker, self_, workers_);
    close(fd);
    return;
  }
  if (links_[worker]) drop(*links_[worker], "replaced by a new link");
  auto l = std::make_unique<Link>(*this, worker, fd,
                                  kHeaderSize + max_body_ + kReadChunk,
                                  max_output_);
  if (!loop_.add(fd, EPOLLIN, l.get())) {
    HZ_ERROR("bus: epoll_ctl(link to worker %u): %s", worker, strerror(errno));
    return;
  }
  Link& link = *l;
  links_[worker] = std::move(l);
  FrameHeader h;
  h.kind = static_cast<Kind>(BusKind::kHello);
  h.code = self_;
  h.session = event_mask_;
  uint8_t hdr[kHeaderSize];
  encode_header(h, hdr);
  link.out.append(hdr, kHeaderSize);
  schedule_flush(link);
}

void Bus::set_control(int fd) {
  control_ = std::make_unique<Control>(*this, fd);
  if (!loop_.add(fd, EPOLLIN, control_.get()))
    HZ_ERROR("bus: epoll_ctl(control): %s", strerror(errno));
}

void Bus::ready() {
  if (!control_) return;
  uint8_t msg = kCtlReady;
  ssize_t rc = ::send(control_->fd, &msg, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (rc != 1) HZ_WARN("bus: telling the master we serve: %s", strerror(errno));
}

Bus::Link* Bus::live(uint16_t worker) const {
  if (worker >= links_.size()) return nullptr;
  Link* l = links_[worker].get();
  return (l && l->hello_seen && !l->dead) ? l : nullptr;
}

bool Bus::up(uint16_t worker) const {
  if (worker == self_) return true;
  return remote_ ? remote_->peer_up(worker) : live(worker) != nullptr;
}

uint16_t Bus::links_up() const {
  if (remote_) return remote_->peers_up();
  uint16_t n = 0;
  for (uint16_t w = 0; w < links_.size(); ++w)
    if (live(w)) ++n;
  return n;
}

bool Bus::send(uint16_t worker, BusKind kind, uint16_t service, uint16_t code,
               uint32_t session, std::string_view a, std::string_view b,
               std::string_view c) {
  Link* l = remote_ ? nullptr : live(worker);
  if (l == nullptr && (remote_ == nullptr || worker == self_)) return false;
  size_t len = a.size() + b.size() + c.size();
  if (len > max_body_) return false;
  size_t total = kHeaderSize + len;
  // An empty ring takes any one frame: a link is judged by what piles up.
  if (l != nullptr && !l->out.empty() && l->out.size() + total > max_output_) {
    if (!l->flush() || l->out.size() + total > max_output_) return false;
  }
  FrameHeader h;
  h.kind = static_cast<Kind>(kind);
  h.service = service;
  h.code = code;
  h.session = session;
  h.length = static_cast<uint32_t>(len);
  uint8_t hdr[kHeaderSize];
  encode_header(h, hdr);
  if (l == nullptr) {
    // A cluster node: the remote carries the frame (and bounds its output).
    if (!remote_->send_frame(worker, {reinterpret_cast<char*>(hdr), kHeaderSize},
                             a, b, c))
      return false;
    ++stats_.frames_out;
    return true;
  }
  size_t limit = l->out.limit();
  l->out.set_limit(std::max(limit, l->out.size() + total));
  l->out.reserve(total);
  l->out.append(hdr, kHeaderSize);
  l->out.append(a.data(), a.size());
  l->out.append(b.data(), b.size());
  l->out.append(c.data(), c.size());
  l->out.set_limit(limit);
  ++stats_.frames_out;
  schedule_flush(*l);
  return true;
}

bool Bus::request(uint16_t worker, uint16_t service, uint16_t op,
                  uint32_t slot, uint32_t gen, ClientId on_behalf,
                  std::string_view body) {
  uint8_t pre[12];
  put_u32(pre, gen);
  put_u64(pre + 4, on_behalf);
  bool ok = send(worker, BusKind::kRequest, service, op, slot,
                 {reinterpret_cast<char*>(pre), sizeof pre}, body, {});
  if (!ok) ++stats_.refused;
  return ok;
}

bool Bus::reply(uint16_t worker, uint32_t slot, uint32_t gen, Status status,
                std::string_view body) {
  uint8_t pre[4];
  put_u32(pre, gen);
  bool ok = send(worker, BusKind::kReply, 0, static_cast<uint16_t>(status),
                 slot, {reinterpret_cast<char*>(pre), sizeof pre}, body, {});
  if (!ok) ++stats_.dropped;
  return ok;
}

bool Bus::deliver(uint16_t worker, const ClientId* ids, size_t n,
                  std::string_view frame) {
  // Ids go big-endian like every other field; a long list is sent in
  // pieces that each fit a bus frame.
  constexpr size_t kMaxIds = 32768;
  std::string& list = ids_;
  bool ok = true;
  for (size_t off = 0; off < n; off += kMaxIds) {
    size_t m = std::min(kMaxIds, n - off);
    list.resize(4 + 8 * m);
    auto* w = reinterpret_cast<uint8_t*>(list.data());
    put_u32(w, static_cast<uint32_t>(m));
    for (size_t i = 0; i < m; ++i) put_u64(w + 4 + 8 * i, ids[off + i]);
    if (!send(worker, BusKind::kDeliver, 0, 0, 0, list, frame, {})) {
      stats_.dropped += m;
      ok = false;
    }
  }
  return ok;
}

bool Bus::kick(uint16_t worker, ClientId client, std::string_view reason) {
  uint8_t id[8];
  put_u64(id, client);
  bool ok = send(worker, BusKind::kKick, 0, 0, 0,
                 {reinterpret_cast<char*>(id), sizeof id}, reason, {});
  if (!ok) ++stats_.dropped;
  return ok;
}

void Bus::broadcast_event(Event ev, ClientId client) {
  uint32_t bit = 1u << static_cast<int>(ev);
  uint8_t id[8];
  put_u64(id, client);
  if (remote_ != nullptr) {
    // Nodes run the same services: those that want it are told.
    if ((event_mask_ & bit) == 0) return;
    for (uint16_t w = 0; w < workers_; ++w)
      if (w != self_ && remote_->peer_up(w) &&
          !send(w, BusKind::kEvent, 0, static_cast<uint16_t>(ev), 0,
                {reinterpret_cast<char*>(id), sizeof id}, {}, {}))
        ++stats_.dropped;
    return;
  }
  for (uint16_t w = 0; w < links_.size(); ++w) {
    Link* l = live(w);
    if (l == nullptr || (l->peer_mask & bit) == 0) continue;
    if (!send(w, BusKind::kEvent, 0, static_cast<uint16_t>(ev), 0,
              {reinterpret_cast<char*>(id), sizeof id}, {}, {}))
      ++stats_.dropped;
  }
}

void Bus::on_frame(Link& l, const FrameHeader& h, const uint8_t* body) {
  auto kind = static_cast<BusKind>(h.kind);
  if (!l.hello_seen && kind != BusKind::kHello) {
    HZ_ERROR("bus: worker %u spoke before its HELLO: a bug", l.worker);
    drop(l, "no HELLO");
    return;
  }
  if (kind == BusKind::kHello) {
    if (h.code != l.worker) {
      HZ_ERROR("bus: link for worker %u says it is worker %u: a bug",
               l.worker, h.code);
      drop(l, "wrong worker");
      return;
    }
    l.peer_mask = h.session;
    if (!l.hello_seen) {
      l.hello_seen = true;
      sink_.on_link(l.worker, true);
    }
    return;
  }
  if (dispatch(l.worker, h, body)) return;
  HZ_ERROR("bus: malformed %u frame from worker %u: a bug; closing the link",
           static_cast<unsigned>(h.kind), l.worker);
  drop(l, "malformed frame");
}

bool Bus::on_remote_frame(uint16_t from, const uint8_t* frame, size_t n) {
  Decoded d = decode(frame, n, max_body_, Peer::kBus);
  bool ok = d.status == DecodeStatus::kFrame &&
            kHeaderSize + d.header.length == n &&
            static_cast<BusKind>(d.header.kind) != BusKind::kHello;
  if (ok) {
    ++stats_.frames_in;
    stats_.bytes_in += n;
    ok = dispatch(from, d.header, frame + kHeaderSize);
  }
  if (!ok)
    HZ_ERROR("bus: malformed frame from node %u (kind %u): a bug; dropped",
             from, n > 3 ? frame[3] : 0);
  return ok;
}

bool Bus::dispatch(uint16_t from, const FrameHeader& h, const uint8_t* body) {
  auto text = [&](size_t skip) {
    return std::string_view(reinterpret_cast<const char*>(body) + skip,
                            h.length - skip);
  };
  switch (static_cast<BusKind>(h.kind)) {
    case BusKind::kHello:
      return false;
    case BusKind::kRequest:
      if (h.length < 12) return false;
      sink_.on_bus_request(from, h.service, h.code, h.session, get_u32(body),
                           get_u64(body + 4), text(12));
      return true;
    case BusKind::kReply:
      if (h.length < 4) return false;
      sink_.on_bus_reply(from, h.session, get_u32(body),
                         static_cast<Status>(h.code), text(4));
      return true;
    case BusKind::kDeliver: {
      if (h.length < 4) return false;
      size_t n = get_u32(body);
      if ((h.length - 4) / 8 < n) return false;
      sink_.on_bus_deliver(from, body + 4, n, text(4 + 8 * n));
      return true;
    }
    case BusKind::kKick:
      if (h.length < 8) return false;
      sink_.on_bus_kick(from, get_u64(body), text(8));
      return true;
    case BusKind::kEvent:
      if (h.length < 8) return false;
      sink_.on_bus_event(from, static_cast<Event>(h.code), get_u64(body));
      return true;
  }
  return false;
}

void Bus::drop(Link& l, const char* why) {
  if (l.dead) return;
  l.dead = true;
  bool was_up = l.hello_seen;
  HZ_INFO("bus: link to worker %u down: %s", l.worker, why);
  ++stats_.links_lost;
  loop_.remove(l.fd);
  uint16_t worker = l.worker;
  // Freed after the turn: we may be inside its own callback.
  dead_.push_back(std::move(links_[worker]));
  if (was_up) sink_.on_link(worker, false);
}

void Bus::close_all() {
  end_turn();
  for (auto& l : links_)
    if (l) drop(*l, "this worker is stopping");
  dead_.clear();
}

void Bus::schedule_flush(Link& l) {
  if (l.in_flush) return;
  l.in_flush = true;
  flush_.push_back(&l);
}

void Bus::end_turn() {
  // Flushing never queues more bus frames, so one pass is enough.
  for (size_t i = 0; i < flush_.size(); ++i) {
    Link* l = flush_[i];
    l->in_flush = false;
    if (!l->dead) l->flush();
  }
  flush_.clear();
  dead_.clear();
}

}  // namespace hazel
