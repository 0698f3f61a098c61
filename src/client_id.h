// How a client id names its worker. Ids are opaque to clients (PROTOCOL.md);
// inside the server they are laid out so that any worker can tell from an id
// alone where the client lives:
//
//    63         54 53            40 39                                  0
//    +------------+----------------+-------------------------------------+
//    |   worker   |  incarnation   |              sequence               |
//    +------------+----------------+-------------------------------------+
//       10 bits        14 bits                    40 bits
//
// The incarnation is given by the master and moves on each time a worker
// slot is restarted, so a respawned worker never hands out an id its
// predecessor used. A lone server is worker 0, incarnation 0: ids 1, 2, 3...
#pragma once

#include <cstdint>

#include "hazel/service.h"

namespace hazel {

inline constexpr int kIdSequenceBits = 40;
inline constexpr int kIdIncarnationBits = 14;
inline constexpr uint32_t kMaxWorkers = 1u << (64 - kIdSequenceBits - kIdIncarnationBits);
inline constexpr uint32_t kMaxIncarnation = (1u << kIdIncarnationBits) - 1;

inline ClientId first_client_id(uint16_t worker, uint32_t incarnation) {
  return (uint64_t{worker} << (kIdSequenceBits + kIdIncarnationBits)) |
         (uint64_t{incarnation} << kIdSequenceBits) | 1;
}

inline uint16_t worker_of_id(ClientId id) {
  return static_cast<uint16_t>(id >> (kIdSequenceBits + kIdIncarnationBits));
}

}  // namespace hazel
