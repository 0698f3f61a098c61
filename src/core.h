// Core: what a Daemon is made of, wired together. The daemon is the core,
// not the gateway: the loop and its timer wheel at the bottom, the gateway
// that accepts, the message module that owns clients and dispatches frames,
// the service table, and the session table that makes sure every request is
// answered exactly once.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway.h"
#include "hazel/daemon.h"
#include "hazel/service.h"
#include "loop.h"
#include "message.h"
#include "service.h"
#include "session.h"

namespace hazel::detail {

class Core {
 public:
  explicit Core(Config config);
  ~Core();

  // Message → services.
  void handle_request(Service& s, const Request& req, uint32_t wire_session);
  void handle_send(Service& s, const Request& req);
  Reply open_discard_reply(const Request& req);

  // Reply handles.
  void complete(uint32_t slot, uint32_t gen, Status status,
                std::string_view body);
  bool reply_pending(uint32_t slot, uint32_t gen) const;

  // Context.
  void call(Service* caller, uint16_t service, uint16_t op,
            std::string_view body, uint32_t timeout_ms, CallCallback done);
  TimerId set_timer(Service* owner, uint32_t delay_ms, TimerCallback fn);
  bool cancel_timer(TimerId id);
  Stats stats() const;

  bool mount(Service& s, std::string* err);
  // `notify` = false when the service is being destroyed.
  void unmount(Service& s, bool notify = true);
  bool start(std::string* err);
  int run();
  void begin_shutdown();

  Config cfg;
  Loop loop;
  ServiceTable services;
  Message message;
  Sessions sessions;
  Gateway gateway;
  Context ctx;
  std::vector<std::unique_ptr<Service>> builtins;

 private:
  struct ServiceTimer {
    TimerNode node;
    TimerCallback fn;
    TimerId id = 0;
    Core* core = nullptr;
    Service* owner = nullptr;
  };
  static void on_service_timer(TimerNode* n);
  static void on_end_of_turn(void* arg);
  static void on_stop_request(void* arg);

  std::unordered_map<TimerId, std::unique_ptr<ServiceTimer>> timers_;
  TimerId next_timer_id_ = 1;
  std::string init_error_;
  bool started_ = false;
  bool shutting_down_ = false;
  uint64_t started_ms_ = 0;
};

}  // namespace hazel::detail
