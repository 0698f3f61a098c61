#include <gtest/gtest.h>

#include <string>

#include "http.h"

namespace hazel::http {
namespace {

constexpr const char* kGet =
    "GET /ws?room=lobby HTTP/1.1\r\n"
    "Host: example.com:8080\r\n"
    "Upgrade:   websocket  \r\n"
    "connection: keep-alive, Upgrade\r\n"
    "X-Empty:\r\n"
    "\r\n";

// Parses `text` in one call; returns the status (the parser is kept for
// inspection).
Parse parse_all(RequestParser& p, std::string_view text) { return p.parse(text); }

int error_of(std::string_view text) {
  RequestParser p;
  Parse r = p.parse(text);
  EXPECT_EQ(r, Parse::kError) << text;
  return p.error_status();
}

TEST(Http, ParsesTheRequestLineAndHeaderFields) {
  RequestParser p;
  ASSERT_EQ(parse_all(p, kGet), Parse::kDone) << p.error();
  const Request& r = p.request();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/ws?room=lobby");
  EXPECT_EQ(r.path, "/ws");
  EXPECT_EQ(r.query, "room=lobby");
  EXPECT_EQ(r.minor, 1);
  ASSERT_EQ(r.header_count, 4u);
  EXPECT_EQ(r.headers[1].name, "Upgrade");
  EXPECT_EQ(r.headers[1].value, "websocket");  // whitespace trimmed
  EXPECT_EQ(r.get("x-empty"), "");
  EXPECT_EQ(p.head_size(), std::string_view(kGet).size());
}

TEST(Http, LooksUpHeaderFieldsCaseInsensitively) {
  RequestParser p;
  ASSERT_EQ(parse_all(p, kGet), Parse::kDone);
  EXPECT_EQ(p.request().get("HOST"), "example.com:8080");
  EXPECT_EQ(p.request().get("Connection"), "keep-alive, Upgrade");
  EXPECT_FALSE(p.request().get("Origin").has_value());
  EXPECT_EQ(p.request().count("upgrade"), 1u);
}

TEST(Http, FindsTokensInCommaSeparatedFields) {
  RequestParser p;
  ASSERT_EQ(parse_all(p, kGet), Parse::kDone);
  EXPECT_TRUE(p.request().has_token("Connection", "upgrade"));
  EXPECT_TRUE(p.request().has_token("Connection", "KEEP-ALIVE"));
  EXPECT_FALSE(p.request().has_token("Connection", "close"));
  EXPECT_TRUE(p.request().has_token("Connection", "Upgrade", /*exact=*/true));
  EXPECT_FALSE(p.request().has_token("Connection", "upgrade", /*exact=*/true));
  EXPECT_FALSE(p.request().has_token("Missing", "x"));
}

TEST(Http, FindsTokensAcrossRepeatedFields) {
  RequestParser p;
  ASSERT_EQ(p.parse("GET / HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Protocol: a, b\r\n"
                    "Sec-WebSocket-Protocol: hazel.v1\r\n\r\n"),
            Parse::kDone);
  EXPECT_TRUE(p.request().has_token("sec-websocket-protocol", "hazel.v1", true));
  EXPECT_TRUE(p.request().has_token("sec-websocket-protocol", "b", true));
  EXPECT_FALSE(p.request().has_token("sec-websocket-protocol", "Hazel.V1", true));
}

TEST(Http, NeedsMoreUntilTheBlankLine) {
  std::string text = kGet;
  RequestParser p;
  EXPECT_EQ(p.parse(text.substr(0, text.size() - 2)), Parse::kNeedMore);
  EXPECT_EQ(p.parse(text.substr(0, text.size() - 1)), Parse::kNeedMore);
  EXPECT_EQ(p.parse(text), Parse::kDone);
}

TEST(Http, GivesTheSameResultWhereverTheInputIsCut) {
  const std::string text = kGet;
  for (size_t cut = 0; cut < text.size(); ++cut) {
    RequestParser p;
    EXPECT_EQ(p.parse(std::string_view(text).substr(0, cut)), Parse::kNeedMore)
        << "cut at " << cut;
    ASSERT_EQ(p.parse(text), Parse::kDone) << "cut at " << cut << ": " << p.error();
    EXPECT_EQ(p.request().path, "/ws");
    EXPECT_EQ(p.request().get("upgrade"), "websocket");
    EXPECT_EQ(p.request().header_count, 4u);
  }
}

TEST(Http, ParsesByteByByte) {
  const std::string text = kGet;
  RequestParser p;
  for (size_t n = 1; n < text.size(); ++n)
    ASSERT_EQ(p.parse(std::string_view(text).substr(0, n)), Parse::kNeedMore) << n;
  ASSERT_EQ(p.parse(text), Parse::kDone);
  EXPECT_EQ(p.request().get("host"), "example.com:8080");
}

TEST(Http, LeavesWhatFollowsTheHeadOutOfIt) {
  std::string text = std::string(kGet) + "\x82\x85rest";
  RequestParser p;
  ASSERT_EQ(p.parse(text), Parse::kDone);
  EXPECT_EQ(text.substr(p.head_size()), "\x82\x85rest");
}

TEST(Http, AcceptsHttp10WithoutHost) {
  RequestParser p;
  ASSERT_EQ(p.parse("GET / HTTP/1.0\r\n\r\n"), Parse::kDone) << p.error();
  EXPECT_EQ(p.request().minor, 0);
}

TEST(Http, AcceptsAHeadOfExactly8KiB) {
  std::string text = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
  text += std::string(kMaxHead - text.size() - 4, 'a');
  text += "\r\n\r\n";
  ASSERT_EQ(text.size(), kMaxHead);
  RequestParser p;
  EXPECT_EQ(p.parse(text), Parse::kDone) << p.error();
}

TEST(Http, Answers431ToAHeadOver8KiB) {
  std::string text = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
  text += std::string(kMaxHead - text.size() - 3, 'a');
  text += "\r\n\r\n";
  ASSERT_EQ(text.size(), kMaxHead + 1);
  EXPECT_EQ(error_of(text), 431);
  // Without a line end at all, as soon as 8 KiB are there.
  RequestParser p;
  EXPECT_EQ(p.parse(std::string(kMaxHead - 1, 'G')), Parse::kNeedMore);
  EXPECT_EQ(p.parse(std::string(kMaxHead, 'G')), Parse::kError);
  EXPECT_EQ(p.error_status(), 431);
}

TEST(Http, Answers431ToTooManyHeaderFields) {
  std::string text = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (size_t i = 1; i < kMaxHeaders; ++i) text += "X-" + std::to_string(i) + ": v\r\n";
  RequestParser ok;
  EXPECT_EQ(ok.parse(text + "\r\n"), Parse::kDone);
  EXPECT_EQ(error_of(text + "X-last: v\r\n\r\n"), 431);
}

TEST(Http, RefusesLinesNotEndedByCrlf) {
  EXPECT_EQ(error_of("GET / HTTP/1.1\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\n\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\rX\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\r\n"), 400);
}

TEST(Http, RefusesABareCrSplitAcrossReads) {
  RequestParser p;
  EXPECT_EQ(p.parse("GET / HTTP/1.1\r"), Parse::kNeedMore);
  EXPECT_EQ(p.parse("GET / HTTP/1.1\rX"), Parse::kError);
  EXPECT_EQ(p.error_status(), 400);
}

TEST(Http, RefusesControlCharactersAsSoonAsTheyArrive) {
  RequestParser p;
  // A TLS ClientHello starts 16 03 01: refused before any line ends.
  EXPECT_EQ(p.parse(std::string("\x16\x03\x01", 3)), Parse::kError);
  EXPECT_EQ(p.error_status(), 400);
  const char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
  EXPECT_EQ(error_of(std::string(nul, sizeof nul - 1)), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n"), 400);
}

TEST(Http, AcceptsTabsAndObsTextInFieldValues) {
  RequestParser p;
  ASSERT_EQ(p.parse("GET / HTTP/1.1\r\nHost: h\r\nX: a\tb \xc3\xa9\r\n\r\n"),
            Parse::kDone)
      << p.error();
  EXPECT_EQ(p.request().get("x"), "a\tb \xc3\xa9");
}

TEST(Http, RefusesMalformedRequestLines) {
  EXPECT_EQ(error_of("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET /\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / http/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/11\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET /\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

TEST(Http, AcceptsOriginFormTargetsOnly) {
  EXPECT_EQ(error_of("GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET /a<b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  RequestParser p;
  ASSERT_EQ(p.parse("GET /a%2Fb/c;d=e?x=%20&y=@:! HTTP/1.1\r\nHost: h\r\n\r\n"),
            Parse::kDone)
      << p.error();
  EXPECT_EQ(p.request().path, "/a%2Fb/c;d=e");
  EXPECT_EQ(p.request().query, "x=%20&y=@:!");
}

TEST(Http, Answers505ToOtherHttpVersions) {
  EXPECT_EQ(error_of("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
  EXPECT_EQ(error_of("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), 505);
  EXPECT_EQ(error_of("GET / HTTP/0.9\r\nHost: h\r\n\r\n"), 505);
}

TEST(Http, RefusesMalformedHeaderFields) {
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\nX : v\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\nX(y): v\r\n\r\n"), 400);
  // obs-fold: a continuation line.
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\n\tX: a\r\n\r\n"), 400);
}

TEST(Http, NeedsExactlyOneValidHostInHttp11) {
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
  RequestParser p;
  EXPECT_EQ(p.parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), Parse::kDone)
      << p.error();
}

TEST(Http, TakesNoRequestBodyFraming) {
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
            501);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
                     "Content-Length: 1\r\n\r\n"),
            400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n"), 400);
  EXPECT_EQ(error_of("GET / HTTP/1.1\r\nHost: h\r\n"
                     "Content-Length: 99999999999999999999999\r\n\r\n"),
            400);
  RequestParser p;
  ASSERT_EQ(p.parse("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n"),
            Parse::kDone);
  EXPECT_EQ(p.request().content_length, 12u);
}

TEST(Http, StaysInItsFinalStateOnceDoneOrFailed) {
  RequestParser p;
  std::string text = kGet;
  ASSERT_EQ(p.parse(text), Parse::kDone);
  EXPECT_EQ(p.parse(text + "GET / HTTP/1.1\r\n"), Parse::kDone);
  RequestParser bad;
  ASSERT_EQ(bad.parse("\x01"), Parse::kError);
  EXPECT_EQ(bad.parse(kGet), Parse::kError);
}

TEST(Http, WritesAResponseWithLengthAndClose) {
  EXPECT_EQ(response(404, "text/plain", "no such page\n"),
            "HTTP/1.1 404 Not Found\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 13\r\n"
            "Connection: close\r\n"
            "\r\n"
            "no such page\n");
  EXPECT_EQ(response(200, "text/plain", "ok", "Cache-Control: no-cache\r\n", true),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 2\r\n"
            "Cache-Control: no-cache\r\n"
            "Connection: close\r\n"
            "\r\n");
  EXPECT_EQ(head(101, "Upgrade: websocket\r\n"),
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
}

}  // namespace
}  // namespace hazel::http
