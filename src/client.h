// Client: one accepted connection as the server holds it. Outside the message
// module a client is known only by its id.
//
// Life of a client:
//
//   accept ──► kOpen ──(GOODBYE queued / peer EOF)──► kClosing ──► closed
//                │                                      (flush, then close;
//                └──(reset, slow, flush done)───────────► at most a linger)
//
// A client leaves the id table (and services get DISCONNECT) the moment it
// leaves kOpen; the object itself is freed at the end of the loop turn, since
// we may be inside its own callback.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string_view>

#include "hazel/frame.h"
#include "hazel/service.h"
#include "input_buffer.h"
#include "loop.h"
#include "ring_buffer.h"
#include "timer_wheel.h"
#include "websocket.h"

namespace hazel {

class Message;

// What all clients of one loop hold, kept up to date by the clients
// themselves: the input and output budgets are judged against it.
struct ClientMemory {
  size_t input = 0;   // bytes of input arrays held (unfinished frames)
  size_t output = 0;  // bytes of output queued and not yet written
};

class Client final : public IoHandler {
 public:
  enum class State : uint8_t { kOpen, kClosing, kClosed };
  enum class Flush : uint8_t { kDone, kPending, kError };

  Client(Message& msg, ClientMemory& mem, int fd, ClientId id,
         size_t max_output);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void on_io(uint32_t events) override;

  // True if `n` more bytes of output fit under the limit. An empty ring
  // takes any one frame: a client is judged slow by what piles up, not by
  // the size of a single answer.
  bool fits(size_t n) const {
    return out_.empty() || out_.size() + n <= out_.limit();
  }
  // Queues one frame (the header, if any, then the parts) for the
  // end-of-turn write. Call fits() first. A WebSocket client gets it as one
  // binary message.
  void queue(const FrameHeader* h, std::string_view a, std::string_view b);
  // Queues a WebSocket control frame (a Pong), or bytes already framed.
  void queue_control(ws::Opcode op, std::string_view payload);
  void queue_raw(std::string_view bytes) { append({}, bytes, {}); }
  // Writes one frame straight from where it lies (nothing may be queued):
  // the bytes the kernel took, or -1 if the connection failed. `flags` may
  // add MSG_MORE (then set `corked`, and uncork() once no more follows).
  ssize_t write_now(const FrameHeader* h, std::string_view a,
                    std::string_view b, int flags = 0);
  // Queues what write_now() left of the frame: all but its first `skip`
  // bytes.
  void queue_rest(size_t skip, const FrameHeader* h, std::string_view a,
                  std::string_view b);
  size_t pending_output() const { return out_.size(); }
  // One writev of everything pending.
  Flush flush();
  bool has_output() const { return !out_.empty(); }
  // Drops pending output (a jammed client is closed without it).
  void drop_output() {
    mem_.output -= out_.size();
    out_.consume(out_.size());
    head_left_ = 0;
  }
  // Drops pending output but the rest of a frame partly written, so that
  // a GOODBYE queued after it starts on a frame boundary.
  void cut_output() {
    size_t keep = std::min(head_left_, out_.size());
    mem_.output -= out_.size() - keep;
    out_.truncate(keep);
  }
  size_t output_capacity() const { return out_.capacity(); }
  void release_output() { out_.release_if_empty(); }

  // Input not handled yet (see InputBuffer); reserve_input() and
  // release_input() keep ClientMemory::input equal to what is held.
  InputBuffer& input() { return in_; }
  void reserve_input(size_t total) {
    size_t before = in_.capacity();
    in_.reserve(total);
    mem_.input += in_.capacity();
    mem_.input -= before;
  }
  void release_input() {
    mem_.input -= in_.capacity();
    in_.release();
  }

  int fd() const { return fd_; }
  ClientId id() const { return id_; }
  State state() const { return state_; }
  void set_state(State s) { state_ = s; }
  Message& msg() { return msg_; }

  uint32_t epoll_events = 0;     // what is registered now
  uint64_t last_active_ms = 0;   // last input (or output taken, if paused)
  uint32_t async_pending = 0;    // requests to be answered later
  uint32_t remote_pending = 0;   // ... by another worker (forwarded)
  uint64_t held_turn = 0;        // last turn its output was held back
  Client* next_held = nullptr;   // intrusive: output held for one turn
  bool input_closed = false;     // peer shut its side; replies still due
  bool paused = false;           // input held back until output drains
  bool corked = false;  // a write_now() was sent with MSG_MORE
  // Pushes out what MSG_MORE held back (TCP_NODELAY set again sends it).
  void uncork();
  bool large_frames = false;     // its last frame was large (read_input)
  bool lingering = false;        // closing, its last output not yet taken
  bool was_sending = false;      // closed mid-frame, or in a turn it sent
  bool draining = false;         // closing, output done, its input dropped
  size_t drained = 0;            // bytes read and dropped while closing
  TimerNode timer;               // idle check while open, linger after
  Client* next_flush = nullptr;  // intrusive: clients with output this turn
  bool in_flush_list = false;
  Client* next_dead = nullptr;   // intrusive: closed, freed at end of turn

  // The frame at the head of the input whose end is awaited: its total
  // size (0 = none) and when its header arrived (for --body-timeout).
  size_t frame_total = 0;
  uint64_t frame_started_ms = 0;
  uint64_t last_output_ms = 0;   // last output queued (buffer keep-alive)
  // Intrusive list of clients holding buffer memory (see Message::sweep).
  Client* holder_prev = nullptr;
  Client* holder_next = nullptr;
  bool holding = false;
  // Set for a client on the WebSocket port: its input is WebSocket frames,
  // each binary message one hazel frame, and its output likewise.
  std::unique_ptr<ws::Reader> ws;
  uint16_t ws_close_code = 0;  // the Close its GOODBYE gets, if not the usual

 private:
  Message& msg_;
  ClientMemory& mem_;
  int fd_;
  ClientId id_;
  State state_ = State::kOpen;
  // The bytes that go before a frame's parts: the WebSocket header (for a
  // WebSocket client), then the hazel header (if any).
  static constexpr size_t kMaxPrefix = ws::kMaxHeader + kHeaderSize;
  size_t prefix(const FrameHeader* h, size_t body, uint8_t* out) const;
  void append(std::string_view pre, std::string_view a, std::string_view b);
  // Walks the frame boundaries over the next `n` bytes to be written.
  void advance_output(size_t n);
  // Size of the frame (or WebSocket frame) `off` bytes into the output.
  size_t unit_size(size_t off) const;

  InputBuffer in_;  // a partial frame, or frames held back while paused
  RingBuffer out_;  // frames not yet taken by the kernel
  size_t head_left_ = 0;  // bytes of a frame partly written, at out_'s head
};

}  // namespace hazel
