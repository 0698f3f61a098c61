// Specification of the frame codec (include/hazel/frame.h): header checks in
// wire order, stream splitting, and the exact big-endian byte layout.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "hazel/frame.h"

namespace hazel {
namespace {

constexpr uint32_t kSmallMax = 64;

// A well-formed 16-byte header with every field settable, as raw bytes, so
// tests can break one field at a time without going through encode_header.
std::vector<uint8_t> raw_header(uint8_t kind, uint32_t length,
                                uint8_t version = kProtocolVersion) {
  std::vector<uint8_t> h = {kMagic0, kMagic1, version, kind, 0, 0, 0, 0,
                            0,       0,       0,       0,    0, 0, 0, 0};
  put_u32(h.data() + 12, length);
  return h;
}

Decoded decode_str(std::string_view s, uint32_t max_frame, Peer peer) {
  return decode(reinterpret_cast<const uint8_t*>(s.data()), s.size(),
                max_frame, peer);
}

Decoded decode_vec(const std::vector<uint8_t>& v, uint32_t max_frame,
                   Peer peer) {
  return decode(v.data(), v.size(), max_frame, peer);
}

std::string from_hex(std::string_view hex) {
  std::string out;
  int hi = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      continue;  // spaces separate fields for the reader
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>((hi << 4) | v));
      hi = -1;
    }
  }
  return out;
}

void expect_error(const Decoded& d, Goodbye why) {
  EXPECT_EQ(d.status, DecodeStatus::kError);
  EXPECT_EQ(d.error, why);
}

// ---- partial headers ------------------------------------------------------

TEST(Codec, NeedsMoreWhenBufferIsEmpty) {
  EXPECT_EQ(decode(nullptr, 0, kSmallMax, Peer::kServer).status,
            DecodeStatus::kNeedMore);
}

TEST(Codec, NeedsMoreForEveryProperPrefixOfAValidHeader) {
  const auto h = raw_header(static_cast<uint8_t>(Kind::kRequest), 0);
  for (size_t n = 0; n < kHeaderSize; ++n) {
    EXPECT_EQ(decode(h.data(), n, kSmallMax, Peer::kServer).status,
              DecodeStatus::kNeedMore)
        << "prefix " << n;
  }
}

// ---- magic ----------------------------------------------------------------

TEST(Codec, RejectsBadMagicByte0AsSoonAsOneByteArrives) {
  const uint8_t b = 'G';
  expect_error(decode(&b, 1, kSmallMax, Peer::kServer), Goodbye::kProtocol);
}

TEST(Codec, RejectsBadMagicByte0InFullHeader) {
  auto h = raw_header(static_cast<uint8_t>(Kind::kRequest), 0);
  h[0] = 0x00;
  expect_error(decode_vec(h, kSmallMax, Peer::kServer), Goodbye::kProtocol);
}

TEST(Codec, RejectsBadMagicByte1AsSoonAsTwoBytesArrive) {
  const uint8_t b[2] = {kMagic0, 'X'};
  expect_error(decode(b, 2, kSmallMax, Peer::kServer), Goodbye::kProtocol);
}

TEST(Codec, RejectsBadMagicByte1InFullHeader) {
  auto h = raw_header(static_cast<uint8_t>(Kind::kRequest), 0);
  h[1] = 0x5B;
  expect_error(decode_vec(h, kSmallMax, Peer::kServer), Goodbye::kProtocol);
}

TEST(Codec, RejectsHttpRequestLine) {
  expect_error(decode_str("GET / HTTP/1.1\r\n", kSmallMax, Peer::kServer),
               Goodbye::kProtocol);
}

TEST(Codec, ClientAlsoRejectsBadMagic) {
  auto h = raw_header(static_cast<uint8_t>(Kind::kReply), 0);
  h[1] = 0;
  expect_error(decode_vec(h, kSmallMax, Peer::kClient), Goodbye::kProtocol);
}

// ---- version --------------------------------------------------------------

TEST(Codec, RejectsVersionZero) {
  auto h = raw_header(static_cast<uint8_t>(Kind::kRequest), 0, 0);
  expect_error(decode_vec(h, kSmallMax, Peer::kServer), Goodbye::kProtocol);
}

TEST(Codec, RejectsVersionTwo) {
  auto h = raw_header(static_cast<uint8_t>(Kind::kRequest), 0, 2);
  expect_error(decode_vec(h, kSmallMax, Peer::kServer), Goodbye::kProtocol);
}

TEST(Codec, RejectsVersion255) {
  auto h = raw_header(static_cast<uint8_t>(Kind::kRequest), 0, 255);
  expect_error(decode_vec(h, kSmallMax, Peer::kServer), Goodbye::kProtocol);
}

TEST(Codec, WaitsForFullHeaderBeforeCheckingVersion) {
  auto h = raw_header(static_cast<uint8_t>(Kind::kRequest), 0, 9);
  EXPECT_EQ(decode(h.data(), kHeaderSize - 1, kSmallMax, Peer::kServer).status,
            DecodeStatus::kNeedMore);
}

// ---- kind -----------------------------------------------------------------

class ServerRejectsKind : public testing::TestWithParam<uint8_t> {};

TEST_P(ServerRejectsKind, WithProtocolGoodbye) {
  auto h = raw_header(GetParam(), 0);
  expect_error(decode_vec(h, kSmallMax, Peer::kServer), Goodbye::kProtocol);
}

// 0 and 6+ are not kinds at all; REPLY, PUSH, GOODBYE only flow server→client.
INSTANTIATE_TEST_SUITE_P(Codec, ServerRejectsKind,
                         testing::Values(uint8_t{0}, uint8_t{2}, uint8_t{4},
                                         uint8_t{5}, uint8_t{6}, uint8_t{255}));

class ClientRejectsKind : public testing::TestWithParam<uint8_t> {};

TEST_P(ClientRejectsKind, WithProtocolGoodbye) {
  auto h = raw_header(GetParam(), 0);
  expect_error(decode_vec(h, kSmallMax, Peer::kClient), Goodbye::kProtocol);
}

// 0 and 6+ are not kinds; REQUEST and SEND only flow client→server.
INSTANTIATE_TEST_SUITE_P(Codec, ClientRejectsKind,
                         testing::Values(uint8_t{0}, uint8_t{1}, uint8_t{3},
                                         uint8_t{6}, uint8_t{255}));

class ServerAcceptsKind : public testing::TestWithParam<Kind> {};

TEST_P(ServerAcceptsKind, AsFrame) {
  auto h = raw_header(static_cast<uint8_t>(GetParam()), 0);
  const Decoded d = decode_vec(h, kSmallMax, Peer::kServer);
  EXPECT_EQ(d.status, DecodeStatus::kFrame);
  EXPECT_EQ(d.header.kind, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Codec, ServerAcceptsKind,
                         testing::Values(Kind::kRequest, Kind::kSend));

class ClientAcceptsKind : public testing::TestWithParam<Kind> {};

TEST_P(ClientAcceptsKind, AsFrame) {
  auto h = raw_header(static_cast<uint8_t>(GetParam()), 0);
  const Decoded d = decode_vec(h, kSmallMax, Peer::kClient);
  EXPECT_EQ(d.status, DecodeStatus::kFrame);
  EXPECT_EQ(d.header.kind, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Codec, ClientAcceptsKind,
                         testing::Values(Kind::kReply, Kind::kPush,
                                         Kind::kGoodbye));

// ---- length ---------------------------------------------------------------

TEST(Codec, RejectsLengthAboveMaxFrame) {
  auto h = raw_header(static_cast<uint8_t>(Kind::kRequest), kSmallMax + 1);
  expect_error(decode_vec(h, kSmallMax, Peer::kServer), Goodbye::kTooLarge);
}

TEST(Codec, RejectsLengthU32MaxAgainstDefaultMaxFrame) {
  auto h = raw_header(static_cast<uint8_t>(Kind::kRequest), 0xFFFFFFFFu);
  expect_error(decode_vec(h, kDefaultMaxFrame, Peer::kServer),
               Goodbye::kTooLarge);
}

TEST(Codec, ClientRejectsLengthAboveMaxFrame) {
  auto h = raw_header(static_cast<uint8_t>(Kind::kPush), kSmallMax + 1);
  expect_error(decode_vec(h, kSmallMax, Peer::kClient), Goodbye::kTooLarge);
}

TEST(Codec, AcceptsLengthEqualToMaxFrame) {
  auto buf = raw_header(static_cast<uint8_t>(Kind::kRequest), kSmallMax);
  buf.resize(kHeaderSize + kSmallMax, 0xAB);
  const Decoded d = decode_vec(buf, kSmallMax, Peer::kServer);
  EXPECT_EQ(d.status, DecodeStatus::kFrame);
  EXPECT_EQ(d.header.length, kSmallMax);
}

TEST(Codec, RejectsTooLargeBeforeAnyBodyByteArrives) {
  auto h = raw_header(static_cast<uint8_t>(Kind::kRequest), kSmallMax + 1);
  ASSERT_EQ(h.size(), kHeaderSize);
  expect_error(decode_vec(h, kSmallMax, Peer::kServer), Goodbye::kTooLarge);
}

TEST(Codec, MaxFrameZeroAllowsOnlyEmptyBodies) {
  auto empty = raw_header(static_cast<uint8_t>(Kind::kRequest), 0);
  EXPECT_EQ(decode_vec(empty, 0, Peer::kServer).status, DecodeStatus::kFrame);
  auto one = raw_header(static_cast<uint8_t>(Kind::kRequest), 1);
  expect_error(decode_vec(one, 0, Peer::kServer), Goodbye::kTooLarge);
}

// ---- check order ----------------------------------------------------------

TEST(Codec, ChecksVersionBeforeKindAndLength) {
  // Bad version, bad kind, too large: the version error is the one reported.
  auto h = raw_header(9, 0xFFFFFFFFu, 7);
  expect_error(decode_vec(h, kSmallMax, Peer::kServer), Goodbye::kProtocol);
}

TEST(Codec, ChecksKindBeforeLength) {
  auto h = raw_header(static_cast<uint8_t>(Kind::kReply), 0xFFFFFFFFu);
  expect_error(decode_vec(h, kSmallMax, Peer::kServer), Goodbye::kProtocol);
}

TEST(Codec, ChecksMagicBeforeEverythingElse) {
  auto h = raw_header(9, 0xFFFFFFFFu, 7);
  h[0] = 0;
  expect_error(decode_vec(h, kSmallMax, Peer::kServer), Goodbye::kProtocol);
}

// ---- bodies ---------------------------------------------------------------

TEST(Codec, ZeroLengthBodyIsCompleteWithHeaderAlone) {
  const std::string f = encode_frame(Kind::kRequest, 0, 2, 5, "");
  ASSERT_EQ(f.size(), kHeaderSize);
  const Decoded d = decode_str(f, kSmallMax, Peer::kServer);
  EXPECT_EQ(d.status, DecodeStatus::kFrame);
  EXPECT_EQ(d.header.length, 0u);
}

TEST(Codec, MaxLengthBodyAtDefaultMaxFrameDecodes) {
  const std::string body(kDefaultMaxFrame, 'x');
  const std::string f = encode_frame(Kind::kReply, 2, 0, 77, body);
  ASSERT_EQ(f.size(), kHeaderSize + kDefaultMaxFrame);

  const Decoded d = decode_str(f, kDefaultMaxFrame, Peer::kClient);
  EXPECT_EQ(d.status, DecodeStatus::kFrame);
  EXPECT_EQ(d.header.length, kDefaultMaxFrame);

  const Decoded short_by_one =
      decode_str(std::string_view(f).substr(0, f.size() - 1),
                 kDefaultMaxFrame, Peer::kClient);
  EXPECT_EQ(short_by_one.status, DecodeStatus::kNeedMore);
}

TEST(Codec, NeedMoreWithValidHeaderFillsHeader) {
  const std::string f = encode_frame(Kind::kRequest, 3, 4, 0xDEADBEEF, "hello");
  const Decoded d =
      decode_str(std::string_view(f).substr(0, kHeaderSize + 2), kSmallMax,
                 Peer::kServer);
  EXPECT_EQ(d.status, DecodeStatus::kNeedMore);
  EXPECT_EQ(d.header.kind, Kind::kRequest);
  EXPECT_EQ(d.header.service, 3);
  EXPECT_EQ(d.header.code, 4);
  EXPECT_EQ(d.header.session, 0xDEADBEEFu);
  EXPECT_EQ(d.header.length, 5u);
}

TEST(Codec, IgnoresBytesAfterTheFrame) {
  std::string f = encode_frame(Kind::kSend, 1, 1, 0, "ab");
  f += "\xff\xff\xff";  // garbage that belongs to the next decode
  const Decoded d = decode_str(f, kSmallMax, Peer::kServer);
  EXPECT_EQ(d.status, DecodeStatus::kFrame);
  EXPECT_EQ(d.header.length, 2u);
}

// ---- streams --------------------------------------------------------------

TEST(Codec, EverySplitPointOfTwoFramesDecodesConsistently) {
  const std::string a = encode_frame(Kind::kRequest, 0, 1, 7, "hi");
  const std::string b = encode_frame(Kind::kSend, 3, 3, 0, "second frame");
  const std::string stream = a + b;

  for (size_t n = 0; n <= stream.size(); ++n) {
    const std::string_view prefix = std::string_view(stream).substr(0, n);
    const Decoded first = decode_str(prefix, kSmallMax, Peer::kServer);
    if (n < a.size()) {
      ASSERT_EQ(first.status, DecodeStatus::kNeedMore) << "prefix " << n;
      if (n >= kHeaderSize) {
        EXPECT_EQ(first.header.length, 2u);
      }
      continue;
    }
    ASSERT_EQ(first.status, DecodeStatus::kFrame) << "prefix " << n;
    EXPECT_EQ(first.header.session, 7u);
    EXPECT_EQ(prefix.substr(kHeaderSize, first.header.length), "hi");

    // Consume the first frame; the rest is the start of the second.
    const size_t used = kHeaderSize + first.header.length;
    const std::string_view rest = prefix.substr(used);
    const Decoded second = decode_str(rest, kSmallMax, Peer::kServer);
    if (rest.size() < b.size()) {
      EXPECT_EQ(second.status, DecodeStatus::kNeedMore) << "prefix " << n;
    } else {
      ASSERT_EQ(second.status, DecodeStatus::kFrame) << "prefix " << n;
      EXPECT_EQ(second.header.kind, Kind::kSend);
      EXPECT_EQ(second.header.service, 3);
      EXPECT_EQ(second.header.code, 3);
      EXPECT_EQ(rest.substr(kHeaderSize, second.header.length),
                "second frame");
    }
  }
}

TEST(Codec, RandomBytesNeverYieldAFrameLongerThanTheBuffer) {
  // A cheap stand-in for the fuzzer: decode must classify anything without
  // claiming more bytes than it was given.
  uint32_t x = 0x12345678;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  std::vector<uint8_t> buf(40);
  for (int i = 0; i < 20000; ++i) {
    for (auto& byte : buf) byte = static_cast<uint8_t>(next());
    if (i % 2 == 0) {  // keep many inputs past the magic check
      buf[0] = kMagic0;
      buf[1] = kMagic1;
      buf[2] = kProtocolVersion;
      buf[12] = buf[13] = 0;
    }
    const size_t n = next() % (buf.size() + 1);
    const Decoded d = decode(buf.data(), n, kSmallMax, Peer::kServer);
    if (d.status == DecodeStatus::kFrame) {
      ASSERT_LE(kHeaderSize + d.header.length, n);
      ASSERT_LE(d.header.length, kSmallMax);
    }
  }
}

// ---- encoding -------------------------------------------------------------

TEST(Codec, EncodesHeaderBigEndianByteByByte) {
  FrameHeader h;
  h.kind = Kind::kReply;
  h.service = 0x0102;
  h.code = 0x0304;
  h.session = 0x05060708;
  h.length = 0x090A0B0C;
  uint8_t out[kHeaderSize];
  encode_header(h, out);
  const std::string want = from_hex(
      "48 5a 01 02 0102 0304 05060708 090a0b0c");
  ASSERT_EQ(want.size(), kHeaderSize);
  for (size_t i = 0; i < kHeaderSize; ++i) {
    EXPECT_EQ(out[i], static_cast<uint8_t>(want[i])) << "byte " << i;
  }
}

TEST(Codec, EncodesPingRequestAsDocumented) {
  // The worked example of docs/PROTOCOL.md: sys PING, session 7, body "hi".
  EXPECT_EQ(encode_frame(Kind::kRequest, 0, 1, 7, "hi"),
            from_hex("48 5a 01 01 0000 0001 00000007 00000002 6869"));
}

TEST(Codec, EncodesPingReplyAsDocumented) {
  EXPECT_EQ(encode_frame(Kind::kReply, 0, 0, 7, "hi"),
            from_hex("48 5a 01 02 0000 0000 00000007 00000002 6869"));
}

TEST(Codec, EncodeFrameSetsLengthFromBody) {
  const std::string f = encode_frame(Kind::kPush, 1, 1, 0, "abc");
  ASSERT_EQ(f.size(), kHeaderSize + 3);
  EXPECT_EQ(get_u32(reinterpret_cast<const uint8_t*>(f.data()) + 12), 3u);
  EXPECT_EQ(f.substr(kHeaderSize), "abc");
}

TEST(Codec, RoundTripsEveryHeaderField) {
  struct Case {
    Kind kind;
    uint16_t service;
    uint16_t code;
    uint32_t session;
    uint32_t length;
    Peer peer;
  };
  const Case cases[] = {
      {Kind::kRequest, 0, 0, 0, 0, Peer::kServer},
      {Kind::kSend, 0xFFFF, 0xFFFF, 0xFFFFFFFFu, kSmallMax, Peer::kServer},
      {Kind::kReply, 0x1234, 0x00FF, 0x80000001u, 1, Peer::kClient},
      {Kind::kPush, 3, 3, 0, 17, Peer::kClient},
      {Kind::kGoodbye, 0, 7, 0, 5, Peer::kClient},
  };
  for (const Case& c : cases) {
    FrameHeader h;
    h.kind = c.kind;
    h.service = c.service;
    h.code = c.code;
    h.session = c.session;
    h.length = c.length;
    std::vector<uint8_t> buf(kHeaderSize + c.length, 0);
    encode_header(h, buf.data());
    const Decoded d = decode_vec(buf, kSmallMax, c.peer);
    ASSERT_EQ(d.status, DecodeStatus::kFrame) << kind_name(c.kind);
    EXPECT_EQ(d.header.kind, c.kind);
    EXPECT_EQ(d.header.service, c.service);
    EXPECT_EQ(d.header.code, c.code);
    EXPECT_EQ(d.header.session, c.session);
    EXPECT_EQ(d.header.length, c.length);
  }
}

TEST(Codec, AppendHelpersWriteBigEndian) {
  std::string s;
  append_u8(s, 0xA1);
  append_u16(s, 0xB1B2);
  append_u32(s, 0xC1C2C3C4);
  append_u64(s, 0xD1D2D3D4D5D6D7D8ull);
  EXPECT_EQ(s, from_hex("a1 b1b2 c1c2c3c4 d1d2d3d4d5d6d7d8"));
}

TEST(Codec, GetHelpersReadWhatPutHelpersWrite) {
  uint8_t b[8];
  put_u16(b, 0xFEDC);
  EXPECT_EQ(get_u16(b), 0xFEDC);
  put_u32(b, 0xFEDCBA98u);
  EXPECT_EQ(get_u32(b), 0xFEDCBA98u);
  put_u64(b, 0xFEDCBA9876543210ull);
  EXPECT_EQ(get_u64(b), 0xFEDCBA9876543210ull);
}

// ---- names ----------------------------------------------------------------

TEST(Codec, NamesEveryStatus) {
  EXPECT_STREQ(status_name(Status::kOk), "OK");
  EXPECT_STREQ(status_name(Status::kBadRequest), "BAD_REQUEST");
  EXPECT_STREQ(status_name(Status::kNoService), "NO_SERVICE");
  EXPECT_STREQ(status_name(Status::kNoOp), "NO_OP");
  EXPECT_STREQ(status_name(Status::kNotFound), "NOT_FOUND");
  EXPECT_STREQ(status_name(Status::kTimeout), "TIMEOUT");
  EXPECT_STREQ(status_name(Status::kUnavailable), "UNAVAILABLE");
  EXPECT_STREQ(status_name(Status::kTooLarge), "TOO_LARGE");
  EXPECT_STREQ(status_name(Status::kBusy), "BUSY");
  EXPECT_STREQ(status_name(Status::kInternal), "INTERNAL");
  EXPECT_STREQ(status_name(Status::kDenied), "DENIED");
}

TEST(Codec, NamesUnknownStatusWithoutCrashing) {
  EXPECT_STREQ(status_name(static_cast<Status>(999)), "UNKNOWN");
}

TEST(Codec, NamesEveryGoodbyeReason) {
  EXPECT_STREQ(goodbye_name(Goodbye::kProtocol), "PROTOCOL");
  EXPECT_STREQ(goodbye_name(Goodbye::kTooLarge), "TOO_LARGE");
  EXPECT_STREQ(goodbye_name(Goodbye::kIdle), "IDLE");
  EXPECT_STREQ(goodbye_name(Goodbye::kSlow), "SLOW");
  EXPECT_STREQ(goodbye_name(Goodbye::kShutdown), "SHUTDOWN");
  EXPECT_STREQ(goodbye_name(Goodbye::kFull), "FULL");
  EXPECT_STREQ(goodbye_name(Goodbye::kKicked), "KICKED");
  EXPECT_STREQ(goodbye_name(Goodbye::kLimit), "LIMIT");
}

TEST(Codec, NamesEveryKind) {
  EXPECT_STREQ(kind_name(Kind::kRequest), "REQUEST");
  EXPECT_STREQ(kind_name(Kind::kReply), "REPLY");
  EXPECT_STREQ(kind_name(Kind::kSend), "SEND");
  EXPECT_STREQ(kind_name(Kind::kPush), "PUSH");
  EXPECT_STREQ(kind_name(Kind::kGoodbye), "GOODBYE");
}

}  // namespace
}  // namespace hazel

namespace hazel {
namespace {

TEST(Codec, BusAcceptsOnlyBusKinds) {
  for (unsigned k = 0; k < 256; ++k) {
    std::vector<uint8_t> h = raw_header(static_cast<uint8_t>(k), 0);
    Decoded d = decode_vec(h, kSmallMax, Peer::kBus);
    bool bus_kind = k >= kBusKindFirst && k <= kBusKindLast;
    EXPECT_EQ(d.status == DecodeStatus::kFrame, bus_kind) << "kind " << k;
  }
}

TEST(Codec, ServerAndClientRejectBusKinds) {
  std::vector<uint8_t> h = raw_header(kBusKindFirst, 0);
  expect_error(decode_vec(h, kSmallMax, Peer::kServer), Goodbye::kProtocol);
  expect_error(decode_vec(h, kSmallMax, Peer::kClient), Goodbye::kProtocol);
}

}  // namespace
}  // namespace hazel
