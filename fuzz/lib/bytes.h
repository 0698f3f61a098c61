// Big-endian integers as strings, for building request bodies and seeds.
#pragma once

#include <cstdint>
#include <string>

#include "hazel/frame.h"

namespace hazel::fuzz {

inline std::string u8s(uint8_t v) { return std::string(1, static_cast<char>(v)); }
inline std::string u16s(uint16_t v) {
  std::string s;
  append_u16(s, v);
  return s;
}
inline std::string u32s(uint32_t v) {
  std::string s;
  append_u32(s, v);
  return s;
}
inline std::string u64s(uint64_t v) {
  std::string s;
  append_u64(s, v);
  return s;
}

}  // namespace hazel::fuzz
