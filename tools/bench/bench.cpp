#include "bench/bench.h"

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "bench/clock.h"
#include "bench/exit.h"
#include "bench/peers.h"
#include "bench/bench_resp.h"
#include "bench/ws.h"
#include "hazel/builtins.h"

namespace hazel_bench {

namespace {

using hazel::Kind;

constexpr double kSetupTimeoutSec = 30.0;
constexpr uint64_t kMaxErrorReports = 5;

std::string server_name(const Options& o) {
  return o.host + ":" + std::to_string(o.port);
}

double ns_to_us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

}  // namespace

Bench::Bench(const Options& o, const addrinfo& addr)
    : opt_(o),
      shape_(o.mode->shape),
      wire_(o.mode->wire),
      work_(make_workload(o)),
      conns_(o.connections + (o.mode->shape == Shape::kFanOut ? 1 : 0)),
      driver_(addr, server_name(o), conns_.size(), *this) {
  if (shape_ == Shape::kFanOut) {
    for (size_t i = 0; i < o.connections; ++i) conns_[i].role_ = Role::kMember;
    conns_.back().role_ = Role::kPublisher;
  }
}

int Bench::run(const volatile sig_atomic_t& interrupted) {
  if (opt_.server_pid != 0) {
    std::string why;
    if (!sample_server_cpu(opt_.server_pid, &why)) {
      fatal("--server-pid: %s", why.c_str());
    }
  }
  begin_ns_ = now_ns();
  setup_deadline_ns_ = begin_ns_ + seconds_to_ns(kSetupTimeoutSec);
  driver_.run(interrupted);

  uint64_t end = std::min(now_ns(), measure_end_ns_);
  if (cpu_started_) sample_cpu(&cpu_end_);
  if (running_) count_lost_replies(end);
  if (!running_) {
    if (!broken_) {
      std::fprintf(stderr, "hazel-bench: interrupted before the run started\n");
    }
    return kExitFailed;
  }
  Summary s = summarize(end);
  if (opt_.json) {
    print_json(opt_, s);
  } else {
    print_summary(opt_, s);
  }
  return (errors_ > 0 || broken_) ? kExitFailed : kExitOk;
}

// ---- phases -------------------------------------------------------------------

uint64_t Bench::next_wakeup_ns() const {
  if (!running_) return setup_deadline_ns_;
  uint64_t next = std::min(next_tick_ns_, measure_end_ns_);
  if (!cpu_started_) next = std::min(next, measure_start_ns_);
  return next;
}

// Progress lines and the end of the run. Phase changes within a second are
// judged per reply by measuring(); here only whole seconds matter, and the
// server's CPU clock is read as the timed window opens.
void Bench::on_wakeup(uint64_t now) {
  if (!running_) {
    if (now >= setup_deadline_ns_) {
      fatal("setup did not finish in %.0f s: %zu of %zu connections ready",
            kSetupTimeoutSec, ready_, conns_.size());
    }
    return;
  }
  if (!cpu_started_ && now >= measure_start_ns_) {
    cpu_started_ = true;
    sample_cpu(&cpu_start_);
  }
  while (now >= next_tick_ns_ && next_tick_ns_ <= measure_end_ns_) {
    ++tick_second_;
    if (!opt_.quiet && shape_ != Shape::kIdle) {
      std::fprintf(stderr, "[%3us] %" PRIu64 " %s/s  errors %" PRIu64 "%s\n",
                   tick_second_, tick_count_,
                   shape_ == Shape::kFanOut ? "deliveries" : "req", errors_,
                   next_tick_ns_ <= measure_start_ns_ ? "  (warmup)" : "");
    }
    tick_count_ = 0;
    next_tick_ns_ += kNsPerSec;
  }
  if (now >= measure_end_ns_) driver_.stop();
}

void Bench::sample_cpu(std::optional<CpuSample>* into) {
  if (opt_.server_pid == 0) return;
  std::string why;
  *into = sample_server_cpu(opt_.server_pid, &why);
  if (!*into) std::fprintf(stderr, "hazel-bench: server cpu: %s\n", why.c_str());
}

// Every connection is up and set up: learn who is where, then start.
void Bench::all_set_up() {
  std::vector<uint32_t> workers;
  for (const Conn& c : conns_) {
    if (c.said_hello_ && c.role_ != Role::kPublisher) workers.push_back(c.worker_);
  }
  if (!workers.empty()) {
    per_worker_ = count_per_worker(workers);
    if (!opt_.quiet) {
      std::fprintf(stderr, "%zu %s by worker: %s\n", workers.size(),
                   shape_ == Shape::kFanOut ? "members" : "connections",
                   describe_per_worker(per_worker_).c_str());
    }
  }
  if (opt_.mode->mode == Mode::kTell) pair_tells();
  start_run(now_ns());
}

void Bench::pair_tells() {
  std::vector<uint32_t> workers;
  for (const Conn& c : conns_) workers.push_back(c.worker_);
  std::string why;
  std::vector<size_t> target = plan_tells(workers, opt_.peer, &why);
  if (target.empty()) fatal("tell: %s", why.c_str());
  for (size_t i = 0; i < conns_.size(); ++i) {
    conns_[i].tell_target_ = conns_[target[i]].client_id_;
    conns_[target[i]].tell_senders_.push_back(conns_[i].client_id_);
  }
}

// Start the clock and fill the pipes.
void Bench::start_run(uint64_t now) {
  running_ = true;
  run_start_ns_ = now;
  next_tick_ns_ = now + kNsPerSec;
  measure_start_ns_ = now + seconds_to_ns(opt_.warmup);
  if (shape_ == Shape::kIdle) measure_start_ns_ = now;
  measure_end_ns_ = measure_start_ns_ + seconds_to_ns(opt_.seconds);
  now_ = now;
  if (shape_ == Shape::kIdle) {
    if (!opt_.quiet) {
      std::fprintf(stderr, "holding %zu connections for %g s\n", conns_.size(),
                   opt_.seconds);
    }
    return;
  }
  for (Conn& c : conns_) {
    fill(c);
    driver_.flush(index_of(c));
  }
}

// ---- input --------------------------------------------------------------------

void Bench::on_connected(size_t i) {
  Conn& c = conns_[i];
  now_ = now_ns();
  if (opt_.ws && !c.upgraded_) {  // the setup follows the 101
    driver_.output(i) += ws::upgrade_request(server_name(opt_), ws::key_for(i));
    return;
  }
  append_setup(c);
  if (c.pending_.empty()) setup_done(c, true, "");
}

void Bench::on_broken(size_t i, const char* what) {
  fail(conns_[i], "%s", what);
}

// ---- requests and accounting ----------------------------------------------------

// The untimed requests a connection needs before the run: the values to GET,
// room membership, who is where (HELLO), the idle mode's single ping; first
// of all AUTH, with --token.
void Bench::append_setup(Conn& c) {
  std::string& out = driver_.output(index_of(c));
  auto queue_hazel = [&](uint8_t tag, uint16_t service, uint16_t op,
                         std::string_view body) {
    uint32_t session = c.next_session_++;
    size_t at = out.size();
    out += hazel::encode_frame(Kind::kRequest, service, op, session, body);
    seal(out, at);
    c.pending_.push({now_, session, tag});
  };
  auto queue_resp = [&](const std::string& command) {
    out += command;
    c.pending_.push({now_, 0, kSetupResp});
  };
  // Keys to GET are SET once: connection i takes key i, i + c, i + 2c, ...
  // (and key i mod keys when there are fewer keys than connections).
  if (!opt_.token.empty())
    queue_hazel(kSetupAuth, hazel::sys::kId, hazel::sys::kAuth, opt_.token);
  auto each_key = [&](auto&& set) {
    const size_t i = index_of(c);
    for (size_t k = i % opt_.keys; k < opt_.keys; k += conns_.size()) {
      set(key_name(k, opt_.keys));
    }
  };
  switch (opt_.mode->mode) {
    case Mode::kKvGet:
      each_key([&](const std::string& key) {
        queue_hazel(kSetupSet, hazel::kv::kId, hazel::kv::kSet,
                    kv_set_body(key, work_.payload));
      });
      break;
    case Mode::kPublish:
      queue_hazel(kSetupHello, hazel::sys::kId, hazel::sys::kHello, "");
      if (c.role_ == Role::kMember) {
        queue_hazel(kSetupJoin, hazel::room::kId, hazel::room::kJoin,
                    kBenchRoom);
      }
      break;
    case Mode::kTell:
      queue_hazel(kSetupHello, hazel::sys::kId, hazel::sys::kHello, "");
      break;
    case Mode::kIdle:
      queue_hazel(kSetupPing, hazel::sys::kId, hazel::sys::kPing,
                  work_.payload);
      break;
    case Mode::kRespGet:
      each_key([&](const std::string& key) {
        queue_resp(resp_command({"SET", key, work_.payload}));
      });
      break;
    case Mode::kRespPublish:
      if (c.role_ == Role::kMember)
        queue_resp(resp_command({"SUBSCRIBE", kBenchRoom}));
      break;
    case Mode::kRespIdle:
      queue_resp(work_.requests[0]);
      break;
    default:
      break;
  }
}

void Bench::append_request(Conn& c) {
  const std::string& request = work_.requests[next_request_];
  if (++next_request_ == work_.requests.size()) next_request_ = 0;
  std::string& out = driver_.output(index_of(c));
  size_t at = out.size();
  out += request;
  auto* bytes = reinterpret_cast<uint8_t*>(out.data() + at);
  uint32_t session = 0;
  if (work_.session_at != kNone) {
    session = c.next_session_++;
    hazel::put_u32(bytes + work_.session_at, session);
  }
  if (work_.seq_at != kNone) hazel::put_u64(bytes + work_.seq_at, c.next_seq_++);
  if (work_.target_at != kNone)
    hazel::put_u64(bytes + work_.target_at, c.tell_target_);
  seal(out, at);
  c.pending_.push({now_, session, kTimed});
}

void Bench::seal(std::string& out, size_t at) {
  if (opt_.ws) ws::wrap(out, at, ws::next_key(mask_state_));
}

// Tops the connection up to `depth` requests in flight. Members only listen.
void Bench::fill(Conn& c) {
  if (!running_ || driver_.stopped() || c.role_ == Role::kMember ||
      shape_ == Shape::kIdle)
    return;
  while (c.pending_.size() < opt_.depth) append_request(c);
}

void Bench::complete(Conn& c, const Pending& p, bool ok,
                     const std::string& why) {
  if (!ok) {
    count_error(c, why);
  } else {
    if (shape_ != Shape::kFanOut) ++tick_count_;
    if (measuring()) {
      ++requests_;
      latency_.record(now_ - p.sent_ns);
    }
  }
  fill(c);
}

void Bench::deliver(Conn& c, bool ok, const std::string& why) {
  if (!ok) {
    count_error(c, why);
    return;
  }
  if (shape_ == Shape::kFanOut) ++tick_count_;
  if (measuring()) ++deliveries_;
}

void Bench::setup_done(Conn& c, bool ok, const std::string& why) {
  if (!ok) {
    fail(c, "setup failed: %s", why.c_str());
    return;
  }
  if (!c.pending_.empty() || c.ready_) return;
  c.ready_ = true;
  driver_.opened();
  if (++ready_ == conns_.size()) all_set_up();
}

void Bench::count_error(const Conn& c, const std::string& why) {
  ++errors_;
  if (errors_ <= kMaxErrorReports) {
    std::fprintf(stderr, "hazel-bench: connection %zu: %s\n", index_of(c),
                 why.c_str());
  }
  if (errors_ == kMaxErrorReports) {
    std::fprintf(stderr,
                 "hazel-bench: further errors are counted, not shown\n");
  }
}

// A request still unanswered at the end that went out in the first half of
// the run has waited at least as long as the second half: call it lost, or a
// server that stops answering would end the run with zero errors.
void Bench::count_lost_replies(uint64_t end_ns) {
  uint64_t cutoff = run_start_ns_ + (end_ns - run_start_ns_) / 2;
  for (const Conn& c : conns_) {
    size_t lost = 0;
    for (size_t i = 0; i < c.pending_.size(); ++i) {
      if (c.pending_.at(i).sent_ns < cutoff) ++lost;
    }
    if (lost > 0) {
      count_error(c, std::to_string(lost) + " request(s) got no reply within " +
                         std::to_string((end_ns - cutoff) / 1'000'000) + " ms");
      errors_ += lost - 1;
    }
  }
}

// A connection is unusable: report, and end the run with what it measured.
// Sockets are closed after the loop, never inside a handler.
void Bench::fail(Conn& c, const char* fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ++errors_;
  std::fprintf(stderr, "hazel-bench: connection %zu: %s\n", index_of(c), msg);
  broken_ = true;
  driver_.stop();
}

Summary Bench::summarize(uint64_t end_ns) const {
  Summary s;
  s.duration_s = end_ns > measure_start_ns_
                     ? static_cast<double>(end_ns - measure_start_ns_) / 1e9
                     : 0.0;
  s.requests = requests_;
  s.deliveries = deliveries_;
  s.errors = errors_;
  s.aborted = broken_;
  uint64_t counted = shape_ == Shape::kFanOut ? deliveries_ : requests_;
  s.rate = s.duration_s > 0 ? static_cast<double>(counted) / s.duration_s : 0.0;
  s.p50_us = ns_to_us(latency_.percentile(50));
  s.p99_us = ns_to_us(latency_.percentile(99));
  s.p999_us = ns_to_us(latency_.percentile(99.9));
  s.max_us = ns_to_us(latency_.max());
  s.connect_s = static_cast<double>(run_start_ns_ - begin_ns_) / 1e9;
  if (cpu_start_ && cpu_end_) {
    s.cpu_measured = true;
    s.server_cpu_s = cpu_end_->seconds - cpu_start_->seconds;
    s.server_processes = cpu_end_->processes;
    s.per_cpu_s = s.server_cpu_s > 0
                      ? static_cast<double>(counted) / s.server_cpu_s
                      : 0.0;
  }
  s.per_worker = per_worker_;
  return s;
}

}  // namespace hazel_bench
