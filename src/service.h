// ServiceTable: the daemon's mounted services, twice over: an id-indexed
// table for dispatch (no lookup cost per frame) and an intrusive list, in
// mount order, for events, INFO and SERVICES.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "guard.h"
#include "hazel/service.h"

namespace hazel::detail {

// Told of every client event before the services are (the core's own
// per-client state goes with the same DISCONNECT the services see).
class EventWatcher {
 public:
  virtual void on_client_event(Event ev, ClientId client) = 0;

 protected:
  ~EventWatcher() = default;
};

class ServiceTable {
 public:
  bool add(Service& s, std::string* err);
  void remove(Service& s);

  Service* find(uint16_t id) const {
    return id < by_id_.size() ? by_id_[id] : nullptr;
  }
  Service* find(std::string_view name) const;

  // Walks the services mounted when the walk starts, skipping any that a
  // callback unmounts on the way (`fn` may mount and unmount freely).
  template <class F>
  void for_each(F&& fn) const {
    Service* small[16];
    std::vector<Service*> big;
    Service** list = small;
    size_t n = 0;
    if (count_ > 16) {
      big.resize(count_);
      list = big.data();
    }
    for (Service* s = head_; s != nullptr; s = s->next_) list[n++] = s;
    for (size_t i = 0; i < n; ++i)
      if (find(list[i]->id_) == list[i]) fn(*list[i]);
  }
  // Calls on_event on exactly the services whose mask has the event's bit.
  void notify(Event ev, ClientId client) const {
    if (watcher_ != nullptr) watcher_->on_client_event(ev, client);
    uint32_t bit = 1u << static_cast<int>(ev);
    for_each([&](Service& s) {
      if (s.events_ & bit) guarded("on_event", [&] { s.on_event(ev, client); });
    });
  }
  size_t size() const { return count_; }
  void set_watcher(EventWatcher* w) { watcher_ = w; }

 private:
  EventWatcher* watcher_ = nullptr;
  std::vector<Service*> by_id_;
  Service* head_ = nullptr;
  Service* tail_ = nullptr;
  size_t count_ = 0;
};

}  // namespace hazel::detail
