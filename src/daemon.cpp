// Daemon: the public face of one hazel server (one worker process).
#include "hazel/daemon.h"

#include <utility>

#include "core.h"
#include "services/builtin.h"
#include "ws_gateway.h"
#include "services/token_policy.h"

namespace hazel {

const char* version() { return "0.1.0"; }

Daemon::Daemon(Config config)
    : core_(std::make_unique<detail::Core>(std::move(config))) {
  if (core_->cfg.builtin_services) {
    core_->builtins.push_back(services::make_sys());
    core_->builtins.push_back(services::make_echo());
    core_->builtins.push_back(services::make_kv(core_->cfg));
    core_->builtins.push_back(services::make_room(core_->cfg));
    for (auto& s : core_->builtins) core_->mount(*s, nullptr);
  }
}

Daemon::~Daemon() = default;

bool Daemon::mount(Service& service, std::string* err) {
  return core_->mount(service, err);
}
void Daemon::unmount(Service& service) { core_->unmount(service); }
void Daemon::add_policy(Policy& policy) { core_->gate.add_policy(policy, nullptr); }
void Daemon::remove_policy(Policy& policy) { core_->gate.remove_policy(policy); }
bool Daemon::start(std::string* err) {
  detail::Core& c = *core_;
  if (!c.cfg.auth_secret_file.empty() && !c.token_policy) {
    std::vector<std::string> keys;
    if (!services::load_secret_file(c.cfg.auth_secret_file, &keys, err))
      return false;
    c.token_policy = services::make_token_policy(std::move(keys));
    add_policy(*c.token_policy);
  }
  return c.start(err);
}
uint16_t Daemon::port() const { return core_->gateway.port(); }
uint16_t Daemon::ws_port() const {
  return core_->ws ? core_->ws->http().port() : 0;
}
uint16_t Daemon::admin_port() const {
  return core_->admin ? core_->admin->http().port() : 0;
}
int Daemon::run() { return core_->run(); }
void Daemon::stop() { core_->loop.wake(); }
void Daemon::advance_clock(uint64_t ms) {
  core_->loop.advance_clock_from_outside(ms);
}
Context& Daemon::context() { return core_->ctx; }
const Config& Daemon::config() const { return core_->cfg; }

namespace detail {
Core& core_of(Daemon& d) { return *d.core_; }
}  // namespace detail

}  // namespace hazel
