// hazel-bench's WebSocket client side (tools/bench/ws.h), written apart from
// the server's, checked against the server's own handshake check and frame
// reader (src/websocket.h): what one sends, the other must read.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "base64.h"
#include "bench/ws.h"
#include "hazel/frame.h"
#include "http.h"
#include "websocket.h"

namespace {

namespace bws = hazel_bench::ws;

const uint8_t* bytes(const std::string& s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

// What the server's reader makes of `wire`: the message it reads, or "" and
// a failed expectation.
std::string server_reads(std::string wire) {
  hazel::ws::Reader r(hazel::kHeaderSize + hazel::kDefaultMaxFrame);
  size_t used = 0;
  auto ev = r.read(reinterpret_cast<uint8_t*>(wire.data()), wire.size(), &used);
  EXPECT_EQ(ev, hazel::ws::Reader::Event::kMessage) << r.error();
  EXPECT_EQ(used, wire.size());
  return std::string(r.payload());
}

TEST(BenchWs, UpgradeRequestPassesTheServersHandshakeCheck) {
  std::string req = bws::upgrade_request("127.0.0.1:8080", bws::key_for(7));
  hazel::http::RequestParser p;
  ASSERT_EQ(p.parse(req), hazel::http::Parse::kDone) << p.error();
  EXPECT_EQ(p.head_size(), req.size());
  EXPECT_EQ(p.request().path, "/ws");
  hazel::ws::Handshake h = hazel::ws::check_handshake(p.request());
  EXPECT_EQ(h.status, 0) << h.why;
  EXPECT_TRUE(h.subprotocol);
}

TEST(BenchWs, KeysAreBase64OfSixteenBytesAndDifferPerConnection) {
  for (size_t i : {size_t{0}, size_t{1}, size_t{255}, size_t{1} << 40}) {
    auto raw = hazel::base64_decode(bws::key_for(i));
    ASSERT_TRUE(raw.has_value()) << bws::key_for(i);
    EXPECT_EQ(raw->size(), 16u);
  }
  EXPECT_NE(bws::key_for(1), bws::key_for(2));
}

TEST(BenchWs, UpgradeAnswerIsTheLengthOfA101Head) {
  const std::string ok =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
  std::string why;
  EXPECT_EQ(bws::upgrade_answer(bytes(ok + "\x82\x00"), ok.size() + 2, &why),
            static_cast<long>(ok.size()));
  for (size_t cut = 0; cut < ok.size(); ++cut)
    EXPECT_EQ(bws::upgrade_answer(bytes(ok), cut, &why), 0) << cut;
  const std::string refused = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(bws::upgrade_answer(bytes(refused), refused.size(), &why), -1);
  EXPECT_NE(why.find("403"), std::string::npos) << why;
}

TEST(BenchWs, WrappedFrameIsOneMaskedBinaryMessageTheServerReads) {
  std::string frame = hazel::encode_frame(hazel::Kind::kRequest, 1, 1, 9, "hello");
  std::string out = "before";
  out += frame;
  bws::wrap(out, 6, 0x11223344);
  ASSERT_EQ(out.substr(0, 6), "before");
  std::string wire = out.substr(6);
  EXPECT_EQ(static_cast<uint8_t>(wire[0]), 0x82);             // FIN, binary
  EXPECT_EQ(static_cast<uint8_t>(wire[1]), 0x80 | frame.size());  // MASK, length
  EXPECT_EQ(wire.substr(2, 4), "\x11\x22\x33\x44");
  EXPECT_NE(wire.substr(6), frame);  // masked on the wire
  EXPECT_EQ(server_reads(wire), frame);
}

TEST(BenchWs, WrapsSixteenAndSixtyFourBitLengths) {
  for (size_t body : {size_t{110}, size_t{200}, size_t{65519}, size_t{70000}}) {
    std::string frame = hazel::encode_frame(hazel::Kind::kRequest, 1, 1, 1,
                                            std::string(body, 'b'));
    std::string out = frame;
    bws::wrap(out, 0, 0xdeadbeef);
    uint8_t len7 = static_cast<uint8_t>(out[1]) & 0x7F;
    size_t n = frame.size();
    EXPECT_EQ(len7, n < 126 ? n : n <= 0xFFFF ? 126u : 127u) << n;
    EXPECT_EQ(server_reads(out), frame) << n;
  }
}

TEST(BenchWs, ParsesServerFramesWhereTheyLieAtEverySplit) {
  for (size_t len : {size_t{0}, size_t{125}, size_t{126}, size_t{70000}}) {
    std::string payload(len, 'p');
    uint8_t h[hazel::ws::kMaxHeader];
    size_t hn = hazel::ws::encode_header(h, hazel::ws::Opcode::kBinary, len);
    std::string wire(reinterpret_cast<char*>(h), hn);
    wire += payload;
    wire += "next";
    bws::Frame f = bws::parse(bytes(wire), wire.size());
    ASSERT_EQ(f.status, bws::Frame::kOk) << len;
    EXPECT_EQ(f.opcode, 0x2);
    EXPECT_TRUE(f.fin);
    EXPECT_EQ(f.payload, bytes(wire) + hn);
    EXPECT_EQ(f.length, len);
    EXPECT_EQ(f.size, hn + len);
    for (size_t cut : {size_t{0}, size_t{1}, hn - 1, hn + len - 1}) {
      if (cut >= hn + len) continue;
      EXPECT_EQ(bws::parse(bytes(wire), cut).status, bws::Frame::kNeedMore)
          << len << " cut at " << cut;
    }
  }
}

TEST(BenchWs, RefusesMaskedServerFrames) {
  std::string out = "abc";
  bws::wrap(out, 0, 1);  // a client frame: masked
  bws::Frame f = bws::parse(bytes(out), out.size());
  EXPECT_EQ(f.status, bws::Frame::kBad);
}

TEST(BenchWs, MaskingKeysChange) {
  uint32_t state = 0x9e3779b9;
  uint32_t a = bws::next_key(state);
  uint32_t b = bws::next_key(state);
  EXPECT_NE(a, b);
  EXPECT_NE(a, 0u);
}

}  // namespace
