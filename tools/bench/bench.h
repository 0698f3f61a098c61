// The closed loop: every connection keeps exactly `depth` requests in flight
// and sends a new one only when a reply comes back, so the rate reported is
// what the server sustains, not what the generator pushes. Latency is
// measured per request, from the moment it is queued to the moment its reply
// is read, with a FIFO of send times on each connection.
//
// A run has three phases: setup (connect, then the untimed requests a mode
// needs: SET the keys, JOIN the room, HELLO), a barrier once every
// connection is set up, then warmup and the measured window. Every reply is
// checked (bench/verify.h); a mismatch is counted, shown, and makes the exit
// status 1.
//
// bench.cpp holds the phases, the requests and the accounting; bench_wire.cpp
// takes replies off the wire and matches them to the requests in flight.
#pragma once

#include <netdb.h>
#include <signal.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/driver.h"
#include "bench/histogram.h"
#include "bench/options.h"
#include "bench/pending_queue.h"
#include "bench/report.h"
#include "bench/server_cpu.h"
#include "bench/workload.h"
#include "hazel/frame.h"

namespace hazel_bench {

class Bench final : public DriverSink {
 public:
  Bench(const Options& o, const addrinfo& addr);

  // Runs to the end, prints the summary and returns the exit status.
  int run(const volatile sig_atomic_t& interrupted);

 private:
  enum class Role : uint8_t { kWorker, kMember, kPublisher };

  // Which setup request a pending entry is (Pending::setup; 0 = timed).
  enum SetupTag : uint8_t {
    kTimed = 0,
    kSetupSet,    // kv SET of a key the run will GET
    kSetupHello,  // sys HELLO: client id and worker
    kSetupJoin,   // room JOIN
    kSetupPing,   // idle: the one PING
    kSetupResp,   // any RESP setup command
    kSetupAuth,   // sys AUTH with --token
  };

  struct Conn {
    Role role_ = Role::kWorker;
    bool ready_ = false;  // connected and every setup reply is in
    uint32_t next_session_ = 1;
    uint64_t next_seq_ = 0;  // publisher: sequence stamped into the next publish
    uint64_t expect_seq_ = 0;  // member: sequence the next delivery should carry
    size_t raw_echoed_ = 0;    // raw: bytes of the oldest chunk echoed so far
    bool raw_bad_ = false;     // raw: the oldest chunk came back different
    bool upgraded_ = false;    // --ws: the server answered 101
    PendingQueue pending_;
    // From HELLO, in the modes that say it (publish, tell).
    bool said_hello_ = false;
    uint64_t client_id_ = 0;
    uint32_t worker_ = 0;
    // tell: whom this connection TELLs, and who TELLs it.
    uint64_t tell_target_ = 0;
    std::vector<uint64_t> tell_senders_;
  };

  // DriverSink
  void on_connected(size_t i) override;
  size_t on_input(size_t i, const uint8_t* p, size_t n) override;
  void on_broken(size_t i, const char* what) override;
  uint64_t next_wakeup_ns() const override;
  void on_wakeup(uint64_t now) override;

  void start_run(uint64_t now);
  void all_set_up();
  void pair_tells();
  void sample_cpu(std::optional<CpuSample>* into);

  size_t consume_ws(Conn& c, const uint8_t* p, size_t n);
  size_t consume_hazel(Conn& c, const uint8_t* p, size_t n);
  size_t consume_resp(Conn& c, const uint8_t* p, size_t n);
  size_t consume_raw(Conn& c, const uint8_t* p, size_t n);
  void on_frame(Conn& c, const hazel::FrameHeader& f, std::string_view body);
  void on_hazel_reply(Conn& c, const hazel::FrameHeader& f,
                      std::string_view body);
  void on_hazel_push(Conn& c, const hazel::FrameHeader& f,
                     std::string_view body);
  void on_resp_value(Conn& c, std::string_view bytes);
  bool check_setup_reply(Conn& c, uint8_t setup, const hazel::FrameHeader& f,
                         std::string_view body, std::string* why);

  void append_setup(Conn& c);
  // --ws: out[at, end), one frame just queued, becomes one message.
  void seal(std::string& out, size_t at);
  void append_request(Conn& c);
  void fill(Conn& c);
  void complete(Conn& c, const Pending& p, bool ok, const std::string& why);
  void setup_done(Conn& c, bool ok, const std::string& why);
  void deliver(Conn& c, bool ok, const std::string& why);

  void count_error(const Conn& c, const std::string& why);
  void count_lost_replies(uint64_t end_ns);
  void fail(Conn& c, const char* fmt, ...)
      __attribute__((format(printf, 3, 4)));
  size_t index_of(const Conn& c) const {
    return static_cast<size_t>(&c - conns_.data());
  }
  bool measuring() const {
    return running_ && now_ >= measure_start_ns_ && now_ < measure_end_ns_;
  }

  Summary summarize(uint64_t end_ns) const;

  const Options& opt_;
  const Shape shape_;
  const Wire wire_;
  Workload work_;
  std::vector<Conn> conns_;
  Driver driver_;

  uint64_t now_ = 0;  // time of the read being handled, shared by its replies
  uint32_t mask_state_ = 0x9e3779b9;  // --ws: masking keys
  size_t ready_ = 0;
  size_t next_request_ = 0;  // which of work_.requests goes out next
  bool running_ = false;     // the barrier has passed: timed requests flow
  bool broken_ = false;      // a connection failed: the result is not valid
  uint64_t begin_ns_ = 0;
  uint64_t setup_deadline_ns_ = 0;
  uint64_t run_start_ns_ = 0;
  uint64_t measure_start_ns_ = 0;
  uint64_t measure_end_ns_ = 0;
  uint64_t next_tick_ns_ = 0;
  unsigned tick_second_ = 0;

  Histogram latency_;
  uint64_t requests_ = 0;
  uint64_t deliveries_ = 0;
  uint64_t errors_ = 0;
  uint64_t tick_count_ = 0;  // replies or deliveries since the last progress
  // --server-pid: CPU samples at the start and the end of the timed window.
  bool cpu_started_ = false;
  std::optional<CpuSample> cpu_start_;
  std::optional<CpuSample> cpu_end_;
  std::vector<size_t> per_worker_;
};

}  // namespace hazel_bench
