// The services every hazel server has. They are written against the public
// API only (hazel/service.h), like any embedder's service.
#pragma once

#include <memory>

#include "hazel/service.h"

namespace hazel::services {

inline constexpr uint16_t kSysId = 0;
inline constexpr uint16_t kEchoId = 1;
inline constexpr uint16_t kKvId = 2;
inline constexpr uint16_t kRoomId = 3;

std::unique_ptr<Service> make_sys();
std::unique_ptr<Service> make_echo();
std::unique_ptr<Service> make_kv();
std::unique_ptr<Service> make_room();

}  // namespace hazel::services
