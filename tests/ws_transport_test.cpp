// The WebSocket transport on real sockets, through a whole daemon: after the
// upgrade every binary message carries one hazel frame both ways; a text
// message, a message that is not one frame, an unmasked frame or one too
// large gets its GOODBYE and then a Close with the matching code; Ping gets
// Pong; a client's Close is answered; a WebSocket client is an ordinary
// client (ids, TELL to and from a TCP client, INFO clients_ws).
#include <gtest/gtest.h>

#include <string>

#include "auth_util.h"
#include "http_util.h"
#include "kv_room_util.h"
#include "net_util.h"
#include "test_server.h"
#include "websocket.h"

namespace hazel::test {
namespace {

// One WebSocket client connection, upgraded, with a masking client side.
class WsClient {
 public:
  explicit WsClient(uint16_t port) : conn_(port) {
    EXPECT_TRUE(conn_.send_all(ws_upgrade()));
    EXPECT_TRUE(conn_.read_head());
    EXPECT_EQ(conn_.reply().status, 101);
    size_t end = conn_.in().find("\r\n\r\n");
    buf_ = conn_.in().substr(end + 4);
  }

  // Sends one frame of opcode `op` (masked unless told not to).
  void send(ws::Opcode op, std::string_view payload, bool masked = true,
            bool fin = true) {
    const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    uint8_t hdr[ws::kMaxHeader];
    size_t n = ws::encode_header(hdr, op, payload.size(), fin,
                                 masked ? key : nullptr);
    std::string out(reinterpret_cast<const char*>(hdr), n);
    std::string body(payload);
    if (masked)
      ws::mask_payload(reinterpret_cast<uint8_t*>(body.data()), body.size(), key);
    ASSERT_TRUE(conn_.send_all(out + body)) << strerror(errno);
  }
  void send_frame(std::string_view hazel_frame) {
    send(ws::Opcode::kBinary, hazel_frame);
  }

  // The next server frame: its opcode and payload. False on timeout/EOF.
  bool next(ws::Opcode* op, std::string* payload, int timeout_ms = 5000) {
    auto have_frame = [&](const std::string& s, size_t* hdr, uint64_t* len) {
      if (s.size() < 2) return false;
      uint64_t l = static_cast<uint8_t>(s[1]) & 0x7f;
      size_t h = 2;
      if (l == 126) {
        if (s.size() < 4) return false;
        l = get_u16(reinterpret_cast<const uint8_t*>(s.data()) + 2);
        h = 4;
      } else if (l == 127) {
        if (s.size() < 10) return false;
        l = get_u64(reinterpret_cast<const uint8_t*>(s.data()) + 2);
        h = 10;
      }
      *hdr = h;
      *len = l;
      return s.size() >= h + l;
    };
    size_t h = 0;
    uint64_t len = 0;
    while (!have_frame(buf_, &h, &len)) {
      conn_.in().clear();
      bool more = conn_.read_until([](const std::string& s) { return !s.empty(); },
                                   timeout_ms);
      buf_ += conn_.in();
      if (!more && conn_.in().empty()) return false;
    }
    *op = static_cast<ws::Opcode>(static_cast<uint8_t>(buf_[0]) & 0x0f);
    *payload = buf_.substr(h, static_cast<size_t>(len));
    buf_.erase(0, h + static_cast<size_t>(len));
    return true;
  }

  // The next message, as a hazel frame (fails the test if it is not one).
  Frame next_frame() {
    ws::Opcode op{};
    std::string p;
    Frame f;
    f.header.kind = static_cast<Kind>(0);
    EXPECT_TRUE(next(&op, &p)) << "no WebSocket frame";
    EXPECT_EQ(op, ws::Opcode::kBinary);
    Decoded d = decode(reinterpret_cast<const uint8_t*>(p.data()), p.size(),
                       kDefaultMaxFrame, Peer::kClient);
    EXPECT_EQ(d.status, DecodeStatus::kFrame);
    EXPECT_EQ(kHeaderSize + d.header.length, p.size());
    f.header = d.header;
    f.body = p.substr(kHeaderSize);
    return f;
  }

  // Expects a Close with `code` next.
  void expect_close(uint16_t code) {
    ws::Opcode op{};
    std::string p;
    ASSERT_TRUE(next(&op, &p)) << "no Close";
    EXPECT_EQ(op, ws::Opcode::kClose);
    ASSERT_GE(p.size(), 2u);
    EXPECT_EQ(get_u16(reinterpret_cast<const uint8_t*>(p.data())), code);
  }

  bool closed(int timeout_ms = 5000) { return conn_.read_to_eof(timeout_ms); }

 private:
  HttpConn conn_;
  std::string buf_;
};

class WsTransport : public ServerTest {
 protected:
  void SetUp() override {
    Config cfg = test_config();
    cfg.ws_listen = true;
    start_server(cfg);
  }
  uint16_t ws_port() { return server().daemon().ws_port(); }
};

TEST_F(WsTransport, ABinaryMessageCarriesOneRequestAndItsReplyComesBackTheSameWay) {
  WsClient c(ws_port());
  c.send_frame(request(sys::kId, kPing, 7, "hello"));
  expect_reply(c.next_frame(), 7, "hello");
}

TEST_F(WsTransport, MessagesSplitIntoFragmentsAreReassembled) {
  WsClient c(ws_port());
  std::string f = request(echo::kId, echo::kEcho, 3, std::string(3000, 'e'));
  c.send(ws::Opcode::kBinary, f.substr(0, 10), true, false);
  c.send(ws::Opcode::kContinuation, f.substr(10, 1000), true, false);
  c.send(ws::Opcode::kContinuation, f.substr(1010), true, true);
  expect_reply(c.next_frame(), 3, std::string(3000, 'e'));
}

TEST_F(WsTransport, ALargeReplyComesBackAsOneMessage) {
  WsClient c(ws_port());
  std::string body(200000, 'x');
  c.send_frame(request(echo::kId, echo::kEcho, 1, body));
  expect_reply(c.next_frame(), 1, body);
}

TEST_F(WsTransport, PingIsAnsweredWithPongCarryingItsData) {
  WsClient c(ws_port());
  c.send(ws::Opcode::kPing, "are you there");
  ws::Opcode op{};
  std::string p;
  ASSERT_TRUE(c.next(&op, &p));
  EXPECT_EQ(op, ws::Opcode::kPong);
  EXPECT_EQ(p, "are you there");
}

TEST_F(WsTransport, ATextMessageGetsGoodbyeProtocolThenClose1003) {
  WsClient c(ws_port());
  c.send(ws::Opcode::kText, "hello");
  expect_goodbye(c.next_frame(), Goodbye::kProtocol);
  c.expect_close(1003);
  EXPECT_TRUE(c.closed());
}

TEST_F(WsTransport, AMessageThatIsNotExactlyOneFrameGetsGoodbyeProtocolThenClose1002) {
  WsClient c(ws_port());
  std::string two = request(sys::kId, kPing, 1, "a") + request(sys::kId, kPing, 2, "b");
  c.send_frame(two);
  expect_goodbye(c.next_frame(), Goodbye::kProtocol);
  c.expect_close(1002);
}

TEST_F(WsTransport, AnUnmaskedFrameGetsGoodbyeProtocolThenClose1002) {
  WsClient c(ws_port());
  c.send(ws::Opcode::kBinary, request(sys::kId, kPing, 1, "x"), false);
  expect_goodbye(c.next_frame(), Goodbye::kProtocol);
  c.expect_close(1002);
}

TEST_F(WsTransport, ABadHazelHeaderInAMessageGetsItsGoodbyeAndTheMatchingClose) {
  WsClient c(ws_port());
  std::string f = request(sys::kId, kPing, 1, "x");
  f[0] = 'X';  // bad magic
  c.send_frame(f);
  expect_goodbye(c.next_frame(), Goodbye::kProtocol);
  c.expect_close(1002);
}

TEST_F(WsTransport, AMessageLongerThanMaxFrameGetsGoodbyeTooLargeThenClose1009) {
  WsClient c(ws_port());
  c.send(ws::Opcode::kBinary, std::string(kHeaderSize + kDefaultMaxFrame + 1, 'z'));
  expect_goodbye(c.next_frame(), Goodbye::kTooLarge);
  c.expect_close(1009);
}

TEST_F(WsTransport, AClientsCloseIsAnsweredWithACloseAndTheConnectionEnds) {
  WsClient c(ws_port());
  std::string code("\x03\xe8", 2);  // 1000
  c.send(ws::Opcode::kClose, code);
  c.expect_close(1000);
  EXPECT_TRUE(c.closed());
}

TEST_F(WsTransport, AWebSocketClientAndATcpClientTellEachOther) {
  WsClient w(ws_port());
  auto t = connect();
  uint64_t tcp_id = hello_id(*t);
  w.send_frame(request(sys::kId, sys::kHello, 1, {}));
  Frame hello = w.next_frame();
  size_t at = hello.body.find("client=");
  ASSERT_NE(at, std::string::npos) << hello.body;
  uint64_t ws_id = std::stoull(hello.body.substr(at + 7));
  // WebSocket → TCP.
  w.send_frame(request(sys::kId, kTell, 2, u64_bytes(tcp_id) + "to tcp"));
  expect_status(w.next_frame(), Status::kOk);
  Frame p;
  std::string err;
  ASSERT_TRUE(t->next_push(&p, 5000, &err)) << err;
  expect_push_frame(p, sys::kId, kTell, u64_bytes(ws_id) + "to tcp");
  // TCP → WebSocket.
  Frame r;
  ASSERT_TRUE(t->call(sys::kId, kTell, u64_bytes(ws_id) + "to ws", &r, 5000, &err))
      << err;
  EXPECT_TRUE(r.ok());
  expect_push_frame(w.next_frame(), sys::kId, kTell, u64_bytes(tcp_id) + "to ws");
}

TEST_F(WsTransport, InfoCountsWebSocketClients) {
  auto t = connect();
  EXPECT_EQ(info_value(*t, "clients_ws"), 0);
  {
    WsClient w(ws_port());
    w.send_frame(request(sys::kId, kPing, 1, {}));
    w.next_frame();
    EXPECT_EQ(info_value(*t, "clients_ws"), 1);
    EXPECT_EQ(info_value(*t, "clients"), 2);
  }
  EXPECT_TRUE(eventually([&] { return info_value(*t, "clients_ws") == 0; }));
}

TEST_F(WsTransport, ShutdownSendsGoodbyeThenClose1001) {
  WsClient w(ws_port());
  w.send_frame(request(sys::kId, kPing, 1, {}));
  w.next_frame();
  server().daemon().stop();
  expect_goodbye(w.next_frame(), Goodbye::kShutdown);
  w.expect_close(1001);
}

// A WebSocket client is held to --max-output like any other: one that does
// not read what its room sends it is cut with GOODBYE SLOW, queued behind
// what it has not read, and the Close that goes with it.
TEST(WsTransportLimits, AClientThatDoesNotReadItsRoomGetsGoodbyeSlowThenClose1008) {
  Config cfg = test_config();
  cfg.ws_listen = true;
  cfg.max_output = 256 * 1024;
  TestServer server(cfg);
  server.start();
  WsClient w(server.daemon().ws_port());
  w.send_frame(request(room::kId, room::kJoin, 1, "slow"));
  expect_status(w.next_frame(), Status::kOk);
  auto pub = server.connect();
  const std::string payload(32 * 1024, 'x');
  // Past what the sockets hold: the server lets the client go (it leaves
  // the client table at once).
  ASSERT_TRUE(eventually([&] {
    kvroom::publish(*pub, "slow", payload);
    return info_value(*pub, "clients_ws") == 0;
  }, 30000));
  for (;;) {
    Frame f = w.next_frame();
    if (f.header.kind == Kind::kPush) continue;
    expect_goodbye(f, Goodbye::kSlow);
    break;
  }
  w.expect_close(1008);
}

// Tokens hold for WebSocket clients as for TCP ones: the check is behind
// the transport, where requests reach their services.
TEST(WsTransportAuth, AWebSocketClientNeedsATokenLikeAnyOther) {
  TempFile secret(kTestKey + "\n");
  Config cfg = test_config();
  cfg.ws_listen = true;
  cfg.auth_secret_file = secret.path();
  TestServer server(cfg);
  server.start();
  WsClient c(server.daemon().ws_port());
  c.send_frame(request(kv::kId, kv::kGet, 1, "k"));
  expect_status(c.next_frame(), Status::kDenied);
  c.send_frame(request(sys::kId, sys::kAuth, 2, mint(TokenSpec{})));
  expect_status(c.next_frame(), Status::kOk);
  c.send_frame(request(kv::kId, kv::kGet, 3, "k"));
  expect_status(c.next_frame(), Status::kNotFound);
  server.stop();
}

}  // namespace
}  // namespace hazel::test
