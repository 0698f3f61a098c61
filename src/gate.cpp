#include "gate.h"

#include <exception>
#include <utility>

#include "log.h"

namespace hazel::detail {

namespace {
constexpr uint64_t kRefusalLogMs = 1000;

// Runs policy code: like guarded(), but what a policy that throws gets is
// a refusal (fail closed), and the log says so.
template <class F>
bool policy_ran(const char* what, F&& fn) {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    HZ_ERROR("policy %s threw: %s (refused)", what, e.what());
  } catch (...) {
    HZ_ERROR("policy %s threw (refused)", what);
  }
  return false;
}
}  // namespace

Gate::Gate(const Config& cfg, const uint64_t& clock_ms, int64_t unix_offset_ms)
    : clock_(clock_ms),
      unix_offset_ms_(unix_offset_ms),
      limit_(cfg.rate_limit, cfg.rate_burst, cfg.rate_close_ms,
             cfg.rate_pause_ms),
      busy_reason_("over the rate limit of " + std::to_string(cfg.rate_limit) +
                   " requests per second") {}

Gate::PerClient* Gate::find(ClientId client) const {
  if (client == last_id_ && last_ != nullptr) return last_;
  auto it = clients_.find(client);
  if (it == clients_.end()) return nullptr;
  last_id_ = client;
  // Map nodes do not move: the pointer holds until the entry is erased.
  last_ = const_cast<PerClient*>(&it->second);
  return last_;
}

Gate::PerClient& Gate::get_slow(ClientId client) {
  if (PerClient* pc = find(client)) return *pc;
  PerClient& pc = clients_[client];
  limit_.start(pc.bucket, clock_);
  last_id_ = client;
  last_ = &pc;
  return pc;
}

void Gate::forget(ClientId client) {
  if (client == last_id_) last_ = nullptr;
  clients_.erase(client);
}

Gate::Outcome Gate::decide(Request* req, std::string_view* reason) {
  PerClient& pc = get(req->client);
  if (limit_.enabled()) {
    switch (limit_.take(pc.bucket, clock_)) {
      case RateLimit::Take::kOk: break;
      case RateLimit::Take::kRefused:
        ++rate_limited_;
        *reason = busy_reason_;
        return Outcome::kBusy;
      case RateLimit::Take::kClose:
        ++rate_limited_;
        ++rate_closed_;
        *reason = busy_reason_;
        return Outcome::kClose;
    }
  }
  if (!policies_.empty()) {
    Access a;
    a.client = req->client;
    a.identity = pc.authenticated ? &pc.identity : nullptr;
    a.service = req->service;
    a.op = req->op;
    a.body = req->body;
    a.one_way = req->one_way;
    a.now_s = unix_now_s();
    for (size_t i = 0; i < policies_.size(); ++i) {
      // Fail closed: a policy that throws has not said yes.
      bool allowed = false;
      std::string_view why = "the server's policy failed";
      policy_ran("allow", [&] {
        Verdict v = policies_[i].policy->allow(a);
        allowed = v.allowed();
        why = v.reason();
      });
      if (!allowed) {
        ++denied_;
        *reason = why;
        return Outcome::kDenied;
      }
    }
  }
  if (pc.authenticated) req->user = pc.identity.user;
  return Outcome::kPass;
}

const Identity* Gate::authenticate(ClientId client, std::string_view token,
                                   std::string* reason) {
  if (client == 0) {
    *reason = "only a client can authenticate";
    return nullptr;
  }
  int64_t now = unix_now_s();
  for (size_t i = 0; i < policies_.size(); ++i) {
    Policy* p = policies_[i].policy;
    Identity who;
    AuthResult r = AuthResult::kRefused;
    reason->clear();
    if (!policy_ran("authenticate", [&] {
          r = p->authenticate(client, token, now, &who, reason);
        })) {
      r = AuthResult::kRefused;
      *reason = "the server's policy failed";
    }
    if (r == AuthResult::kPass) continue;
    if (r == AuthResult::kAccepted && who.user.empty()) {
      r = AuthResult::kRefused;
      *reason = "the server's policy named no user";
    }
    PerClient& pc = get(client);
    if (r == AuthResult::kAccepted && pc.authenticated &&
        pc.identity.user != who.user) {
      r = AuthResult::kRefused;
      *reason = "a connection's user cannot change (it is " + pc.identity.user + ")";
    }
    if (r != AuthResult::kAccepted) {
      ++auth_refused_;
      log_refusal(client, *reason);
      return nullptr;
    }
    ++auth_ok_;
    who.issuer = p;
    pc.identity = std::move(who);
    pc.authenticated = true;
    return &pc.identity;
  }
  ++auth_refused_;
  *reason = policies_.empty() ? "this server does not authenticate clients"
                              : "no policy of this server accepts this token";
  return nullptr;
}

void Gate::log_refusal(ClientId client, const std::string& reason) {
  uint64_t now = clock_;
  if (refusal_logged_ && now - refusal_logged_ms_ < kRefusalLogMs) {
    ++refusals_unlogged_;
    return;
  }
  if (refusals_unlogged_ > 0) {
    HZ_WARN("client %llu: AUTH refused: %s (and %llu more refused since the last report)",
            static_cast<unsigned long long>(client), reason.c_str(),
            static_cast<unsigned long long>(refusals_unlogged_));
  } else {
    HZ_WARN("client %llu: AUTH refused: %s",
            static_cast<unsigned long long>(client), reason.c_str());
  }
  refusal_logged_ = true;
  refusal_logged_ms_ = now;
  refusals_unlogged_ = 0;
}

const Identity* Gate::identity(ClientId client) const {
  PerClient* pc = find(client);
  return pc != nullptr && pc->authenticated ? &pc->identity : nullptr;
}

void Gate::charge(ClientId client, uint32_t units) {
  if (!limit_.enabled() || units == 0) return;
  if (PerClient* pc = find(client)) limit_.charge(pc->bucket, clock_, units);
}

void Gate::add_policy(Policy& p, const void* owner) {
  for (const Entry& e : policies_)
    if (e.policy == &p) return;
  policies_.push_back({&p, owner});
}

void Gate::remove_policy(Policy& p) {
  for (size_t i = 0; i < policies_.size(); ++i) {
    if (policies_[i].policy != &p) continue;
    policies_.erase(policies_.begin() + static_cast<std::ptrdiff_t>(i));
    break;
  }
  // What it granted goes with it: an identity must not outlive its issuer.
  for (auto& [id, pc] : clients_) {
    if (pc.authenticated && pc.identity.issuer == &p) {
      pc.identity = Identity{};
      pc.authenticated = false;
    }
  }
}

void Gate::remove_owned_by(const void* owner) {
  std::vector<Policy*> mine;
  for (const Entry& e : policies_)
    if (e.owner == owner) mine.push_back(e.policy);
  for (Policy* p : mine) remove_policy(*p);
}

}  // namespace hazel::detail
