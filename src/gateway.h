// Gateway: the listening socket. Accepts connections until EAGAIN and hands
// each accepted fd to its sink, which turns it into a client. The gateway
// keeps no client list: once handed over, a connection is not its business.
#pragma once

#include <cstdint>
#include <string>

#include "loop.h"

namespace hazel {

class GatewaySink {
 public:
  // Takes ownership of `fd` (non-blocking, close-on-exec, TCP_NODELAY set).
  virtual void on_accept(int fd) = 0;

 protected:
  ~GatewaySink() = default;
};

// A non-blocking, close-on-exec socket listening on `addr:port` (IPv4 or
// IPv6 literal) with SO_REUSEADDR, and SO_REUSEPORT if asked; -1 and `err`
// ("bind 0.0.0.0:9000: Address already in use") on failure.
int listen_socket(const std::string& addr, uint16_t port, bool reuse_port,
                  uint16_t* bound_port, std::string* err);

class Gateway final : public IoHandler {
 public:
  Gateway(Loop& loop, GatewaySink& sink) : loop_(loop), sink_(sink) {}
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds `addr:port` (IPv4 or IPv6 literal) with SO_REUSEADDR, and
  // SO_REUSEPORT if asked, and starts listening.
  // err: "bind 0.0.0.0:9000: Address already in use".
  bool listen(const std::string& addr, uint16_t port, bool reuse_port,
              std::string* err);
  // Takes a socket that is already listening (a worker's, opened by its
  // master), instead of listen().
  bool adopt(int fd, std::string* err);
  // Registers with the loop; accepting starts on the next turn.
  bool start(std::string* err);
  // Stops accepting and closes the listening socket.
  void close_listener();
  uint16_t port() const { return port_; }

  void on_io(uint32_t events) override;

 private:
  void on_emfile();
  static void on_resume(TimerNode* n);

  Loop& loop_;
  GatewaySink& sink_;
  int fd_ = -1;
  int spare_fd_ = -1;  // given up on EMFILE to accept-and-close
  uint16_t port_ = 0;
  uint64_t emfile_logged_ms_ = 0;  // rate limit for the EMFILE warning
  uint64_t emfile_shed_ = 0;       // connections shed since that warning
  bool emfile_seen_ = false;
  TimerNode resume_;  // re-enables accepting after a pause without a spare
};

}  // namespace hazel
