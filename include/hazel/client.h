// A small blocking client for hazel protocol v1. Used by hazel-cli and the
// tests; fine for scripts and tools, not meant for high load (see
// tools/hazel-bench for that).
//
//   hazel::BlockingClient c;
//   std::string err;
//   if (!c.connect("127.0.0.1", 9000, &err)) die(err);
//   hazel::Frame reply;
//   if (!c.call(0, 1, "hi", &reply, 1000, &err)) die(err);   // sys PING
//
// PUSH frames that arrive while call() waits for its REPLY are queued and
// returned later by next_push(), in arrival order. A REPLY that answers no
// call() waiting for it (a late answer to a call() that gave up, or a
// second answer to one session) is kept too, never dropped: see
// unexpected_replies().
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "hazel/frame.h"

namespace hazel {

struct Frame {
  FrameHeader header;
  std::string body;

  Status status() const { return static_cast<Status>(header.code); }
  bool ok() const {
    return header.kind == Kind::kReply && header.code == 0;
  }
};

class BlockingClient {
 public:
  BlockingClient() = default;
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  // Resolves host (IPv4, IPv6 or name) and connects with a timeout.
  bool connect(const std::string& host, uint16_t port, std::string* err,
               int timeout_ms = 3000);
  void close();
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // Sends a REQUEST with a fresh session id and waits for the REPLY with
  // that session. A GOODBYE or EOF before it is an error (err says which).
  bool call(uint16_t service, uint16_t op, std::string_view body,
            Frame* reply, int timeout_ms, std::string* err);
  // One-way SEND.
  bool send(uint16_t service, uint16_t op, std::string_view body,
            std::string* err);
  // Writes bytes as they are (for tests of malformed input).
  bool write_raw(std::string_view bytes, std::string* err);

  // Next PUSH or GOODBYE (queued ones first). false on timeout, EOF or error.
  bool next_push(Frame* out, int timeout_ms, std::string* err);
  // Next frame of any kind from the wire (queued pushes first).
  bool read_frame(Frame* out, int timeout_ms, std::string* err);
  // Waits until the server closes the connection; true on EOF/RST.
  bool wait_closed(int timeout_ms);

  // The last GOODBYE seen, if any (kind == kGoodbye).
  const Frame& goodbye() const { return goodbye_; }
  bool got_goodbye() const { return goodbye_.header.kind == Kind::kGoodbye; }

  // REPLYs met while waiting for something else that answer no call() in
  // progress, in arrival order. read_frame() returns them (after queued
  // pushes) before reading the wire; take them to handle them.
  const std::deque<Frame>& unexpected_replies() const { return replies_; }
  std::deque<Frame> take_unexpected_replies();

  // Called, if set, with every unexpected REPLY as it arrives, on the
  // thread that read it (the tests make each one a failure). One hook for
  // every client of the process; nullptr removes it. Returns the old one.
  using UnexpectedReplyHook = void (*)(const Frame& reply);
  static UnexpectedReplyHook set_unexpected_reply_hook(UnexpectedReplyHook h);

 private:
  bool fill(int timeout_ms, std::string* err);
  bool take_frame(Frame* out, std::string* err);
  // Queues a frame read while waiting for another: a PUSH for next_push(),
  // a REPLY as unexpected.
  void keep(Frame&& f);

  int fd_ = -1;
  uint32_t next_session_ = 1;
  std::string in_;
  std::deque<Frame> pushes_;
  std::deque<Frame> replies_;  // unexpected REPLYs
  Frame goodbye_{};
};

}  // namespace hazel
