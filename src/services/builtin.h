// The services every hazel server has. They are written against the public
// API only (hazel/service.h), like any embedder's service.
#pragma once

#include <memory>

#include "hazel/builtins.h"
#include "hazel/service.h"

namespace hazel::services {

std::unique_ptr<Service> make_sys();
std::unique_ptr<Service> make_echo();
std::unique_ptr<Service> make_kv();
std::unique_ptr<Service> make_room();

}  // namespace hazel::services
