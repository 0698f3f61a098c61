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

#include <cstdint>
#include <string_view>

#include "hazel/frame.h"
#include "hazel/service.h"
#include "loop.h"
#include "ring_buffer.h"
#include "timer_wheel.h"

namespace hazel {

class Message;

class Client final : public IoHandler {
 public:
  enum class State : uint8_t { kOpen, kClosing, kClosed };
  enum class Flush : uint8_t { kDone, kPending, kError };

  Client(Message& msg, int fd, ClientId id, size_t max_input,
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
  // end-of-turn write. Call fits() first.
  void queue(const FrameHeader* h, std::string_view a, std::string_view b);
  size_t pending_output() const { return out_.size(); }
  // One writev of everything pending.
  Flush flush();
  bool has_output() const { return !out_.empty(); }
  // Drops pending output (a jammed client is closed without it).
  void drop_output() { out_.consume(out_.size()); }
  void release_buffers() {
    in_.release_if_empty();
    out_.release_if_empty();
  }

  int fd() const { return fd_; }
  ClientId id() const { return id_; }
  State state() const { return state_; }
  void set_state(State s) { state_ = s; }
  RingBuffer& input() { return in_; }
  Message& msg() { return msg_; }

  uint32_t epoll_events = 0;     // what is registered now
  uint64_t last_active_ms = 0;   // last input (or output taken, if paused)
  uint32_t async_pending = 0;    // requests to be answered later
  uint32_t remote_pending = 0;   // ... by another worker (forwarded)
  uint64_t held_turn = 0;        // last turn its output was held back
  Client* next_held = nullptr;   // intrusive: output held for one turn
  bool input_closed = false;     // peer shut its side; replies still due
  bool paused = false;           // input held back until output drains
  TimerNode timer;               // idle check while open, linger after
  Client* next_flush = nullptr;  // intrusive: clients with output this turn
  bool in_flush_list = false;
  Client* next_dead = nullptr;   // intrusive: closed, freed at end of turn

 private:
  Message& msg_;
  int fd_;
  ClientId id_;
  State state_ = State::kOpen;
  RingBuffer in_;   // a partial frame, or frames held back while paused
  RingBuffer out_;  // frames not yet taken by the kernel
};

}  // namespace hazel
