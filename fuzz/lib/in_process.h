// InProcessServer: a whole hazel daemon for fuzz targets, without a network.
// The built-in services are mounted (sys, echo, kv, room), nothing listens,
// the clock is manual, and each client is a socketpair whose server end is
// handed to the message module as an accepted connection
// (GatewaySink::on_accept). A target queues a client's bytes, settles the
// loop (turns until nothing moves: input written, events handled, output
// read) and looks at what each client received.
//
// Nothing waits on real time: turns never block, and time passes only by
// advance(). A run does the same on a loaded machine as on an idle one and
// takes a fraction of a millisecond, so a target runs thousands of times a
// second and every finding replays exactly.
//
// It depends on the daemon's construction, the loop's run_once() and manual
// clock, Message::on_accept(fd) and the public Context; nothing about how a
// client buffers its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hazel/config.h"
#include "hazel/daemon.h"
#include "hazel/frame.h"
#include "check.h"

namespace hazel {
class Loop;
}

namespace hazel::fuzz {

class InProcessServer {
 public:
  // `cfg` as given, except that signals are left alone and the built-in
  // services are mounted.
  explicit InProcessServer(Config cfg);
  // Closes every client, settles, destroys the daemon, and checks that it
  // closed every socket it held.
  ~InProcessServer();
  InProcessServer(const InProcessServer&) = delete;
  InProcessServer& operator=(const InProcessServer&) = delete;

  // A new client (appended: its index is clients() - 1). Both ends get
  // small socket buffers, so writes and reads come back partial and the
  // server's output backs up after a few KiB.
  size_t connect();
  // Queued for client i; settle() writes it as the socket takes it.
  void send(size_t i, std::string_view bytes);
  // Shuts client i's sending side once its queued bytes are written.
  void shut_write(size_t i);
  // Closes our end of client i at once; what was not written is lost.
  void close(size_t i);
  // A client that stops reading (and lets the server's output pile up).
  void set_reading(size_t i, bool on);
  // A client that reads at most `bytes` per turn (0: all there is), so the
  // server's writes come back partial and its output backs up.
  void set_read_limit(size_t i, size_t bytes);
  // A client that writes at most `bytes` per turn (0: all the socket
  // takes), so its input keeps arriving while its output is pending.
  void set_write_limit(size_t i, size_t bytes);

  // Turns until nothing moves (no byte written or read, no event) twice in
  // a row. A loop that never goes quiet is a finding.
  void settle();
  // Moves the manual clock (timers fire in the next turn), then settles.
  void advance(uint64_t ms);

  size_t clients() const { return clients_.size(); }
  // What client i has received and the caller has not taken yet.
  std::string& received(size_t i) { return clients_[i].rx; }
  // The server closed client i's connection (read returned 0 or reset).
  bool closed_by_server(size_t i) const { return clients_[i].eof; }
  bool open(size_t i) const { return clients_[i].fd >= 0; }

  Daemon& daemon() { return *daemon_; }
  Loop& loop();

 private:
  struct End {
    int fd = -1;         // our end
    int server_fd = -1;  // the end the daemon owns
    std::string tx;      // not yet written
    size_t tx_off = 0;
    std::string rx;      // received, not yet taken
    bool shut_pending = false;
    bool reading = true;
    size_t read_limit = 0;
    size_t write_limit = 0;
    bool eof = false;
  };
  size_t write_some(End& p);
  size_t read_some(End& p);

  std::unique_ptr<Daemon> daemon_;
  std::vector<End> clients_;
};

// Takes one whole frame from the front of `rx`, decoded as a client decodes
// a server's stream; false if no whole frame is there yet. A stream that
// does not decode is a finding.
bool take_frame(std::string& rx, uint32_t max_frame, FrameHeader* h,
                std::string* body);

}  // namespace hazel::fuzz
