#include "service.h"

#include "core.h"

namespace hazel {

Service::Service(std::string name, uint16_t id, uint32_t events)
    : name_(std::move(name)), id_(id), events_(events) {}

Service::~Service() {
  if (ctx_ != nullptr) ctx_->core_->unmount(*this, /*notify=*/false);
}

void Service::on_send(const Request& req) {
  on_request(req, ctx_->core_->open_discard_reply(req));
}

namespace detail {

bool ServiceTable::add(Service& s, std::string* err) {
  if (s.ctx_ != nullptr || s.prev_ || s.next_ || head_ == &s) {
    if (err) *err = "service " + s.name() + " is already mounted";
    return false;
  }
  if (find(s.id()) != nullptr) {
    if (err) *err = "service id " + std::to_string(s.id()) + " is taken";
    return false;
  }
  if (s.name().empty() || find(s.name()) != nullptr) {
    if (err) *err = "service name '" + s.name() + "' is empty or taken";
    return false;
  }
  if (s.id() >= by_id_.size()) by_id_.resize(size_t{s.id()} + 1, nullptr);
  by_id_[s.id()] = &s;
  s.prev_ = tail_;
  s.next_ = nullptr;
  if (tail_) tail_->next_ = &s; else head_ = &s;
  tail_ = &s;
  ++count_;
  return true;
}

void ServiceTable::remove(Service& s) {
  if (find(s.id()) != &s) return;
  by_id_[s.id()] = nullptr;
  if (s.prev_) s.prev_->next_ = s.next_; else head_ = s.next_;
  if (s.next_) s.next_->prev_ = s.prev_; else tail_ = s.prev_;
  s.prev_ = s.next_ = nullptr;
  --count_;
}

Service* ServiceTable::find(std::string_view name) const {
  for (Service* s = head_; s; s = s->next_)
    if (s->name() == name) return s;
  return nullptr;
}

}  // namespace detail
}  // namespace hazel
