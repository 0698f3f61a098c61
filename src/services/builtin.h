// The services every hazel server has. They are written against the public
// API only (hazel/service.h), like any embedder's service.
#pragma once

#include <memory>

#include "hazel/builtins.h"
#include "hazel/config.h"
#include "hazel/service.h"

namespace hazel::services {

std::unique_ptr<Service> make_sys();
std::unique_ptr<Service> make_echo();
// kv and room take their limits from the config (kv_max_bytes, kv_evict,
// max_rooms, max_rooms_per_client); the defaults are the config's.
std::unique_ptr<Service> make_kv(const Config& cfg = {});
std::unique_ptr<Service> make_room(const Config& cfg = {});

}  // namespace hazel::services
