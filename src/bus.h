// Bus: this worker's links to the other worker processes of one server.
//
//            master (makes every socketpair, holds no link itself)
//             │ control channel per worker: new link fds (SCM_RIGHTS)
//     ┌───────┼────────┐
//   worker 0 ─── worker 1        every pair of workers has one Unix stream
//      └──── worker 2 ──┘        socketpair: no path, no name, nobody else
//                                can connect
//
// A link carries bus frames: the hazel codec's 16-byte header (magic,
// version, length checked against the bus's max frame) with the bus-only
// kinds below. A malformed bus frame is a bug in hazel, not a client's
// mistake: it is logged, the link is closed and what was pending on it
// fails, as if the other worker had died.
//
// Output is corked like a client's: frames queued during a turn are written
// at its end. Each link has an output limit; a send past it is refused (the
// caller answers BUSY or drops and counts), so one slow worker never makes
// another grow without bound.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hazel/frame.h"
#include "hazel/service.h"
#include "loop.h"
#include "ring_buffer.h"

namespace hazel {

// Bus frame kinds (kBusKindFirst..kBusKindLast of hazel/frame.h).
enum class BusKind : uint8_t {
  // service, code = op, session = caller's slot;
  // body = u32 caller's generation, u64 client on whose behalf, request body.
  kRequest = 16,
  // code = status, session = caller's slot; body = u32 generation, body.
  kReply = 17,
  // body = u32 n, n × u64 client ids, one whole encoded client frame.
  kDeliver = 18,
  // body = u64 client id, reason text.
  kKick = 19,
  // code = event; body = u64 client id.
  kEvent = 20,
  // First frame on a link; code = sender's worker index, session = the
  // event mask of clients it wants to hear about (kEventRemoteDisconnect).
  kHello = 21,
};

// Where incoming bus traffic goes (the daemon's core).
class BusSink {
 public:
  virtual void on_bus_request(uint16_t from, uint16_t service, uint16_t op,
                              uint32_t slot, uint32_t gen, ClientId on_behalf,
                              std::string_view body) = 0;
  virtual void on_bus_reply(uint16_t from, uint32_t slot, uint32_t gen,
                            Status status, std::string_view body) = 0;
  virtual void on_bus_deliver(uint16_t from, const uint8_t* ids, size_t n,
                              std::string_view frame) = 0;
  virtual void on_bus_kick(uint16_t from, ClientId client,
                           std::string_view reason) = 0;
  virtual void on_bus_event(uint16_t from, Event ev, ClientId client) = 0;
  // A link came up (HELLO received) or went down (EOF, error, replaced).
  virtual void on_link(uint16_t worker, bool up) = 0;

 protected:
  ~BusSink() = default;
};

// Peers that are not reached over this host's links: with --cluster, the
// other nodes, through Redis (src/cluster). Bus frames go to them whole.
class BusRemote {
 public:
  virtual bool peer_up(uint16_t peer) const = 0;
  virtual uint16_t peers_up() const = 0;
  // One bus frame (header, then the body in parts); false if not taken.
  virtual bool send_frame(uint16_t peer, std::string_view header,
                          std::string_view a, std::string_view b,
                          std::string_view c) = 0;

 protected:
  ~BusRemote() = default;
};

struct BusStats {
  uint64_t frames_in = 0;
  uint64_t frames_out = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t dropped = 0;  // one-way frames refused: link down or full
  uint64_t refused = 0;  // requests refused: link down or full
  uint64_t links_lost = 0;
};

class Bus {
 public:
  // Every link holds at most `max_output` pending bytes. Bus frames may be
  // as large as a client frame plus the bus's own fields.
  Bus(Loop& loop, BusSink& sink, uint32_t max_frame, size_t max_output);
  ~Bus();
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // Sets this worker's place; `event_mask` is what it wants to hear about
  // other workers' clients (sent in HELLO).
  void configure(uint16_t self, uint16_t workers, uint32_t event_mask);
  // From here on every peer is reached through `remote` (and links the
  // master hands over are closed): the peers are cluster nodes.
  void set_remote(BusRemote* remote) { remote_ = remote; }
  // A whole bus frame from peer `from` of the remote; a malformed one is
  // logged and dropped (false).
  bool on_remote_frame(uint16_t from, const uint8_t* frame, size_t n);
  // Takes a connected link to `worker` (replacing an older one). Its HELLO
  // is sent at once; on_link(up) follows the peer's HELLO.
  void attach(uint16_t worker, int fd);
  // The master's control channel: new links arrive on it; `ready()` tells
  // the master this worker serves.
  void set_control(int fd);
  void ready();

  uint16_t self() const { return self_; }
  uint16_t workers() const { return workers_; }
  bool up(uint16_t worker) const;
  uint16_t links_up() const;

  // Senders. False when the link is down or past its output limit.
  bool request(uint16_t worker, uint16_t service, uint16_t op, uint32_t slot,
               uint32_t gen, ClientId on_behalf, std::string_view body);
  bool reply(uint16_t worker, uint32_t slot, uint32_t gen, Status status,
             std::string_view body);
  // `frame` is one whole encoded frame, queued as is to every listed client.
  bool deliver(uint16_t worker, const ClientId* ids, size_t n,
               std::string_view frame);
  bool kick(uint16_t worker, ClientId client, std::string_view reason);
  // Tells every worker that asked for `ev` about `client`.
  void broadcast_event(Event ev, ClientId client);

  // Writes what the turn queued.
  void end_turn();
  // Closes every link (a stopping worker): the others fail what waits on us.
  void close_all();
  const BusStats& stats() const { return stats_; }

 private:
  class Link;
  class Control;
  friend class Link;
  friend class Control;

  Link* live(uint16_t worker) const;
  bool send(uint16_t worker, BusKind kind, uint16_t service, uint16_t code,
            uint32_t session, std::string_view a, std::string_view b,
            std::string_view c);
  void on_frame(Link& l, const FrameHeader& h, const uint8_t* body);
  // Hands one frame (not HELLO) to the sink; false if it is malformed.
  bool dispatch(uint16_t from, const FrameHeader& h, const uint8_t* body);
  void drop(Link& l, const char* why);
  void schedule_flush(Link& l);

  Loop& loop_;
  BusSink& sink_;
  uint32_t max_body_;
  size_t max_output_;
  uint16_t self_ = 0;
  uint16_t workers_ = 1;
  uint32_t event_mask_ = 0;
  std::vector<std::unique_ptr<Link>> links_;  // by worker index
  std::vector<std::unique_ptr<Link>> dead_;   // freed at the end of a turn
  std::vector<Link*> flush_;
  std::unique_ptr<Control> control_;
  std::unique_ptr<uint8_t[]> scratch_;  // a frame straddling a ring's wrap
  std::string ids_;                     // a DELIVER's id list, reused
  BusStats stats_;
  BusRemote* remote_ = nullptr;
};

}  // namespace hazel
