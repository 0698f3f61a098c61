// libFuzzer target: SHA-1 gives one digest however its input is split.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sha1.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  hazel::Sha1Digest whole = hazel::sha1(all);
  // The first byte picks the piece size of a second, incremental pass.
  size_t step = size > 0 ? data[0] % 71 + 1 : 1;
  hazel::Sha1 s;
  for (size_t at = 0; at < size; at += step)
    s.update(all.substr(at, step));
  if (s.finish() != whole) abort();
  return 0;
}
