#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http.h"
#include "websocket.h"

namespace hazel::ws {
namespace {

using Event = Reader::Event;

const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};

// A client frame: masked with kKey unless `masked` is false.
std::string frame(Opcode op, std::string_view payload, bool fin = true,
                  bool masked = true) {
  uint8_t hdr[kMaxHeader];
  size_t n = encode_header(hdr, op, payload.size(), fin, masked ? kKey : nullptr);
  std::string out(reinterpret_cast<char*>(hdr), n);
  std::string body(payload);
  if (masked) mask_payload(reinterpret_cast<uint8_t*>(body.data()), body.size(), kKey);
  return out + body;
}

std::string describe(Reader& r, Event e) {
  switch (e) {
    case Event::kNeedMore: return "more";
    case Event::kMessage: return "message:" + std::string(r.payload());
    case Event::kPing: return "ping:" + std::string(r.payload());
    case Event::kPong: return "pong:" + std::string(r.payload());
    case Event::kClose:
      return "close:" + std::to_string(r.close_code()) + ":" + std::string(r.payload());
    case Event::kError: return "error:" + std::to_string(r.error_code());
  }
  return "?";
}

// Feeds `wire` in pieces cut at `cuts` (ascending) and lists the events.
std::vector<std::string> events(std::string_view wire, std::vector<size_t> cuts = {},
                                size_t max_message = 1 << 20) {
  Reader r(max_message);
  std::vector<std::string> out;
  cuts.push_back(wire.size());
  size_t from = 0;
  for (size_t to : cuts) {
    std::string piece(wire.substr(from, to - from));
    from = to;
    auto* p = reinterpret_cast<uint8_t*>(piece.data());
    size_t n = piece.size();
    while (n > 0) {
      size_t used = 0;
      Event e = r.read(p, n, &used);
      EXPECT_LE(used, n);
      p += used;
      n -= used;
      if (e == Event::kNeedMore) {
        EXPECT_EQ(n, 0u);
        break;
      }
      out.push_back(describe(r, e));
      if (e == Event::kError || e == Event::kClose) return out;
    }
  }
  return out;
}

using Events = std::vector<std::string>;

// ---- handshake -------------------------------------------------------------------

std::string upgrade(std::string_view extra = {},
                    std::string_view key = "dGhlIHNhbXBsZSBub25jZQ==") {
  return "GET /ws HTTP/1.1\r\n"
         "Host: server.example.com\r\n"
         "Upgrade: websocket\r\n"
         "Connection: Upgrade\r\n"
         "Sec-WebSocket-Key: " + std::string(key) + "\r\n"
         "Sec-WebSocket-Version: 13\r\n" + std::string(extra) + "\r\n";
}

Handshake check(const std::string& text) {
  http::RequestParser p;
  EXPECT_EQ(p.parse(text), http::Parse::kDone) << p.error() << "\n" << text;
  return check_handshake(p.request());
}

TEST(WebSocket, ComputesTheRfcExampleAccept) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocket, AcceptsAValidHandshake) {
  Handshake h = check(upgrade());
  EXPECT_EQ(h.status, 0) << h.why;
  EXPECT_EQ(h.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_FALSE(h.subprotocol);
  EXPECT_EQ(handshake_response(h),
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
}

TEST(WebSocket, SelectsHazelV1WhenOffered) {
  Handshake h = check(upgrade("Sec-WebSocket-Protocol: chat, hazel.v1\r\n"));
  ASSERT_EQ(h.status, 0) << h.why;
  EXPECT_TRUE(h.subprotocol);
  EXPECT_NE(handshake_response(h).find("\r\nSec-WebSocket-Protocol: hazel.v1\r\n"),
            std::string::npos);
}

TEST(WebSocket, SelectsNoSubprotocolWhenHazelV1IsNotOffered) {
  Handshake h = check(upgrade("Sec-WebSocket-Protocol: chat, Hazel.V1\r\n"));
  ASSERT_EQ(h.status, 0) << h.why;
  EXPECT_FALSE(h.subprotocol);
  EXPECT_EQ(handshake_response(h).find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(WebSocket, ReadsHandshakeFieldsCaseInsensitively) {
  Handshake h = check(
      "GET /ws HTTP/1.1\r\nhost: h\r\nUPGRADE: WebSocket\r\n"
      "connection: keep-alive, upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "SEC-WEBSOCKET-VERSION: 13\r\n\r\n");
  EXPECT_EQ(h.status, 0) << h.why;
}

TEST(WebSocket, RefusesAHandshakeWithoutUpgradeOrConnection) {
  std::string no_upgrade = upgrade();
  no_upgrade.replace(no_upgrade.find("Upgrade: websocket"), 18, "Upgrade: h2c");
  EXPECT_EQ(check(no_upgrade).status, 400);
  std::string no_conn = upgrade();
  no_conn.replace(no_conn.find("Connection: Upgrade"), 19, "Connection: close");
  EXPECT_EQ(check(no_conn).status, 400);
  EXPECT_EQ(check("GET /ws HTTP/1.1\r\nHost: h\r\n\r\n").status, 400);
}

TEST(WebSocket, RefusesABadKey) {
  EXPECT_EQ(check(upgrade({}, "not base64!")).status, 400);
  EXPECT_EQ(check(upgrade({}, "dGhlIHNhbXBsZQ==")).status, 400);  // 10 bytes
  EXPECT_EQ(check(upgrade("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n")).status,
            400);  // two keys
  std::string none = upgrade();
  none.erase(none.find("Sec-WebSocket-Key"), 45);
  EXPECT_EQ(check(none).status, 400);
}

TEST(WebSocket, Answers426WithVersion13ToOtherVersions) {
  std::string v8 = upgrade();
  v8.replace(v8.find("Version: 13"), 11, "Version: 8");
  Handshake h = check(v8);
  EXPECT_EQ(h.status, 426);
  EXPECT_EQ(h.fields, "Sec-WebSocket-Version: 13\r\n");
  std::string none = upgrade();
  none.erase(none.find("Sec-WebSocket-Version"), 27);
  EXPECT_EQ(check(none).status, 426);
  EXPECT_EQ(check(upgrade("Sec-WebSocket-Version: 13\r\n")).status, 426);
}

TEST(WebSocket, RefusesOtherMethodsVersionsAndBodies) {
  std::string post = upgrade();
  post.replace(0, 3, "POST");
  Handshake h = check(post);
  EXPECT_EQ(h.status, 405);
  EXPECT_EQ(h.fields, "Allow: GET\r\n");
  std::string v10 = upgrade();
  v10.replace(v10.find("HTTP/1.1"), 8, "HTTP/1.0");
  EXPECT_EQ(check(v10).status, 400);
  EXPECT_EQ(check(upgrade("Content-Length: 3\r\n")).status, 400);
}

TEST(WebSocket, ChecksTheOriginOnlyWhenOriginsAreListed) {
  const std::string with_text = upgrade("Origin: https://Chat.Example.com\r\n");
  const std::string without_text = upgrade();
  const std::string other_text = upgrade("Origin: https://evil.example\r\n");
  http::RequestParser with, without, other;
  ASSERT_EQ(with.parse(with_text), http::Parse::kDone);
  ASSERT_EQ(without.parse(without_text), http::Parse::kDone);
  ASSERT_EQ(other.parse(other_text), http::Parse::kDone);
  std::vector<std::string> any;
  std::vector<std::string> listed = {"http://localhost:8080", "https://chat.example.com"};
  EXPECT_TRUE(origin_allowed(other.request(), any));
  EXPECT_TRUE(origin_allowed(with.request(), listed));
  EXPECT_FALSE(origin_allowed(other.request(), listed));
  EXPECT_TRUE(origin_allowed(without.request(), listed));  // not a browser
}

// ---- frames: encoding --------------------------------------------------------------

TEST(WebSocket, EncodesTheShortestLengthForm) {
  uint8_t h[kMaxHeader];
  EXPECT_EQ(encode_header(h, Opcode::kBinary, 125), 2u);
  EXPECT_EQ(h[0], 0x82);
  EXPECT_EQ(h[1], 125);
  EXPECT_EQ(encode_header(h, Opcode::kBinary, 126), 4u);
  EXPECT_EQ(h[1], 126);
  EXPECT_EQ(h[2], 0);
  EXPECT_EQ(h[3], 126);
  EXPECT_EQ(encode_header(h, Opcode::kBinary, 65535), 4u);
  EXPECT_EQ(encode_header(h, Opcode::kBinary, 65536), 10u);
  EXPECT_EQ(h[1], 127);
  EXPECT_EQ(get_u64(h + 2), 65536u);
  EXPECT_EQ(encode_header(h, Opcode::kPing, 0, true, kKey), 6u);
  EXPECT_EQ(h[1], 0x80);
  EXPECT_EQ(encode_header(h, Opcode::kBinary, 1, false), 2u);
  EXPECT_EQ(h[0], 0x02);
}

TEST(WebSocket, MasksFromAnyOffset) {
  std::string data = "The quick brown fox jumps over the lazy dog";
  std::string whole = data;
  mask_payload(reinterpret_cast<uint8_t*>(whole.data()), whole.size(), kKey);
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    std::string parts = data;
    auto* p = reinterpret_cast<uint8_t*>(parts.data());
    mask_payload(p, cut, kKey, 0);
    mask_payload(p + cut, parts.size() - cut, kKey, cut);
    EXPECT_EQ(parts, whole) << cut;
  }
  EXPECT_EQ(static_cast<uint8_t>(whole[0]), 'T' ^ kKey[0]);
  EXPECT_EQ(static_cast<uint8_t>(whole[5]), 'u' ^ kKey[1]);
}

TEST(WebSocket, WritesACloseFrame) {
  std::string f = close_frame(1002, "bad");
  EXPECT_EQ(f, std::string("\x88\x05\x03\xea" "bad", 7));
  // The reason is cut to 123 bytes, never inside a character.
  std::string euro;
  for (int i = 0; i < 50; ++i) euro += "\xe2\x82\xac";  // 150 bytes
  f = close_frame(1000, euro);
  EXPECT_EQ(f.size(), 2u + 2u + 123u);
  EXPECT_TRUE(valid_utf8(f.substr(4)));
  euro = "x" + euro;
  f = close_frame(1000, euro);
  EXPECT_EQ(f.size(), 2u + 2u + 121u);
  EXPECT_TRUE(valid_utf8(f.substr(4)));
}

TEST(WebSocket, PairsEachGoodbyeWithACloseCode) {
  EXPECT_EQ(close_code_for(Goodbye::kProtocol), 1002);
  EXPECT_EQ(close_code_for(Goodbye::kTooLarge), 1009);
  EXPECT_EQ(close_code_for(Goodbye::kIdle), 1000);
  EXPECT_EQ(close_code_for(Goodbye::kSlow), 1008);
  EXPECT_EQ(close_code_for(Goodbye::kShutdown), 1001);
  EXPECT_EQ(close_code_for(Goodbye::kFull), 1013);
  EXPECT_EQ(close_code_for(Goodbye::kKicked), 1008);
  EXPECT_EQ(close_code_for(Goodbye::kLimit), 1008);
  EXPECT_EQ(close_code_for(static_cast<Goodbye>(99)), 1008);
}

TEST(WebSocket, ValidatesUtf8) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("hello \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(valid_utf8("\x80"));
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // beyond U+10FFFF
  EXPECT_FALSE(valid_utf8("\xe2\x82"));          // cut short
  EXPECT_FALSE(valid_utf8("\xff"));
}

// ---- frames: decoding ----------------------------------------------------------------

TEST(WebSocket, DecodesAMaskedBinaryMessageInPlace) {
  std::string wire = frame(Opcode::kBinary, "hello");
  Reader r(1024);
  size_t used = 0;
  auto* p = reinterpret_cast<uint8_t*>(wire.data());
  ASSERT_EQ(r.read(p, wire.size(), &used), Event::kMessage);
  EXPECT_EQ(used, wire.size());
  EXPECT_EQ(r.payload(), "hello");
  EXPECT_EQ(r.payload().data(), wire.data() + 6);  // no copy
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(WebSocket, DecodesEveryLengthForm) {
  for (size_t len : {0, 1, 125, 126, 127, 65535, 65536, 70000}) {
    std::string payload(len, 'x');
    for (size_t i = 0; i < len; ++i) payload[i] = static_cast<char>(i * 31);
    EXPECT_EQ(events(frame(Opcode::kBinary, payload)), Events{"message:" + payload})
        << len;
  }
}

TEST(WebSocket, DecodesTheSameWhereverTheInputIsCut) {
  std::string wire = frame(Opcode::kBinary, "one", false) + frame(Opcode::kPing, "p") +
                     frame(Opcode::kContinuation, std::string(200, 'z'), true) +
                     frame(Opcode::kBinary, "two") + frame(Opcode::kPong, "") +
                     frame(Opcode::kClose, "\x03\xe8" "bye");
  Events want = {"ping:p", "message:one" + std::string(200, 'z'), "message:two", "pong:",
                 "close:1000:bye"};
  ASSERT_EQ(events(wire), want);
  for (size_t cut = 0; cut <= wire.size(); ++cut)
    EXPECT_EQ(events(wire, {cut}), want) << "cut at " << cut;
  std::vector<size_t> every;
  for (size_t i = 1; i < wire.size(); ++i) every.push_back(i);
  EXPECT_EQ(events(wire, every), want) << "one byte at a time";
}

TEST(WebSocket, ReassemblesAFragmentedMessage) {
  std::string wire = frame(Opcode::kBinary, "ab", false) +
                     frame(Opcode::kContinuation, "", false) +
                     frame(Opcode::kContinuation, "cd", false) +
                     frame(Opcode::kContinuation, "e", true);
  EXPECT_EQ(events(wire), Events{"message:abcde"});
}

TEST(WebSocket, AnswersControlFramesBetweenFragments) {
  std::string wire = frame(Opcode::kBinary, "ab", false) + frame(Opcode::kPing, "1") +
                     frame(Opcode::kPong, "2") + frame(Opcode::kContinuation, "c", true);
  EXPECT_EQ(events(wire), (Events{"ping:1", "pong:2", "message:abc"}));
}

TEST(WebSocket, RefusesAnUnmaskedClientFrame) {
  EXPECT_EQ(events(frame(Opcode::kBinary, "x", true, false)), Events{"error:1002"});
  EXPECT_EQ(events(frame(Opcode::kPing, "", true, false)), Events{"error:1002"});
}

TEST(WebSocket, RefusesATextMessageWith1003) {
  EXPECT_EQ(events(frame(Opcode::kText, "hi")), Events{"error:1003"});
  // Known from the first two bytes: the payload is never needed.
  EXPECT_EQ(events(frame(Opcode::kText, std::string(1000, 'a')).substr(0, 2)),
            Events{"error:1003"});
}

TEST(WebSocket, RefusesReservedOpcodesAndRsvBits) {
  for (int op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    std::string f = frame(Opcode::kBinary, "x");
    f[0] = static_cast<char>(0x80 | op);
    EXPECT_EQ(events(f), Events{"error:1002"}) << int(op);
  }
  for (int rsv : {0x40, 0x20, 0x10}) {
    std::string f = frame(Opcode::kBinary, "x");
    f[0] = static_cast<char>(f[0] | rsv);
    EXPECT_EQ(events(f), Events{"error:1002"}) << int(rsv);
  }
}

TEST(WebSocket, RefusesBadFragmentation) {
  EXPECT_EQ(events(frame(Opcode::kContinuation, "x")), Events{"error:1002"});
  EXPECT_EQ(events(frame(Opcode::kBinary, "a", false) + frame(Opcode::kBinary, "b")),
            Events{"error:1002"});
  EXPECT_EQ(events(frame(Opcode::kPing, "a", false)), Events{"error:1002"});
}

TEST(WebSocket, RefusesControlFramesOver125Bytes) {
  EXPECT_EQ(events(frame(Opcode::kPing, std::string(125, 'p'))),
            Events{"ping:" + std::string(125, 'p')});
  EXPECT_EQ(events(frame(Opcode::kPing, std::string(126, 'p'))), Events{"error:1002"});
  EXPECT_EQ(events(frame(Opcode::kClose, std::string(126, 'p'))), Events{"error:1002"});
}

TEST(WebSocket, RefusesLengthsNotInTheirShortestForm) {
  uint8_t h[kMaxHeader] = {0x82, 0x80 | 126, 0, 125, 1, 2, 3, 4};
  std::string f(reinterpret_cast<char*>(h), 8);
  EXPECT_EQ(events(f + std::string(125, 'x')), Events{"error:1002"});
  uint8_t h64[kMaxHeader] = {0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 1, 2, 3, 4};
  EXPECT_EQ(events(std::string(reinterpret_cast<char*>(h64), 14)), Events{"error:1002"});
  uint8_t top[kMaxHeader] = {0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  EXPECT_EQ(events(std::string(reinterpret_cast<char*>(top), 14)), Events{"error:1002"});
}

TEST(WebSocket, RefusesAMessageOverTheLimitBeforeItsPayload) {
  // Only the header is given: the length alone decides.
  EXPECT_EQ(events(frame(Opcode::kBinary, std::string(101, 'x')).substr(0, 8), {}, 100),
            Events{"error:1009"});
  EXPECT_EQ(events(frame(Opcode::kBinary, std::string(100, 'x')), {}, 100),
            Events{"message:" + std::string(100, 'x')});
  // Fragments add up.
  std::string wire = frame(Opcode::kBinary, std::string(60, 'a'), false) +
                     frame(Opcode::kContinuation, std::string(41, 'b'), true);
  EXPECT_EQ(events(wire, {}, 100), Events{"error:1009"});
  // A huge 64-bit length.
  uint8_t h[kMaxHeader];
  size_t n = encode_header(h, Opcode::kBinary, uint64_t{1} << 40, true, kKey);
  EXPECT_EQ(events(std::string(reinterpret_cast<char*>(h), n), {}, 100),
            Events{"error:1009"});
}

TEST(WebSocket, ReadsCloseCodesAndReasons) {
  EXPECT_EQ(events(frame(Opcode::kClose, "")), Events{"close:1005:"});
  EXPECT_EQ(events(frame(Opcode::kClose, "\x0f\xa0" "app")), Events{"close:4000:app"});
  EXPECT_EQ(events(frame(Opcode::kClose, "\x03")), Events{"error:1002"});
  for (int bad : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000}) {
    std::string p = {static_cast<char>(bad >> 8), static_cast<char>(bad & 0xFF)};
    EXPECT_EQ(events(frame(Opcode::kClose, p)), Events{"error:1002"}) << bad;
  }
  EXPECT_EQ(events(frame(Opcode::kClose, "\x03\xe8\xff")), Events{"error:1007"});
}

TEST(WebSocket, ReadsNothingAfterAClose) {
  std::string wire = frame(Opcode::kClose, "\x03\xe8") + frame(Opcode::kBinary, "late");
  EXPECT_EQ(events(wire), Events{"close:1000:"});
  Reader r(100);
  size_t used = 0;
  auto* p = reinterpret_cast<uint8_t*>(wire.data());
  ASSERT_EQ(r.read(p, wire.size(), &used), Event::kClose);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.read(p + used, wire.size() - used, &used), Event::kNeedMore);
}

TEST(WebSocket, KeepsAnAssembledPayloadUntilTheNextRead) {
  std::string wire = frame(Opcode::kBinary, "ab", false) +
                     frame(Opcode::kContinuation, "cd", true) + frame(Opcode::kBinary, "ef");
  Reader r(100);
  auto* p = reinterpret_cast<uint8_t*>(wire.data());
  size_t n = wire.size(), used = 0;
  ASSERT_EQ(r.read(p, n, &used), Event::kMessage);
  EXPECT_EQ(r.payload(), "abcd");
  EXPECT_EQ(r.buffered(), 4u);
  p += used;
  n -= used;
  ASSERT_EQ(r.read(p, n, &used), Event::kMessage);
  EXPECT_EQ(r.payload(), "ef");
  EXPECT_EQ(r.buffered(), 0u);
}

}  // namespace
}  // namespace hazel::ws
