#include "guard.h"

#include "log.h"

namespace hazel::detail {

void log_service_exception(const char* where, const char* what) {
  HZ_ERROR("%s threw: %s (answered INTERNAL where a reply was due)", where,
           what);
}

}  // namespace hazel::detail
