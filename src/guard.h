// guarded(): the one place service code is run from the daemon, so that a
// service's exception never takes the server down.
#pragma once

#include <exception>

namespace hazel::detail {

// Runs service code so that an exception it throws is logged and contained:
// PROTOCOL.md's INTERNAL is "a bug; the server keeps running". A REQUEST
// whose handler throws is answered INTERNAL by its Reply's destructor.
void log_service_exception(const char* where, const char* what);
template <class F>
void guarded(const char* where, F&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    log_service_exception(where, e.what());
  } catch (...) {
    log_service_exception(where, "unknown exception");
  }
}

}  // namespace hazel::detail
