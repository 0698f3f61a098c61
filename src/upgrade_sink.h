// UpgradeSink: where the WebSocket port hands a connection once its
// opening handshake is done, to become a client. The HTTP side (ws_gateway)
// knows nothing of clients; the side that owns clients knows nothing of
// HTTP. Like GatewaySink, but for a socket that already speaks WebSocket.
#pragma once

#include <string_view>

namespace hazel {

class UpgradeSink {
 public:
  // Takes ownership of `fd`: a connected TCP socket, non-blocking,
  // close-on-exec, TCP_NODELAY, no longer registered with the loop, whose
  // "101 Switching Protocols" has been written in full. From here on both
  // directions carry WebSocket frames (RFC 6455) and each binary message is
  // one hazel frame (docs/PROTOCOL.md, WebSocket transport).
  //
  // `leftover`: bytes the client sent after its request head, already
  // read from the socket (the start of its first WebSocket frames; often
  // empty). Valid only during the call.
  virtual void on_upgrade(int fd, std::string_view leftover) = 0;

 protected:
  ~UpgradeSink() = default;
};

}  // namespace hazel
