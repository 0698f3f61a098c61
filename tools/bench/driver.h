// The sockets of a run and the one epoll loop that drives them: opening
// connections (a few hundred at a time), reading into one buffer shared by
// all of them, writing what is queued. It knows nothing of protocols: what
// the bytes mean is its DriverSink's business.
//
// One thread, level-triggered. Connections are known by index, 0..n-1.
#pragma once

#include <netdb.h>
#include <signal.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hazel_bench {

// What the driver tells the code that speaks the protocol.
class DriverSink {
 public:
  // The connection is up: queue what it sends first (Driver::output).
  virtual void on_connected(size_t conn) = 0;
  // Bytes arrived; returns how many were used. The rest (an incomplete
  // message) is kept and offered again, in front of the next bytes.
  virtual size_t on_input(size_t conn, const uint8_t* p, size_t n) = 0;
  // The connection cannot be used any more: the server closed it, or a read
  // or write failed.
  virtual void on_broken(size_t conn, const char* what) = 0;
  // When the loop must wake up at the latest (CLOCK_MONOTONIC ns), and what
  // to do then; on_wakeup also runs after every batch of events.
  virtual uint64_t next_wakeup_ns() const = 0;
  virtual void on_wakeup(uint64_t now) = 0;

 protected:
  ~DriverSink() = default;
};

class Driver {
 public:
  // `addr` must outlive the driver. Errors that leave nothing to measure
  // (no epoll, no socket, a refused connection) end the process via fatal().
  Driver(const addrinfo& addr, std::string server_name, size_t connections,
         DriverSink& sink);
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Connects and runs until stop() or until `interrupted` is set.
  void run(const volatile sig_atomic_t& interrupted);
  void stop() { stop_ = true; }
  bool stopped() const { return stop_; }

  size_t size() const { return socks_.size(); }
  // Bytes queued for `conn`; flush() writes them, and the driver flushes by
  // itself after on_connected and on_input.
  std::string& output(size_t conn) { return socks_[conn].out; }
  void flush(size_t conn);
  // The connection's setup is answered: the server has accepted it, so it no
  // longer counts against the number of connections opening at once.
  void opened() { --opening_; }

 private:
  struct Socket {
    int fd = -1;
    bool connected = false;
    bool want_out = false;  // EPOLLOUT is registered
    std::string in;         // an incomplete message carried to the next read
    std::string out;        // bytes not yet written
    size_t out_off = 0;
  };

  void start_connect(size_t i);
  void on_event(size_t i, uint32_t events);
  void on_readable(size_t i);
  void want_output(size_t i, bool on);
  int timeout_ms(uint64_t now) const;

  const addrinfo& addr_;
  const std::string server_name_;  // host:port, for messages
  DriverSink& sink_;
  std::vector<Socket> socks_;
  std::vector<uint8_t> rbuf_;  // one receive buffer for every connection
  int epfd_ = -1;
  size_t next_connect_ = 0;
  size_t opening_ = 0;  // connects started, setup not yet answered
  bool stop_ = false;
};

}  // namespace hazel_bench
