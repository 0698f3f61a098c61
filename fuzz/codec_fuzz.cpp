// The frame codec's decode() (include/hazel/frame.h, src/codec.cpp) on
// arbitrary bytes, as each peer decodes them.
//
// Input: bytes 0..3 are max_frame (big-endian; 0 means the default), the
// rest is the stream. Beyond memory safety, decode must keep its contract:
//   - kFrame: the whole frame is there, its length is at most max_frame,
//     its kind is one this peer may receive, and encoding the decoded header
//     gives back the 16 bytes it came from;
//   - kNeedMore: a full header was valid the same way but its body is not
//     all there, or fewer than 16 bytes were given and none of them is wrong;
//   - kError: PROTOCOL or TOO_LARGE, TOO_LARGE exactly when only the length
//     is wrong;
//   - on a shorter prefix of the same bytes the answer is the same or "need
//     more", never a different frame or a different error;
//   - encode_frame() of what was decoded decodes to the same header.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "hazel/frame.h"
#include "lib/check.h"

namespace {

using namespace hazel;

bool legal_for(uint8_t kind, Peer peer) {
  switch (peer) {
    case Peer::kServer:
      return kind == static_cast<uint8_t>(Kind::kRequest) ||
             kind == static_cast<uint8_t>(Kind::kSend);
    case Peer::kClient:
      return kind == static_cast<uint8_t>(Kind::kReply) ||
             kind == static_cast<uint8_t>(Kind::kPush) ||
             kind == static_cast<uint8_t>(Kind::kGoodbye);
    case Peer::kBus:
      return kind >= kBusKindFirst && kind <= kBusKindLast;
  }
  return false;
}

// The header fields read straight from the wire, independently of decode().
bool header_valid_but_length(const uint8_t* p, Peer peer) {
  return p[0] == kMagic0 && p[1] == kMagic1 && p[2] == kProtocolVersion &&
         legal_for(p[3], peer);
}

void check_header_roundtrip(const Decoded& d, const uint8_t* p) {
  uint8_t again[kHeaderSize];
  encode_header(d.header, again);
  FUZZ_CHECK(std::memcmp(again, p, kHeaderSize) == 0,
             "encoding the decoded header changes its bytes");
}

void check_one(const uint8_t* p, size_t n, uint32_t max_frame, Peer peer) {
  Decoded d = decode(p, n, max_frame, peer);
  switch (d.status) {
    case DecodeStatus::kFrame:
      FUZZ_CHECK(n >= kHeaderSize, "a frame from %zu bytes", n);
      FUZZ_CHECK(d.header.length <= max_frame, "length %u above max_frame %u",
                 d.header.length, max_frame);
      FUZZ_CHECK(n - kHeaderSize >= d.header.length,
                 "a frame of %u body bytes from %zu bytes", d.header.length, n);
      FUZZ_CHECK(header_valid_but_length(p, peer), "a frame from a bad header");
      check_header_roundtrip(d, p);
      break;
    case DecodeStatus::kNeedMore:
      if (n >= kHeaderSize) {
        FUZZ_CHECK(header_valid_but_length(p, peer) &&
                       d.header.length <= max_frame,
                   "need more after a bad header");
        FUZZ_CHECK(n - kHeaderSize < d.header.length,
                   "need more with the whole body there");
        check_header_roundtrip(d, p);
      } else {
        FUZZ_CHECK(n < 1 || p[0] == kMagic0, "need more after a bad magic");
        FUZZ_CHECK(n < 2 || p[1] == kMagic1, "need more after a bad magic");
      }
      break;
    case DecodeStatus::kError:
      FUZZ_CHECK(d.error == Goodbye::kProtocol || d.error == Goodbye::kTooLarge,
                 "decode error %s", goodbye_name(d.error));
      if (n >= kHeaderSize) {
        bool only_length = header_valid_but_length(p, peer);
        FUZZ_CHECK(only_length == (d.error == Goodbye::kTooLarge),
                   "GOODBYE %s for this header", goodbye_name(d.error));
        if (only_length)
          FUZZ_CHECK(get_u32(p + 12) > max_frame, "TOO_LARGE within max_frame");
      } else {
        FUZZ_CHECK(d.error == Goodbye::kProtocol,
                   "%s from a partial header", goodbye_name(d.error));
      }
      break;
  }

  // A prefix decodes the same way, or as "need more".
  size_t cuts[] = {0, 1, 2, 3, 4, kHeaderSize - 1, kHeaderSize,
                   kHeaderSize + d.header.length - 1, n / 2, n - 1};
  for (size_t m : cuts) {
    if (m >= n) continue;
    Decoded e = decode(p, m, max_frame, peer);
    if (e.status == DecodeStatus::kNeedMore) {
      FUZZ_CHECK(d.status != DecodeStatus::kFrame ||
                     m < kHeaderSize + d.header.length,
                 "need more from %zu bytes holding a whole frame", m);
      continue;
    }
    FUZZ_CHECK(e.status == d.status, "a prefix of %zu bytes decodes otherwise",
               m);
    if (e.status == DecodeStatus::kError)
      FUZZ_CHECK(e.error == d.error, "a prefix gets GOODBYE %s, the whole %s",
                 goodbye_name(e.error), goodbye_name(d.error));
  }

  // What was decoded encodes back to the same header.
  if (d.status == DecodeStatus::kFrame) {
    std::string_view body(reinterpret_cast<const char*>(p + kHeaderSize),
                          d.header.length);
    std::string f = encode_frame(d.header.kind, d.header.service,
                                 d.header.code, d.header.session, body);
    Decoded again = decode(reinterpret_cast<const uint8_t*>(f.data()),
                           f.size(), max_frame, peer);
    FUZZ_CHECK(again.status == DecodeStatus::kFrame &&
                   std::memcmp(f.data(), p, kHeaderSize + d.header.length) == 0,
               "encode_frame of a decoded frame differs");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  uint32_t max_frame = get_u32(data);
  if (max_frame == 0) max_frame = kDefaultMaxFrame;
  const uint8_t* p = data + 4;
  const size_t n = size - 4;
  for (Peer peer : {Peer::kServer, Peer::kClient, Peer::kBus})
    check_one(p, n, max_frame, peer);
  // Names of any number a peer may send are printable, not a crash.
  if (n >= 3) {
    (void)status_name(static_cast<Status>(get_u16(p)));
    (void)goodbye_name(static_cast<Goodbye>(get_u16(p + 1)));
    (void)kind_name(static_cast<Kind>(p[2]));
  }
  // A stream of frames back to back: each decodes where the last ended.
  size_t off = 0;
  while (off < n) {
    Decoded d = decode(p + off, n - off, max_frame, Peer::kServer);
    if (d.status != DecodeStatus::kFrame) break;
    off += kHeaderSize + d.header.length;
  }
  FUZZ_CHECK(off <= n, "frames run past the end");
  return 0;
}
