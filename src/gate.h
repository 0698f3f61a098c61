// Gate: what a client's REQUEST or SEND passes before the core hands it to
// its service: the client's rate bucket (--rate-limit), then the policies
// (hazel/policy.h) in the order they were added. It keeps, per client of
// this worker, the identity a sys AUTH established and the rate bucket,
// and forgets both when the client disconnects.
//
// With no policy and no rate limit the gate is closed for business: the
// core skips it with one test, and nothing is kept per client. Otherwise a
// request costs one hash lookup (none for the next requests of the same
// client, which is how requests arrive: in batches from one client) and a
// call per policy; nothing is allocated unless a client is new.
//
// The gate runs where requests are handed to services (Core::on_request /
// on_send), for this worker's own clients only. A request forwarded from
// another worker (Request::from_worker) was let through by the client's own
// worker and does not come this way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hazel/config.h"
#include "hazel/policy.h"
#include "rate_bucket.h"

namespace hazel::detail {

class Gate {
 public:
  // `clock_ms` is the loop's clock; `unix_offset_ms` what to add to it for
  // unix time in milliseconds.
  Gate(const Config& cfg, const uint64_t& clock_ms, int64_t unix_offset_ms);

  bool active() const { return !policies_.empty() || limit_.enabled(); }
  bool has_policies() const { return !policies_.empty(); }

  enum class Outcome : uint8_t {
    kPass,    // hand it to the service (`req->user` is set)
    kDenied,  // a policy said no: DENIED with `reason`
    kBusy,    // over the rate: BUSY with `reason`
    kClose,   // over the rate for rate_close_ms: GOODBYE LIMIT
  };
  // Decides for one REQUEST or SEND of a client of this worker. `reason`
  // stays valid until the next call.
  Outcome check(Request* req, std::string_view* reason) {
    Outcome o = decide(req, reason);
    if (o != Outcome::kPass && req->one_way) ++sends_stopped_;
    return o;
  }

  const Identity* authenticate(ClientId client, std::string_view token,
                               std::string* reason);
  const Identity* identity(ClientId client) const;
  void charge(ClientId client, uint32_t units);
  // The client disconnected.
  void forget(ClientId client);

  // `owner`: the service whose context added it (removed at its unmount).
  void add_policy(Policy& p, const void* owner);
  void remove_policy(Policy& p);
  void remove_owned_by(const void* owner);

  int64_t unix_now_s() const {
    return (static_cast<int64_t>(clock_) + unix_offset_ms_) / 1000;
  }

  uint64_t denied() const { return denied_; }
  uint64_t rate_limited() const { return rate_limited_; }
  uint64_t rate_closed() const { return rate_closed_; }
  uint64_t auth_ok() const { return auth_ok_; }
  uint64_t auth_refused() const { return auth_refused_; }
  uint64_t sends_stopped() const { return sends_stopped_; }
  size_t tracked() const { return clients_.size(); }

 private:
  struct PerClient {
    Identity identity;
    bool authenticated = false;
    RateBucket bucket;
  };
  struct Entry {
    Policy* policy;
    const void* owner;
  };
  Outcome decide(Request* req, std::string_view* reason);
  PerClient& get(ClientId client) {
    if (client == last_id_ && last_ != nullptr) return *last_;
    return get_slow(client);
  }
  PerClient& get_slow(ClientId client);
  PerClient* find(ClientId client) const;
  void log_refusal(ClientId client, const std::string& reason);

  const uint64_t& clock_;
  int64_t unix_offset_ms_;
  RateLimit limit_;
  std::string busy_reason_;
  std::vector<Entry> policies_;
  std::unordered_map<ClientId, PerClient> clients_;
  // The client looked up last (requests come in batches from one client).
  mutable ClientId last_id_ = 0;
  mutable PerClient* last_ = nullptr;
  uint64_t denied_ = 0;
  uint64_t rate_limited_ = 0;
  uint64_t rate_closed_ = 0;
  uint64_t auth_ok_ = 0;
  uint64_t auth_refused_ = 0;
  uint64_t sends_stopped_ = 0;  // SENDs denied or over the rate
  // Refused tokens are logged at most once a second, with a count.
  uint64_t refusal_logged_ms_ = 0;
  bool refusal_logged_ = false;
  uint64_t refusals_unlogged_ = 0;
};

}  // namespace hazel::detail
